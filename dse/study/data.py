"""The study's data: loaded, split, scaled and put on the input quantizer's grid (so the HLS model is exact).

    >>> from dse.study.spec import load_study_spec              # doctest: +SKIP
    >>> d = load_data(load_study_spec("studies/digits_mlp.yml"))  # doctest: +SKIP
    >>> d.X_train.shape, d.n_classes, d.input_type                # doctest: +SKIP
    ((1437, 64), 10, 'ap_fixed<12,6>')

``data.source`` is ``sklearn:<loader>`` (digits, iris, wine, breast_cancer: offline), or a file:

- ``.npz``: arrays ``X`` (or ``x``/``features``) and ``y`` (or the key named by ``data.label``, or ``labels``/
  ``target``); or a pre-split ``X_train, y_train, X_test, y_test``. ``X`` is ``(samples, *input_shape)`` or
  flat; ``y`` holds class indices, class names, or one-hot rows.
- ``.csv`` / ``.parquet``: one row per sample; ``data.label`` names the label column, ``data.features`` the
  feature columns (default: every other column).

Features are scaled with statistics of the training split (``scale: standard | minmax | none``), then rounded
half-to-even onto the grid of ``quantized_bits(input_bits, input_integer_bits)`` and clipped to its range:
exactly what the model's input quantizer does, so its output equals its input and the HLS input type holds it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..yamlfile import SpecError

__all__ = ["StudyData", "load_data", "check_data", "SKLEARN_LOADERS", "quantize_input"]

SKLEARN_LOADERS = ("digits", "iris", "wine", "breast_cancer")
_CACHE: dict = {}


@dataclass
class StudyData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    input_bits: int
    input_integer_bits: int

    @property
    def input_type(self) -> str:
        """The HLS type of the (pre-quantized) input."""
        return f"ap_fixed<{self.input_bits},{self.input_integer_bits + 1}>"


def quantize_input(X: np.ndarray, bits: int, integer: int) -> np.ndarray:
    """QKeras ``quantized_bits(bits, integer, alpha=1)`` in numpy: round half to even, clip (float32-exact)."""
    scale = 2.0 ** (bits - 1 - integer)
    q = np.clip(np.round(np.asarray(X, dtype=np.float64) * scale), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return (q / scale).astype(np.float32)


def _err(spec, path, msg) -> SpecError:
    return spec.doc.error(path, msg) if spec.doc is not None else SpecError(f"{'.'.join(path)}: {msg}")


def _read_raw(spec) -> tuple:
    """(X, y, split) where split is None or (X_test, y_test) for pre-split files."""
    src = spec.data["source"]
    if src.startswith("sklearn:"):
        name = src.split(":", 1)[1]
        if name not in SKLEARN_LOADERS:
            raise _err(spec, ["data", "source"], f"unknown sklearn dataset {name!r}; offline loaders: "
                                                 f"{', '.join(SKLEARN_LOADERS)}")
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
        if name == "digits":
            X = X / 16.0  # pixels 0..16
        return X, y, None
    path = spec.resolve_path(src)
    if not path.is_file():
        raise _err(spec, ["data", "source"], f"cannot read {src!r}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                keys = set(f.files)
                if {"X_train", "y_train", "X_test", "y_test"} <= keys:
                    return f["X_train"], f["y_train"], (f["X_test"], f["y_test"])
                xk = next((k for k in ("X", "x", "features", "data") if k in keys), None)
                label = spec.data.get("label")
                yk = label if label in keys else next((k for k in ("y", "labels", "target") if k in keys), None)
                if xk is None or yk is None:
                    raise _err(spec, ["data", "source"], f"{src}: the .npz needs arrays X and y (or X_train, y_train, "
                                                         f"X_test, y_test); it has {sorted(keys)}")
                return f[xk], f[yk], None
        if suffix in (".csv", ".parquet", ".pq"):
            import pandas as pd

            df = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
            label = spec.data.get("label", "target")
            if label not in df.columns:
                raise _err(spec, ["data", "label"], f"no column {label!r} in {src}; columns: "
                                                    f"{', '.join(map(str, df.columns[:20]))}")
            feats = spec.data.get("features") or [c for c in df.columns if c != label]
            missing = [c for c in feats if c not in df.columns]
            if missing:
                raise _err(spec, ["data", "features"], f"no column {missing[0]!r} in {src}")
            try:
                X = df[feats].to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                raise _err(spec, ["data", "features"], "feature columns must be numeric") from None
            return X, df[label].to_numpy(), None
    except SpecError:
        raise
    except Exception as e:  # unreadable: truncated, wrong format, permissions...
        raise _err(spec, ["data", "source"], f"cannot read {src!r}: {type(e).__name__}: {e}") from None
    raise _err(spec, ["data", "source"], f"unsupported data file {src!r}: use .npz, .csv or .parquet, or "
                                         "sklearn:<loader>")


def _labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(1)
    return y.reshape(len(y))


def load_data(spec) -> StudyData:
    """Load, split, scale and quantize the study's data (cached per process)."""
    key = (spec.data["source"], str(spec.resolve_path(spec.data["source"])), repr(sorted(spec.data.items())),
           spec.model.get("input_bits"), spec.model.get("input_integer_bits"), repr(spec.model.get("input_shape")))
    if key in _CACHE:
        return _CACHE[key]
    X, y, split = _read_raw(spec)
    X = np.asarray(X, dtype=np.float64)
    y_all = _labels(y) if split is None else np.concatenate([_labels(y), _labels(split[1])])
    classes, codes = np.unique(y_all, return_inverse=True)
    if len(classes) < 2:
        raise _err(spec, ["data", "source"], "the labels hold fewer than two classes")
    n_classes = len(classes)
    if split is None:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(X))
        seed = int(spec.data.get("seed", 0))
        if spec.data.get("max_samples") and spec.data["max_samples"] < len(X):
            idx = np.random.default_rng(seed).choice(idx, spec.data["max_samples"], replace=False)
        counts = np.bincount(codes[idx], minlength=n_classes)
        strat = codes[idx] if counts[counts > 0].min() >= 2 else None
        tr, te = train_test_split(idx, test_size=spec.data["test_fraction"], random_state=seed, stratify=strat)
        Xtr, Xte, ytr, yte = X[tr], X[te], codes[tr], codes[te]
    else:
        n = len(X)
        Xtr, Xte, ytr, yte = X, np.asarray(split[0], dtype=np.float64), codes[:n], codes[n:]
    shape = spec.model.get("input_shape")
    n_feat = int(np.prod(Xtr.shape[1:]))
    if shape is not None and int(np.prod(shape)) != n_feat:
        raise _err(spec, ["model", "input_shape"], f"{shape} holds {int(np.prod(shape))} values but the data has "
                                                   f"{n_feat} features per sample")
    shape = list(shape or [n_feat])
    Xtr, Xte = Xtr.reshape(len(Xtr), n_feat), Xte.reshape(len(Xte), n_feat)
    scale = spec.data.get("scale", "standard")
    if scale == "standard":
        mu, sd = Xtr.mean(0), Xtr.std(0)
        sd[sd < 1e-12] = 1.0
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    elif scale == "minmax":
        lo, hi = Xtr.min(0), Xtr.max(0)
        rng = np.where(hi - lo < 1e-12, 1.0, hi - lo)
        Xtr, Xte = (Xtr - lo) / rng, (Xte - lo) / rng
    ib = int(spec.model.get("input_bits", 12))
    ii = spec.model.get("input_integer_bits", "auto")
    if ii == "auto":
        m = float(np.abs(Xtr).max()) if Xtr.size else 1.0
        ii = int(min(max(math.floor(math.log2(m)) + 1, 0), ib - 1)) if m > 0 else 0
    Xtr, Xte = quantize_input(Xtr, ib, ii), quantize_input(Xte, ib, ii)
    data = StudyData(Xtr.reshape([len(Xtr)] + shape), ytr.astype(np.int64), Xte.reshape([len(Xte)] + shape),
                     yte.astype(np.int64), n_classes, ib, int(ii))
    _CACHE[key] = data
    return data


def check_data(spec) -> StudyData:
    """Load the data once (unreadable data fails with the key path and line) and complete the model section:
    ``outputs`` defaults to the number of classes, and must equal it."""
    data = load_data(spec)
    m = spec.model
    if m.get("outputs") is None:
        m["outputs"] = data.n_classes
    elif m["outputs"] != data.n_classes:
        where = ["model", "keras"] if "keras" in m else ["model", "outputs"]
        raise _err(spec, where, f"the model has {m['outputs']} outputs but the data has {data.n_classes} classes")
    if m.get("input_shape") is None:
        m["input_shape"] = list(data.X_train.shape[1:])
    if m.get("plan") is None:
        from .model import generated_plan

        try:
            m["plan"] = generated_plan(m)
        except ValueError as e:
            raise _err(spec, ["model"], str(e)) from None
    return data
