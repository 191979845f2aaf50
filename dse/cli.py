"""The ``dse`` command line.

    dse sweep studies/sweep_dense.yml [--workers 2] [--dask tcp://scheduler:8786]
    dse dataset show data/datasets/yosys-xc7.parquet [--json]
    dse dataset refresh-facts data/datasets/yosys-xc7.parquet

Each sub-command is registered in :data:`COMMANDS` (name -> (add_arguments, run)).
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from typing import Callable

__all__ = ["main", "COMMANDS"]

log = logging.getLogger("dse")

COMMANDS: dict[str, tuple[Callable, Callable]] = {}


def command(name: str, add_arguments: Callable):
    def deco(fn):
        COMMANDS[name] = (add_arguments, fn)
        return fn
    return deco


# ---------------------------------------------------------------------- dse sweep
def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep_file", help="sweep YAML file")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: memory-aware)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="dask.distributed scheduler address, or 'local' for a LocalCluster")
    p.add_argument("--output", default=None, help="dataset path (default: the sweep file's output)")
    p.add_argument("--workdir", default=None, help="where synthesis projects and logs go")
    p.add_argument("--limit", type=int, default=None, help="synthesize at most this many new designs (a chunk)")
    p.add_argument("--no-progress", action="store_true")


@command("sweep", _sweep_args)
def _sweep(args) -> int:
    from .sweep import load_sweep, run_sweep

    spec = load_sweep(args.sweep_file)
    stats = run_sweep(spec, workers=args.workers, dask_address=args.dask, output=args.output,
                      workdir=args.workdir, progress=not args.no_progress, limit=args.limit)
    print(json.dumps(stats))
    return 0


# ---------------------------------------------------------------------- dse dataset show
def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "refresh-facts"],
                   help="show: row counts, coverage, failures; refresh-facts: recompute the derived per-layer facts "
                        "(csd_digits, rtl_*) the way this version counts them, adding those older rows lack "
                        "(each design rebuilt from its row's description)")
    p.add_argument("path", help="dataset parquet file")
    p.add_argument("--json", action="store_true", help="machine-readable output")


@command("dataset", _dataset_args)
def _dataset(args) -> int:
    from .dataset import Dataset, summarize

    ds = Dataset(args.path)
    if not ds.exists():
        raise SystemExit(f"dse dataset: no such dataset file: {args.path}")
    if args.action == "refresh-facts":
        from .dataset import refresh_facts

        counts: dict = {}

        def transform(df):
            new, c = refresh_facts(df)
            counts.update(c)
            return new

        ds.rewrite(transform)
        print(json.dumps(counts) if args.json else
              f"{args.path}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    summary = summarize(ds.read())
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{args.path}: {summary['rows']} rows")
    for key, val in summary.items():
        if key == "rows":
            continue
        if isinstance(val, dict):
            print(f"  {key}: " + ", ".join(f"{k}={v}" for k, v in val.items()))
        else:
            print(f"  {key}: {val}")
    return 0


def _load_plugins() -> None:
    """Commands defined in other modules register themselves on import."""
    import importlib

    for mod in ("dse.cli_estimators", "dse.cli_study"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def main(argv: list[str] | None = None) -> int:
    _load_plugins()
    import dse.cli as registry  # under `python -m dse.cli` this module is __main__; plugins register in dse.cli

    commands = registry.COMMANDS
    parser = argparse.ArgumentParser(prog="dse", description="FPGA design-space explorer for quantized NNs")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_args, _) in commands.items():
        add_args(sub.add_parser(name))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .yamlfile import SpecError

    # SIGTERM (a scheduler, `kill`) stops a command like Ctrl-C: worker pools are shut down, their syntheses
    # killed, and what is done stays recorded (sweeps and studies resume on the next run)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return commands[args.command][1](args) or 0
    except SpecError as e:
        print(f"dse {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dse {args.command}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
