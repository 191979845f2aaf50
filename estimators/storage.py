"""Save and load surrogates as xgboost JSON models plus ``metadata.json`` (never pickles).

Layout of a surrogate directory::

    metadata.json      format, info (backend, tool, version, part), features, per-target model kind,
                       hyperparameters, CV metrics, interval calibration, training-set hash, domain, versions
    <target>.json      one xgboost Booster per target (Booster.save_model JSON)

Usage::

    from estimators import Surrogate, SurrogateLoadError
    sur = Surrogate.load("data/surrogates/vitis-u250")   # SurrogateLoadError names the bad file

Each model file's sha256 is recorded in the metadata, so a truncated or edited model is caught before
xgboost parses it.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import xgboost as xgb

from .boosting import GLOBAL_KINDS, ModelSpec, RidgeModel
from .domain import TrainingDomain
from .features import design_feature_matrix, fact_table, layer_feature_matrix

if TYPE_CHECKING:
    from .surrogate import Surrogate

__all__ = ["SurrogateLoadError", "save_surrogate", "load_surrogate", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fpga-dse-surrogate"
FORMAT_VERSION = 1
METADATA = "metadata.json"


class SurrogateLoadError(RuntimeError):
    """A surrogate directory cannot be loaded; the message names the offending file."""

    def __init__(self, path: Path | str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = Path(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    import pandas
    import sklearn

    return {"python": platform.python_version(), "xgboost": xgb.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pandas.__version__}


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def save_surrogate(sur: "Surrogate", path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``sur`` into directory ``path`` (created if needed; existing model files are replaced)."""
    if not hasattr(sur, "models_"):
        raise RuntimeError("cannot save an unfitted Surrogate")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {}
    for tg in sur.targets:
        fname = f"{tg}.json"
        sur.models_[tg].save_model(str(path / fname))
        models[tg] = {
            "file": fname,
            "sha256": _sha256(path / fname),
            "kind": sur.model_kind_[tg],
            "spec": sur.specs_[tg].to_dict(),
            "base_margin": sur.bases_[tg],
            "offset": sur.offsets_.get(tg),
            "interval": sur.intervals_[tg],
            "cv": sur.cv_best_[tg],
            "cv_results": sur.cv_results_.get(tg, []),
        }
    params = sur.get_params()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "info": dict(sur.info_),
        "targets": list(sur.targets),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
        "feature_names": list(sur.feature_names_),
        "layer_feature_names": list(sur.layer_feature_names_),
        "models": models,
        "domain": sur.domain_.to_dict(),
        "training_set": dict(sur.training_),
        "library_versions": _versions(),
        "extra": dict(extra or getattr(sur, "metadata_", {}).get("extra", {})),
    }
    (path / METADATA).write_text(json.dumps(_jsonable(meta), indent=1, sort_keys=False) + "\n")


def load_surrogate(path: str | Path) -> "Surrogate":
    """Load a surrogate written by :func:`save_surrogate`; raises :class:`SurrogateLoadError`."""
    from .surrogate import Surrogate

    path = Path(path)
    mpath = path / METADATA
    if not mpath.is_file():
        raise SurrogateLoadError(mpath, "missing (not a surrogate directory?)")
    try:
        meta = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SurrogateLoadError(mpath, f"unreadable or corrupted JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SurrogateLoadError(mpath, f"not a {FORMAT} metadata file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise SurrogateLoadError(mpath, f"format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}")
    try:
        params = dict(meta["params"])
        params["targets"] = tuple(params["targets"])
        for k in ("model_kinds", "max_depths", "round_grid", "exclude_features", "ridge_alphas"):
            if k in params:
                params[k] = tuple(params[k])
        sur = Surrogate(**params)
        sur.feature_names_ = list(meta["feature_names"])
        sur.layer_feature_names_ = list(meta["layer_feature_names"])
        sur.domain_ = TrainingDomain.from_dict(meta["domain"])
        sur.info_ = dict(meta["info"])
        sur.training_ = dict(meta["training_set"])
        models = meta["models"]
        sur.model_kind_ = {tg: str(models[tg]["kind"]) for tg in sur.targets}
        sur.specs_ = {tg: ModelSpec(**models[tg]["spec"]) for tg in sur.targets}
        sur.bases_ = {tg: float(models[tg]["base_margin"]) for tg in sur.targets}
        sur.offsets_ = {tg: models[tg]["offset"] for tg in sur.targets}
        sur.intervals_ = {tg: _interval_from_meta(models[tg]["interval"]) for tg in sur.targets}
        sur.cv_best_ = {tg: dict(models[tg]["cv"]) for tg in sur.targets}
        sur.cv_results_ = {tg: list(models[tg].get("cv_results", [])) for tg in sur.targets}
        files = {tg: (str(models[tg]["file"]), str(models[tg]["sha256"])) for tg in sur.targets}
    except (KeyError, TypeError, ValueError) as e:
        raise SurrogateLoadError(mpath, f"malformed metadata ({type(e).__name__}: {e})") from None
    t = fact_table([{"layers": [_PROBE_FACT]}])
    known_g = set(design_feature_matrix(t)[1])
    known_l = set(layer_feature_matrix(t)[1])
    unknown = [n for n in sur.feature_names_ if n not in known_g] + [n for n in sur.layer_feature_names_ if n not in known_l]
    if unknown:
        raise SurrogateLoadError(mpath, f"features {unknown[:5]} are unknown to this version of estimators.features")
    sur.models_ = {}
    for tg, (fname, digest) in files.items():
        fpath = path / fname
        if Path(fname).name != fname or not fpath.is_file():
            raise SurrogateLoadError(fpath, f"model file of target {tg!r} missing")
        if _sha256(fpath) != digest:
            raise SurrogateLoadError(fpath, f"checksum mismatch for target {tg!r} (file corrupted or edited)")
        if sur.model_kind_[tg] == "ridge":
            try:
                booster = RidgeModel.load_model(str(fpath))
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
                raise SurrogateLoadError(fpath, f"cannot read the ridge model ({type(e).__name__}: {e})") from None
        else:
            try:
                booster = xgb.Booster(model_file=str(fpath))
            except xgb.core.XGBoostError as e:
                raise SurrogateLoadError(fpath, f"xgboost cannot read the model ({str(e).splitlines()[0]})") from None
        n_feat = len(sur.feature_names_ if sur.model_kind_[tg] in GLOBAL_KINDS else sur.layer_feature_names_)
        if booster.num_features() != n_feat:
            raise SurrogateLoadError(fpath, f"model has {booster.num_features()} features, metadata lists {n_feat}")
        booster.set_param({"nthread": int(sur.n_jobs)})
        sur.models_[tg] = booster
    sur.metadata_ = meta
    return sur


def _interval_from_meta(d: Mapping[str, Any]) -> dict[str, Any]:
    def cal(c: Mapping[str, Any]) -> dict[str, list[float]]:
        q = {k: [float(v) for v in c[k]] for k in ("edges", "q_low", "q_high")}
        if not (len(q["q_low"]) == len(q["q_high"]) == len(q["edges"]) + 1):
            raise ValueError("interval: need len(q_low) == len(q_high) == len(edges) + 1")
        return q

    return {
        "all": cal(d["all"]),
        "by_depth": {str(int(k)): cal(c) for k, c in d["by_depth"].items()},
        "oof_coverage": float(d["oof_coverage"]),
        "nominal": float(d["nominal"]),
    }


_PROBE_FACT = dict(
    name="probe", kind="Dense", n_in=2, n_out=2, out_pixels=1, params=6, nonzero_params=6, weight_bits=8,
    weight_integer_bits=3, bias_bits=8, input_bits=8, input_integer_bits=3, result_bits=8, result_integer_bits=3,
    accum_bits=8, accum_integer_bits=3, reuse=1, strategy="resource", activation="linear",
)
