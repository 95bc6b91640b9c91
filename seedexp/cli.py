"""``seedexp``: run an experiment or a seed sweep (Hydra), and the subcommands.

::

    seedexp experiment=imbalanced_clf seed=12321          # one run
    seedexp -m experiment=imbalanced_clf 'seed=range(0,30)'  # a sweep + summary
    seedexp report SWEEP_DIR                               # (re)build a summary
    seedexp compare SWEEP_DIR --metric test_f1             # paired comparison
    seedexp verify [overrides]                             # bitwise reproducibility check
    seedexp variance [overrides] --seeds N                 # variance by source

Errors in what you asked for print ONE line and exit 2 (set
``HYDRA_FULL_ERROR=1`` for the traceback); failed runs exit 1 after every
other run and the summary are written.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Sequence

from .record import RECORD_NAME

SUBCOMMANDS = ("report", "compare", "verify", "variance")
_HASH_SEED = "0"  # == seedexp.frameworks.pyrandom.HASH_SEED, kept import-free here


def _reexec_with_fixed_hash_seed(argv: Sequence[str]) -> None:
    """Restart this process under ``PYTHONHASHSEED=0`` unless it already is.

    ``hash()`` of a str is salted per process unless PYTHONHASHSEED was set
    before the interpreter started, so setting it now is too late: re-exec.
    Every process that runs experiments (and every worker it starts, which
    inherits the environment) then hashes strings the same way.
    """
    if os.environ.get("PYTHONHASHSEED") == _HASH_SEED or os.environ.get("SEEDEXP_NO_REEXEC") == "1":
        return
    env = dict(os.environ, PYTHONHASHSEED=_HASH_SEED, SEEDEXP_ORIGINAL_HASHSEED=os.environ.get("PYTHONHASHSEED", ""))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "seedexp", *argv], env)


def _hydra_error_line(exc: BaseException) -> str:
    """One line for the errors Hydra raises while composing the config."""
    text = str(exc)
    missing = re.search(r"Could not find '([^']+)'", text)
    if missing and "/" in missing.group(1):
        group, _, name = missing.group(1).rpartition("/")
        options = getattr(exc, "options", None) or []
        avail = f"; available: {', '.join(options)}" if options else ""
        return (f"unknown {group} {name!r}{avail}. Pick one of those, or add {group}/{name}.yaml "
                f"to a directory passed with --config-dir")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines[:2]) if lines else type(exc).__name__


def _run_hydra(argv: Sequence[str]) -> int:
    from . import app, callbacks
    from .errors import SeedexpError

    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"
    app.STATE.full_error = full_error
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra raise; we print one line
    sys.argv = ["seedexp", *argv]
    code = 0
    try:
        app.hydra_main()
    except SystemExit as exc:  # --help, --cfg, ...
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("seedexp: interrupted; records already written are kept - re-run the same command to resume",
              file=sys.stderr)
        code = 130
    except Exception as exc:
        if full_error:
            raise
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        if isinstance(exc, SeedexpError):
            line = str(exc)
        elif isinstance(exc, (HydraException, OmegaConfBaseException)):
            line = _hydra_error_line(exc)
        else:
            line = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        print(f"seedexp: error: {line} (HYDRA_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
        code = 2
    finally:
        if not full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        callback = callbacks.LAST_SWEEP.get("callback")
        if callback is not None:
            callbacks.stop_progress(callback)
    sweep = callbacks.LAST_SWEEP.get("dir")
    if sweep is not None and code in (0, 1) and not app.STATE.config_errors:
        return max(code, _finish_sweep(Path(sweep)))
    if sweep is not None and any(Path(sweep).rglob(RECORD_NAME)):
        _finish_sweep(Path(sweep), partial=True)  # an error stopped the sweep: what ran is still summarized
    if app.STATE.config_errors and code in (0, 1):
        return 2
    if app.STATE.failed and code == 0:
        return 1
    return code


def _finish_sweep(sweep_dir: Path, *, partial: bool = False) -> int:
    """Build the summary of a sweep in the driver; print it (or, if partial, where it is)."""
    from .errors import SeedexpError
    from .report import write_summary

    try:
        summary = write_summary(sweep_dir)
    except SeedexpError as exc:
        if not partial:
            print(f"seedexp: error: {exc}", file=sys.stderr)
        return 2
    if partial:
        print(f"partial summary of the {summary['n_runs']} run(s) written before the error: {sweep_dir / 'summary.md'}")
        return 2
    _print_summary(summary, sweep_dir)
    return 1 if summary["n_failed"] or summary["corrupt"] else 0


def _print_summary(summary: dict, sweep_dir: Path) -> None:
    md = (sweep_dir / "summary.md").read_text(encoding="utf-8")
    print(md)
    print(f"summary: {sweep_dir / 'summary.md'} (also summary.json, summary.csv, runs.csv, summary.png)")
    if summary["n_failed"]:
        print(f"seedexp: {summary['n_failed']} of {summary['n_runs']} runs failed (listed above); "
              "re-run the same command to retry only those", file=sys.stderr)
    for problem in summary["corrupt"]:
        print(f"seedexp: warning: {problem}", file=sys.stderr)


def _report(args: Sequence[str]) -> int:
    import argparse

    from .report import comparisons_table

    parser = argparse.ArgumentParser(prog=f"seedexp {args[0]}")
    parser.add_argument("sweep_dir", type=Path, help="the sweep directory (hydra.sweep.dir)")
    parser.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    if args[0] == "compare":
        parser.add_argument("--metric", required=True, help="the metric to compare, e.g. test_f1")
    ns = parser.parse_args(args[1:])
    if args[0] == "report":
        from .report import write_summary

        summary = write_summary(ns.sweep_dir, bootstrap_seed=ns.bootstrap_seed, n_resamples=ns.resamples,
                                confidence=ns.confidence)
        _print_summary(summary, ns.sweep_dir)
        return 1 if summary["n_failed"] or summary["corrupt"] else 0
    from .aggregate import aggregate
    from .errors import RecordError

    summary = aggregate(ns.sweep_dir, bootstrap_seed=ns.bootstrap_seed, n_resamples=ns.resamples,
                        confidence=ns.confidence)
    if ns.metric not in summary["metrics"]:
        raise RecordError(f"--metric {ns.metric!r} is not in {str(ns.sweep_dir)!r}; "
                          f"its metrics are: {', '.join(summary['metrics']) or '(none)'}")
    print(comparisons_table(summary, ns.metric), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``seedexp`` command. Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    sub = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    if sub in (None, "verify", "variance"):
        _reexec_with_fixed_hash_seed(argv)
    # Before anything imports TensorFlow, or it is too late: hide its INFO start-up chatter.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if sub is None:
        return _run_hydra(argv)
    from .errors import SeedexpError

    try:
        if sub in ("report", "compare"):
            return _report(argv)
        if sub == "verify":
            from .verify import main as verify_main

            return verify_main(argv[1:])
        from .variance import main as variance_main

        return variance_main(argv[1:])
    except SeedexpError as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"seedexp {sub}: error: {exc}", file=sys.stderr)
        return 2
