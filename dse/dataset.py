"""Synthesis datasets: one parquet file, appended atomically, safe against SIGKILL and concurrent writers.

Every append takes an exclusive ``flock`` on ``<file>.lock``, reads the current file, writes old + new rows to
a temporary file in the same folder, fsyncs it and ``os.replace``-s it over the original. A process killed at
any moment leaves either the old or the new file, never a half-written one; rows whose ``design_hash`` is
already present are dropped, so no design appears twice.

    >>> ds = Dataset("data/datasets/yosys-xc7.parquet")      # doctest: +SKIP
    >>> ds.append([row, ...]); ds.hashes(); ds.read()          # doctest: +SKIP
    >>> ds.rewrite(lambda df: refresh_facts(df)[0])              # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

__all__ = ["Dataset", "DatasetError", "summarize", "refresh_facts"]


class DatasetError(RuntimeError):
    """A dataset file that cannot be read or written."""


class Dataset:
    def __init__(self, path):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self) -> pd.DataFrame:
        if not self.exists():
            return pd.DataFrame()
        try:
            return pd.read_parquet(self.path)
        except Exception as e:  # pyarrow raises several types
            raise DatasetError(f"cannot read dataset {self.path}: {e}") from e

    def hashes(self) -> set[str]:
        df = self.read()
        return set(df["design_hash"]) if "design_hash" in df else set()

    def append(self, rows: list[dict]) -> int:
        """Append rows atomically; returns how many were new."""
        if not rows:
            return 0
        with self._locked():
            old = self.read()
            new = pd.DataFrame([_flat(r) for r in rows])
            if "design_hash" in old:
                new = new[~new["design_hash"].isin(set(old["design_hash"]))]
            new = new.drop_duplicates("design_hash", keep="first")
            if new.empty:
                return 0
            self._write(pd.concat([old, new], ignore_index=True) if not old.empty else new)
            return len(new)

    def rewrite(self, transform: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
        """Replace the file by ``transform(current rows)``, under the lock and atomically; returns the new rows."""
        with self._locked():
            df = transform(self.read())
            self._write(df)
            return df

    def _write(self, df: pd.DataFrame) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            df.to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def refresh_facts(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Recompute the facts this version of codegen derives (``csd_digits``, ``rtl_*``: codegen.DERIVED_FACT_KEYS)
    and add the ones older rows lack.

    Each row's design is rebuilt from its ``description`` (layer list and weight seed) and ``config``; the
    other facts it has must come out identical (else the design is no longer what was synthesized, and the
    row is left as it is). Rows that cannot be rebuilt (e.g. a study's candidates) are left as they are.
    Returns the new frame and counts ``updated``, ``current`` (nothing to change), ``not_rebuildable``,
    ``changed``.
    """
    import codegen

    derived = set(codegen.DERIVED_FACT_KEYS)
    counts = {"updated": 0, "current": 0, "not_rebuildable": 0, "changed": 0}
    out = df.copy()
    for i, r in enumerate(df.itertuples(index=False)):
        try:
            desc, cfg = json.loads(r.description), json.loads(r.config)
            old = json.loads(r.layers)
            if "layers" not in desc or not isinstance(old, list):
                raise ValueError("no layer description")
        except (AttributeError, TypeError, ValueError):
            counts["not_rebuildable"] += 1
            continue
        try:
            with tempfile.TemporaryDirectory() as tmp:
                hm = codegen.convert(desc, config=cfg, output_dir=tmp, part=r.part, clock_period=float(r.clock_period))
                new = codegen.layer_facts(hm.graph)
        except Exception:  # noqa: BLE001 - a design this version cannot rebuild keeps its facts
            counts["not_rebuildable"] += 1
            continue
        def identity(f: dict) -> dict:  # the facts that say which design it is
            return {k: v for k, v in f.items() if k not in derived}

        if len(new) != len(old) or any(identity(o).items() - identity(n).items() for o, n in zip(old, new)):
            counts["changed"] += 1
            continue
        if new == old:
            counts["current"] += 1
            continue
        out.iat[i, out.columns.get_loc("layers")] = json.dumps(new, sort_keys=True)
        counts["updated"] += 1
    return out, counts


def _flat(row: dict) -> dict:
    """Nested values (dicts, lists) become JSON strings: parquet columns stay simple and stable."""
    return {k: json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list, tuple)) else v
            for k, v in row.items()}


def summarize(df: pd.DataFrame) -> dict:
    """Row counts, status counts and coverage (bits, reuse, strategy, sparsity, layer kinds)."""
    if df.empty:
        return {"rows": 0}
    out = {"rows": int(len(df)), "status": {str(k): int(v) for k, v in df["status"].value_counts().items()}}
    for col in ("design_kind", "strategy", "weight_bits", "activation_bits", "reuse_factor", "sparsity", "tool",
                "part"):
        if col in df:
            vc = df[col].value_counts().sort_index()
            out[col] = {str(k): int(v) for k, v in vc.items()}
    ok = df[df["status"] == "ok"]
    for col in ("lut", "ff", "dsp", "bram_18k", "latency_max", "ii", "wall_seconds"):
        if col in ok and len(ok):
            s = pd.to_numeric(ok[col], errors="coerce")
            out[f"{col}_range"] = [float(s.min()), float(s.median()), float(s.max())]
    if "error" in df:
        errs = df.loc[df["status"] != "ok", "error"].dropna().astype(str).str.slice(0, 120)
        out["failures"] = {str(k): int(v) for k, v in errs.value_counts().head(5).items()}
    return out
