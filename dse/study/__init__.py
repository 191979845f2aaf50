"""``dse run study.yml``: QAT + pruning search with Optuna, surrogate predictions, synthesis of the Pareto
candidates, and the report.

    >>> from dse.study import load_study_spec, run_study, write_report      # doctest: +SKIP
    >>> summary = run_study(load_study_spec("studies/digits_mlp.yml"), workers=2)   # doctest: +SKIP

Modules: :mod:`~dse.study.spec` (the validated file), :mod:`~dse.study.data`, :mod:`~dse.study.model`
(QKeras builder), :mod:`~dse.study.space`, :mod:`~dse.study.train`, :mod:`~dse.study.objective`,
:mod:`~dse.study.storage`, :mod:`~dse.study.run`, :mod:`~dse.study.candidates`, :mod:`~dse.study.report`,
:mod:`~dse.study.hypervolume`, :mod:`~dse.study.svg`.
"""
from .spec import SpecError, StudySpec, load_study_spec, parse_study, parse_study_text

__all__ = ["StudySpec", "SpecError", "load_study_spec", "parse_study", "parse_study_text", "run_study",
           "write_report", "StudyError"]


def __getattr__(name):  # heavy modules (optuna, TF) load on first use
    if name in ("run_study", "StudyError"):
        from . import run

        return getattr(run, name)
    if name == "write_report":
        from .report import write_report

        return write_report
    raise AttributeError(name)
