"""``seedexp``: the command line. The only module (with ``_cli_*``) that prints for the subcommands.

Argument handling, exit codes and the re-exec under ``PYTHONHASHSEED=0``;
the work is done by :mod:`seedexp.core` (through :mod:`seedexp.hydra`),
:mod:`seedexp.report`, :mod:`seedexp.verify` and :mod:`seedexp.variance`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator, NoReturn, Sequence

USAGE = """\
usage: seedexp [-m] [OVERRIDE ...]          run an experiment, or a sweep with -m
       seedexp SUBCOMMAND ...               report | compare | plan | verify | variance | help

  seedexp experiment=imbalanced_clf seed=12321              one run -> outputs/DATE/TIME/result.json
  seedexp -m experiment=imbalanced_clf 'seed=range(0,30)'   a 30-seed sweep -> multirun/DATE/TIME/
  seedexp -m 'seed=range(0,30)' experiment.model=rf,lr      two configurations x 30 seeds, compared
  seedexp -m 'seed=auto' stop.halfwidth=0.01                seeds 0, 1, 2, ... until the interval is that narrow
  seedexp report SWEEP_DIR                                  (re)build a sweep's summary
  seedexp compare SWEEP_DIR --metric test_f1                paired comparisons of one metric
  seedexp plan SWEEP_DIR --halfwidth 0.01                   how many seeds a precision needs
  seedexp verify experiment=torch_digits                    are two fresh runs bitwise identical?
  seedexp verify train.py seed=3                            ... of your own @seedexp.main app
  seedexp variance experiment=imbalanced_clf                which source of randomness moves a metric

Each run writes result.json (metrics, every stream seed, config, versions) in its run dir;
a sweep (-m) writes one run dir per configuration+seed under hydra.sweep.dir and, at its
root, summary.md / summary.html / summary.json / summary.csv / runs.csv / summary.png. Re-running the same
sweep command resumes it. Your own experiments: --config-dir DIR with DIR/experiment/NAME.yaml
(`_target_: your_module.run`), or DIR/config.yaml with `defaults: [seedexp, _self_]`.
Settings: seed, pin.STREAM, determinism.strict, determinism.threads, resume, report.*, stop.*
(seed=auto), tracking.*, isolation (process: each run of a sweep in a supervised worker, so a
crash costs that run only; none: in this process), timeout, memory_limit; every one with its
default: seedexp --cfg job. Errors print one line (HYDRA_FULL_ERROR=1 shows the traceback).
Exit: 0 all ok; 1 it ran but a result is not there (listed; the same command retries only
those); 2 what was asked cannot run; 130 interrupted. seedexp --version.
"""

SUBCOMMANDS = ("report", "compare", "plan", "verify", "variance", "help")

#: Exit codes, the same for every subcommand: 0 = everything asked ran and every result is there;
#: 1 = it ran, but a result is not (a run failed, crashed, timed out or is missing, a metric was NaN or
#: inf, a record is unreadable, two runs differ in ``verify``): fix what the lines say and re-run the same
#: command, which retries only those; 2 = what was asked cannot run (a bad value, option, file or
#: directory): nothing, or only what came before the error, ran; 130 = interrupted (Ctrl-C).
EXIT_RUNS = 1
#: Exit code for what the user asked for that cannot run.
EXIT_USAGE = 2


def _version() -> str:
    from . import __version__

    return __version__


def _config_name(argv: Sequence[str]) -> str | None:
    """The primary config: the user's --config-name, DIR/config.yaml under --config-dir, or seedexp's."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg in ("--config-name", "-cn") or arg.startswith(("--config-name=", "-cn=")):
            return None  # the user named it: Hydra takes it from argv
    for i, arg in enumerate(args):
        value = None
        if arg in ("--config-dir", "-cd") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(("--config-dir=", "-cd=")):
            value = arg.split("=", 1)[1]
        if value and (Path(value) / "config.yaml").is_file():
            return "config"  # the user's own config.yaml wins over seedexp's
    return "seedexp_cli"


#: Settings whose empty value would make Hydra write into the current directory.
_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir")


def _check_argv(argv: Sequence[str]) -> None:
    """Slips Hydra would misread: an empty run/sweep dir (it writes into the cwd)."""
    from .errors import ConfigError

    args = list(argv)
    for i, arg in enumerate(args):
        given = args[i + 1] if arg in ("--config-dir", "-cd") and i + 1 < len(args) else \
            arg.split("=", 1)[1] if arg.startswith(("--config-dir=", "-cd=")) else None
        if given is not None and Path(given).exists() and not Path(given).is_dir():
            raise ConfigError(f"--config-dir {given} is a file, not a directory; give the directory that holds "
                              "config.yaml or experiment/NAME.yaml")
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+~") in _DIR_KEYS and not value.strip().strip("'\"").strip():
            raise ConfigError(f"{key.lstrip('+~')} is empty, so the {'sweep' if 'sweep' in key else 'run'} would be "
                              f"written into the current directory; give it a directory, e.g. {key.lstrip('+~')}="
                              f"{'multirun/my_study' if 'sweep' in key else 'outputs/my_run'}")


def _override_hint(exc: BaseException) -> str | None:
    """A word that is not KEY=VALUE: a subcommand out of place, or a misspelt one."""
    import difflib
    import re

    found = re.search(r"Error parsing override '([^']*)'", str(exc))
    if not found or "missing EQUAL" not in str(exc):
        return None
    word = found.group(1)
    if word in SUBCOMMANDS:
        return (f"'{word}' is a subcommand: it must come first, before any option or override, "
                f"e.g. seedexp {word} ...")
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1)
    hint = f"did you mean the subcommand '{close[0]}'? (it comes first: seedexp {close[0]} ...)" if close else \
        "overrides are KEY=VALUE, e.g. seed=3 or experiment=imbalanced_clf"
    return f"'{word}' is neither an override nor a subcommand; {hint}"


def _io_line(exc: OSError, what_to_do: str, where: str | None = None) -> str:
    """One line for an I/O error: the path (the file, else ``where``), what failed, and what to do."""
    path = exc.filename or where
    return f"{exc.strerror or exc}{f': {path}' if path else ''}; {what_to_do}"


def _hydra_dir(argv: Sequence[str]) -> str | None:
    """The directory Hydra was writing: the job's output dir, else the run or sweep dir given in ``argv``."""
    from .hydra.command import output_dir

    value = output_dir()
    if value:
        return value
    multirun = any(a in ("-m", "--multirun") for a in argv)
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+") == ("hydra.sweep.dir" if multirun else "hydra.run.dir") and value:
            return f"{Path(value).absolute()}"
    return None


def _run_hydra(argv: Sequence[str]) -> int:
    """Run the Hydra app (one run, or a sweep with -m) and return its exit code."""
    from .hydra.app import hydra_raises

    with hydra_raises() as full_error:  # Hydra raises: its error becomes one line below
        return _run_and_report(argv, full_error)


def _run_and_report(argv: Sequence[str], full_error: bool) -> int:
    """:func:`_run_hydra` inside :func:`~seedexp.hydra.app.hydra_raises`: each error as one line and its exit code."""
    from .core import one_line
    from .errors import SeedexpError, SweepError
    from .hydra.command import error_text, run_app, usage_errors
    from .redact import redact_text

    try:
        _check_argv(argv)
        run_app(argv, _config_name(argv))
        return 0
    except SystemExit as exc:  # our task's exit codes, --help, --cfg
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print("seedexp: interrupted; records already written are kept - re-run the same command to resume",
              file=sys.stderr)
        return 130
    except (SeedexpError, *usage_errors()) as exc:
        if full_error:
            raise
        if isinstance(exc, SweepError):  # it ran, but not every planned run is ok: the summary lists them
            print(f"seedexp: {redact_text(one_line(str(exc), 1000))}", file=sys.stderr)
            return EXIT_RUNS
        line = str(exc) if isinstance(exc, SeedexpError) else (_override_hint(exc) or error_text(exc))
        print(f"seedexp: error: {redact_text(one_line(line, 1000))} (HYDRA_FULL_ERROR=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # experiment=null (Hydra's defaults list refuses it), or hydra.job_logging cannot open its file
        from .hydra.app import logging_error_line, null_group_line

        line = None if full_error else (null_group_line(exc, argv) or logging_error_line(exc))
        if line is None:
            raise
        print(f"seedexp: error: {redact_text(line)} (HYDRA_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # Hydra's own files (.hydra/*.yaml) or the sweep's, on a full or read-only disk
        if full_error:
            raise
        line = _io_line(exc, "free space on that disk or choose a writable hydra.run.dir / hydra.sweep.dir, then "
                             "re-run the same command: records already written are kept", _hydra_dir(argv))
        print(f"seedexp: error: {redact_text(one_line(line, 1000))}", file=sys.stderr)
        return EXIT_USAGE


def _verify(argv: Sequence[str]) -> int:
    from .verify import likely_causes, verify

    parser = _OneLineParser(
        prog="seedexp verify", usage="seedexp verify [--runs N] [--keep] [--app SCRIPT.py] [OVERRIDE ...]",
        description="Run one configuration N times, each in a fresh process with another starting "
                    "PYTHONHASHSEED, and compare every metric and fingerprint bit for bit. Exit 0 if identical.")
    parser.add_argument("--runs", type=int, default=2, help="fresh runs to compare (default 2, at least 2)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories even when reproducible")
    parser.add_argument("--app", metavar="SCRIPT.py", default=None,
                        help="your @seedexp.main script instead of the seedexp command, e.g. --app train.py "
                             "(started in the current directory; `seedexp verify train.py ...` works too)")
    parser.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="as for `seedexp` (or your app), e.g. "
                                                                         "experiment=torch_digits seed=3")
    ns = _parse(parser, argv)
    if ns.app is None and ns.overrides and ns.overrides[0].endswith(".py") and "=" not in ns.overrides[0]:
        ns.app, ns.overrides = ns.overrides[0], ns.overrides[1:]  # seedexp verify train.py model=lr
    result = verify(ns.overrides, runs=ns.runs, keep=ns.keep, progress=lambda line: print(line, flush=True),
                    app=ns.app)
    if result.error:
        print(f"seedexp verify: {result.error}", file=sys.stderr)
        return 1
    head = f"{ns.runs} fresh runs of {result.experiment} (seed={result.seed})"
    if result.reproducible:
        print(f"REPRODUCIBLE: {head} gave {result.n_metrics} metric(s) and {result.n_fingerprints} "
              "fingerprint(s) identical bit for bit")
        if ns.keep:
            print(f"runs kept in {result.root}")
        return 0
    print(f"NOT REPRODUCIBLE: {head} differ:")
    for line in result.differences:
        print(f"  - {line}")
    print("possible causes:")
    for cause in likely_causes(result.records[0]):
        print(f"  - {cause}")
    print(f"runs kept in {result.root}")
    return 1


class _OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one-line ConfigErrors (printed as one line; exit 2), not usage + error."""

    def error(self, message: str) -> NoReturn:
        from .errors import ConfigError

        raise ConfigError(f"{message} (see {self.prog} --help)")


def _parse(parser, argv: Sequence[str]):
    """argparse, but an unknown option is an error before anything runs (overrides contain no leading '-')."""
    from .errors import ConfigError

    ns, rest = parser.parse_known_args(list(argv))
    hydra_options = ("--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp")
    unknown = [a for i, a in enumerate(rest) if a.startswith("-") and a.split("=", 1)[0] not in hydra_options
               and not (i and rest[i - 1] in hydra_options)]
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r}; see {parser.prog} --help")
    if rest:  # Hydra's own options (--config-dir DIR) first: Hydra's parser wants them before the overrides
        ns.overrides = [*rest, *getattr(ns, "overrides", [])]
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    """The ``seedexp`` command. Returns the exit code."""
    from .console import show

    show()  # what the library says to a person (seedexp.console) is shown, here and in worker processes
    with _one_line_warnings():
        return _main(list(sys.argv[1:] if argv is None else argv))


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """seedexp's own warnings as one ``seedexp: warning: ...`` line on stderr (others as Python prints them)."""
    import warnings

    from .errors import SeedexpWarning

    shown = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if isinstance(category, type) and issubclass(category, SeedexpWarning):
            from .core import one_line

            print(f"seedexp: warning: {one_line(str(message), 1000)}", file=file or sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _main(argv: list[str]) -> int:
    if argv[:1] in (["--version"], ["-V"]):
        print(f"seedexp {_version()}")
        return 0
    if argv[:1] == ["help"]:
        argv = ["--help", *argv[1:]]
    sub = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    helping = sub is None and any(a in ("--help", "-h") for a in argv)
    if sub in (None, "verify", "variance") and not helping:  # help runs nothing: no restart (it printed twice)
        from .hydra import fix_hash_seed

        fix_hash_seed()
    if helping:
        print(USAGE)
        print("Hydra's options and this config's groups follow.\n")
        argv = [a if a != "-h" else "--help" for a in argv]
    # Before anything imports TensorFlow, or it is too late: hide its INFO start-up chatter.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if sub is None:
        return _run_hydra(argv)
    from .errors import SeedexpError

    try:
        if sub == "verify":
            return _verify(argv[1:])
        if sub == "variance":
            from ._cli_variance import main as variance_main

            return variance_main(argv[1:])
        from . import _cli_report

        return {"report": _cli_report.main_report, "compare": _cli_report.main_compare,
                "plan": _cli_report.main_plan}[sub](argv[1:])
    except (SeedexpError, OSError) as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        from .core import one_line
        from .redact import redact_text

        line = str(exc) if isinstance(exc, SeedexpError) else _io_line(exc, "free space or use a writable directory")
        print(f"seedexp {sub}: error: {redact_text(one_line(line, 1000))}", file=sys.stderr)
        return EXIT_USAGE
