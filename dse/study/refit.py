"""``synthesis: {refit: true}``: the synthesized candidates join the surrogate's training data.

    >>> info = refit_surrogate(spec)                 # doctest: +SKIP
    >>> info["path"], info["n_added"]                # doctest: +SKIP
    ('runs/digits-mlp/surrogate', 4)

After the candidates are synthesized, their measured rows (sweep dataset format) are appended to
``<output>/surrogate_rows.parquet``. This module then retrains the study's surrogate on its own training
dataset plus those rows and saves the result as ``<output>/surrogate`` (xgboost JSON + metadata, like the
shipped ones; the shipped surrogate is never overwritten). The retrained models keep the model kinds,
hyperparameters and interval calibration that the shipped surrogate's grouped cross-validation chose
(:meth:`estimators.surrogate.Surrogate.refit`), so this takes seconds, not a new search.

To search with it, point the next study (or this one, for the trials still to run) at the folder::

    hardware: {surrogate: runs/digits-mlp/surrogate}

The training dataset is ``synthesis.refit_dataset`` when given, else the ``dataset`` recorded in the
surrogate's metadata (resolved against the study file's folder, the working directory and the project root).
Its tool must be the study's backend: measured rows of one tool cannot teach a surrogate of another.
``<output>/refit.json`` records what was done: rows added, the shipped surrogate's error on them (measured
before it saw them), and the refitted one's.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ROWS_FILE", "REFIT_DIR", "RefitError", "base_dataset", "refit_surrogate", "refit_summary"]

log = logging.getLogger(__name__)

ROWS_FILE = "surrogate_rows.parquet"
REFIT_DIR = "surrogate"
_SUMMARY = "refit.json"


class RefitError(RuntimeError):
    """The surrogate cannot be refitted (no training dataset found, another tool's surrogate, ...)."""


def _surrogate_dir(name: str) -> Path:
    from estimators.api import UnknownTarget, target_dir

    try:
        return target_dir(name)
    except UnknownTarget as e:
        raise RefitError(str(e)) from None


def _metadata(name: str) -> dict:
    p = _surrogate_dir(name) / "metadata.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise RefitError(f"cannot read the metadata of surrogate {name!r} ({p}): {e}") from e


def base_dataset(spec) -> Path:
    """The dataset the study's surrogate is refitted on (see the module docstring); raises :class:`RefitError`."""
    from estimators.training import REPO

    given = spec.synthesis.get("refit_dataset")
    info = _metadata(spec.hardware["surrogate"]).get("info", {})
    raw = given or info.get("dataset")
    if not raw:
        raise RefitError(f"surrogate {spec.hardware['surrogate']!r} records no training dataset; set "
                         "synthesis.refit_dataset to its .parquet (or wa-hls4ml CSV folder)")
    p = Path(str(raw))
    tried = [p] if p.is_absolute() else [Path(spec.base_dir) / p, Path.cwd() / p, REPO / p]
    for c in tried:
        if c.exists():
            return c.resolve()
    where = "synthesis.refit_dataset" if given else f"the metadata of surrogate {spec.hardware['surrogate']!r}"
    raise RefitError(f"training dataset {str(raw)!r} (from {where}) not found; looked in "
                     f"{', '.join(str(c) for c in tried)}; set synthesis.refit_dataset")


def check_refit(spec) -> None:
    """Raise :class:`RefitError` when ``synthesis.refit`` cannot work for this study (checked before any work)."""
    info = _metadata(spec.hardware["surrogate"]).get("info", {})
    tool = str(info.get("backend", "")).lower()
    if tool and tool != spec.hardware["backend"]:
        raise RefitError(f"surrogate {spec.hardware['surrogate']!r} learned from {tool!r} results, but the study "
                         f"synthesizes with {spec.hardware['backend']!r}: their measurements cannot be mixed")
    base_dataset(spec)


def _hash_rows(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _errors(y: pd.DataFrame, pred: pd.DataFrame, targets) -> dict:
    from estimators import metrics

    out = {}
    for t in targets:
        yt, pt = y[t].to_numpy(float), pred[t].to_numpy(float)
        out[t] = {"smape": metrics.smape(yt, pt), "mape": metrics.mape(yt, pt),
                  "predicted": [float(v) for v in pt], "measured": [float(v) for v in yt]}
    return out


def refit_summary(output) -> dict:
    """The last refit's record (``<output>/refit.json``), or ``{}``."""
    p = Path(output) / _SUMMARY
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def refit_surrogate(spec) -> dict:
    """Retrain the study's surrogate on its training dataset + the study's measured rows; save it in
    ``<output>/surrogate``. Does nothing when the rows have not changed since the last refit."""
    from estimators.datasets import load_any
    from estimators.surrogate import Surrogate

    out = Path(spec.output)
    rows = out / ROWS_FILE
    if not rows.is_file():
        log.info("refit: no measured rows yet (%s)", rows)
        return {}
    digest = _hash_rows(rows)
    last = refit_summary(out)
    if last.get("rows_sha256") == digest and (out / REFIT_DIR / "metadata.json").is_file():
        log.info("refit: %s unchanged since the last refit; keeping %s", rows, out / REFIT_DIR)
        return last
    base_path = base_dataset(spec)
    d_base, y_base, g_base = load_any(base_path)
    d_new, y_new, g_new = load_any(rows)
    if not d_new:
        log.info("refit: no successful measured design in %s", rows)
        return {}
    src = _surrogate_dir(spec.hardware["surrogate"])
    sur = Surrogate.load(str(src))  # a fresh object: load_target's cached one stays untouched
    before = sur.predict(d_new)
    designs = list(d_base) + list(d_new)
    y = pd.concat([y_base, y_new], ignore_index=True)
    groups = pd.concat([g_base.astype(str), ("study:" + g_new.astype(str))], ignore_index=True)
    sur.refit(designs, y, groups, info={"refit_from": str(src), "study": spec.name})
    after = sur.predict(d_new)
    summary = {
        "path": str(out / REFIT_DIR), "from": str(src), "base_dataset": str(base_path),
        "n_base": len(d_base), "n_added": len(d_new), "rows": str(rows), "rows_sha256": digest,
        "before": _errors(y_new, before, sur.targets), "after": _errors(y_new, after, sur.targets),
        "note": "'before': the study's surrogate on the measured candidates (it had not seen them); 'after': the "
                "refitted surrogate on the same designs (they are in its training data, so this is a training "
                "error). Use it with hardware: {surrogate: " + str(out / REFIT_DIR) + "}",
    }
    sur.save(str(out / REFIT_DIR), extra={"refit": {k: summary[k] for k in
                                                    ("from", "base_dataset", "n_base", "n_added", "rows_sha256")}})
    (out / _SUMMARY).write_text(json.dumps(summary, indent=1))
    b = np.mean([summary["before"][t]["smape"] for t in sur.targets])
    a = np.mean([summary["after"][t]["smape"] for t in sur.targets])
    log.info("refit: %s retrained on %d + %d measured designs -> %s (mean sMAPE on those designs %.1f%% -> %.1f%%)",
             src.name, len(d_base), len(d_new), out / REFIT_DIR, b, a)
    return summary
