"""``dse run`` and ``dse report``: the study commands (registered with :func:`dse.cli.command`).

    dse run studies/digits_mlp.yml [--workers 2] [--search-only] [--no-synthesis] [--no-progress]
    dse report runs/digits-mlp                       # an output folder (it holds study.json)
    dse report sqlite:///runs/digits-mlp.db [--study digits-mlp] [--output runs/digits-mlp]

Several machines join one study by running ``dse run study.yml --search-only`` with the same file and a
storage they all reach (e.g. ``storage: postgresql://user:pw@host/db``); one machine runs ``dse run
study.yml`` to synthesize the candidates and write the report.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .cli import command

log = logging.getLogger("dse")


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("study_file", help="study YAML file")
    p.add_argument("--workers", type=int, default=None, help="search processes (default: search.workers)")
    p.add_argument("--search-only", action="store_true",
                   help="only run trials (to join a study from another machine); no synthesis, no report")
    p.add_argument("--no-synthesis", action="store_true", help="search and report, but synthesize nothing")
    p.add_argument("--no-progress", action="store_true")


@command("run", _run_args)
def _run(args) -> int:
    from .study import load_study_spec
    from .study.run import StudyError, run_study

    spec = load_study_spec(args.study_file, check_backend=not (args.search_only or args.no_synthesis))
    try:
        summary = run_study(spec, workers=args.workers, search_only=args.search_only,
                            synthesize=not args.no_synthesis, progress=not args.no_progress)
    except StudyError as e:
        print(f"dse run: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dse run: interrupted; running trials were marked FAIL. Rerun the same command to resume.",
              file=sys.stderr)
        return 130
    print(json.dumps(summary, indent=1))
    return 0


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a study output folder (with study.json) or an Optuna storage URL")
    p.add_argument("--study", default=None, help="study name (when the storage holds several)")
    p.add_argument("--output", default=None, help="where to write the report (default: the study's output)")


def report_from(target: str, study_name: str | None = None, output: str | None = None) -> dict:
    """Regenerate the report of a study given its output folder or its storage URL."""
    import optuna

    from .study.spec import parse_study_text
    from .study.storage import open_storage
    from .yamlfile import SpecError

    folder = Path(target)
    if folder.is_dir():
        meta_path = folder / "study.json"
        if not meta_path.is_file():
            raise SpecError(f"{target}: no study.json here (is it a study's output folder?)")
        meta = json.loads(meta_path.read_text())
        url, study_name = meta["storage"], study_name or meta["name"]
        output = output or str(folder)
    else:
        url = target
    storage = open_storage(url)
    if study_name is None:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
        if len(names) != 1:
            raise SpecError(f"{url}: holds studies {names}; choose one with --study")
        study_name = names[0]
    study = optuna.load_study(study_name=study_name, storage=storage)
    text = study.user_attrs.get("dse_spec_text")
    if not text:
        raise SpecError(f"study {study_name!r} in {url} was not made by dse run (no study file recorded)")
    spec = parse_study_text(text, study.user_attrs.get("dse_spec_source", "<study>"), check_data=False,
                            check_surrogate=False)
    spec.storage = url
    spec.output = output or study.user_attrs.get("dse_output") or spec.output
    from .study.report import write_report

    return write_report(study, spec, output=spec.output)


@command("report", _report_args)
def _report(args) -> int:
    paths = report_from(args.target, args.study, args.output)
    print(json.dumps(paths, indent=1))
    return 0
