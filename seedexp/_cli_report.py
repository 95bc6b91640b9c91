"""``seedexp report | compare | plan SWEEP_DIR [options]``: argv in, printed text and an exit code out.

The statistics live in :mod:`seedexp.stats` and :mod:`seedexp.planning`, the
files in :mod:`seedexp.report`; this module parses, prints and returns the exit
code. Bad input raises a :class:`~seedexp.errors.SeedexpError` (the CLI prints
it as one line and exits 2).

Options default to those of the sweep's existing ``summary.json`` (when it is
seedexp's), so rebuilding a summary keeps the analysis declared for it (its
test, correction, baseline...); a flag given here overrides.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn, Sequence

from .stats.options import DEFAULTS, Options, check_options, option_label
from .stats.summary import all_ok, lost_values_line
from .sweepdir import aggregate, load_summary, reader_lock
from .errors import ConfigError

__all__ = ["main_report", "main_compare", "main_plan", "print_summary"]

_HELP = {
    "confidence": "confidence level of every interval, in (0, 1); tests run at alpha = 1 - confidence (default 0.95)",
    "n_resamples": "bootstrap / permutation resamples, 100-100000 (default 2000)",
    "bootstrap_seed": "seed of the resampling, an int >= 0 (default 0)",
    "bootstrap_min_n": "show the BCa bootstrap interval from this many seeds on (default 20)",
    "test": "the paired test: t (default) or permutation (sign flip)",
    "correction": "across comparisons: holm (default), bh (Benjamini-Hochberg) or none",
    "baseline": "compare every group to this one (its name, or overrides only it has)",
    "primary_metric": "the declared metric: its comparisons form their own correction family",
    "target_halfwidth": "seeds needed for a CI of this half-width: a number, or metric=value,...",
    "target_difference": "seeds needed to detect this paired difference: a number, or metric=value,...",
    "power": "power for target_difference, in (0, 1) (default 0.8)",
    "curve_align": "runs of a series with different steps: exact (default: refuse), common or interpolate",
    "curve_threshold": "curves: the value whose first reaching step is summarized, metric=value,...",
    "curve_points": "curves: steps kept in summary.json, curves.csv and the figures (default 1000)",
    "task": "a benchmark: the swept key whose values are the tasks (e.g. experiment.dataset); groups are then methods",
    "normalize": "benchmark scores per task: none (raw), minmax, or task=worst:best,... (reference scores)",
}


#: What to do instead of rebuilding the summary of a sweep that is running.
_WAIT = "wait for it, or look now with --no-write (or --out DIR)"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one-line ConfigErrors (the CLI prints them; exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see {self.prog} --help)")


def _sweep_dir(text: str) -> Path:
    """The sweep dir argument: an empty one would be the current directory, read and written over."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"the sweep dir is {text!r} (empty), which would be the current directory; give the sweep's "
                          "directory, e.g. seedexp report multirun/2026-01-31/12-00-00 (or . for this one)")
    return Path(text)


def _parser(name: str, description: str) -> _Parser:
    parser = _Parser(prog=f"seedexp {name}", description=description)
    parser.add_argument("sweep_dir", type=_sweep_dir, help="the sweep directory (hydra.sweep.dir)")
    return parser


def _add_options(parser: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    for name, text in _HELP.items():
        if name not in skip:
            parser.add_argument(option_label(name, "cli"), dest=name, default=None, metavar="X", help=text)
    parser.add_argument("--higher-is-better", default=None, metavar="M1,M2",
                        help="metrics where higher is better (default: by name; loss, error, mse, mae, rmse are lower)")
    parser.add_argument("--lower-is-better", default=None, metavar="M1,M2", help="metrics where lower is better")


def _previous_options(path: Path) -> dict[str, Any]:
    """The options of an existing seedexp summary.json (none if absent, unreadable, or not seedexp's)."""
    data, _ = load_summary(path)
    options = data.get("options") if data is not None else None
    return {k: v for k, v in options.items() if k in DEFAULTS} if isinstance(options, dict) else {}


def _options(ns: argparse.Namespace, previous_from: Path) -> Options:
    given = _previous_options(previous_from)
    given.update({k: getattr(ns, k) for k in DEFAULTS if getattr(ns, k, None) is not None})
    direction = dict(given.get("higher_is_better") or {})
    for flag, value in (("higher_is_better", True), ("lower_is_better", False)):
        names = getattr(ns, flag, None)
        if names is not None:
            direction.update({m.strip(): value for m in names.split(",") if m.strip()})
    given["higher_is_better"] = direction or None
    return check_options(given, style="cli")


def print_summary(summary: dict[str, Any], markdown: str, written_to: Path | None) -> None:
    """Print the summary, where it was written, and one stderr line per problem."""
    print(markdown)
    if written_to is not None:
        print(f"summary: {written_to / 'summary.md'} (also summary.html, summary.json, summary.csv, runs.csv, summary.png)")
    if summary["n_not_ok"]:
        parts = ", ".join(f"{summary[f'n_{s}']} {s.replace('_', ' ')}" for s in ("failed", "crashed", "timed_out", "missing")
                          if summary.get(f"n_{s}"))
        print(f"seedexp: {summary['n_not_ok']} of {summary['n_runs']} runs are not ok ({parts}; listed above); "
              "re-run the same command to retry only those", file=sys.stderr)
    lost = lost_values_line(summary)
    if lost is not None:
        print(f"seedexp: {lost}", file=sys.stderr)
    for problem in summary.get("corrupt", []):
        print(f"seedexp: warning: {problem}", file=sys.stderr)


def _not_a_tuning_study(path: Path) -> None:
    """A tuning study's root holds two sweeps (search, fresh): one summary of both would mix their seeds."""
    from .tuning.study import TUNING_FILE

    if (Path(path) / TUNING_FILE).is_file():
        raise ConfigError(f"{str(path)!r} is a tuning study: report its two sweeps one at a time, seedexp report "
                          f"{Path(path) / 'search'} (every trial) or seedexp report {Path(path) / 'fresh'} (the "
                          f"finalists on fresh seeds); the study's own report is {Path(path) / 'tuning.md'}")


def main_report(argv: Sequence[str]) -> int:
    """``seedexp report SWEEP_DIR``: (re)build the summary; exit 1 when a run is not ok or a record unreadable."""
    from .report import to_markdown
    from .summary_files import write_summary

    parser = _parser("report", "Rebuild a sweep's summary (summary.json/csv/md/html/png, runs.csv), finished or not.")
    parser.add_argument("--tracking", default=None, metavar="BACKEND",
                        help="also send the summary and runs to mlflow, tensorboard, wandb or a list such as "
                             "'mlflow,wandb' (MLflow's URI from MLFLOW_TRACKING_URI; W&B's settings from WANDB_*)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write the summary files here instead of the sweep dir")
    parser.add_argument("--no-write", action="store_true", help="print the summary and write nothing (read-only sweeps)")
    parser.add_argument("--open", action="store_true", help="then open summary.html in the default web browser")
    _add_options(parser)
    ns = parser.parse_args(list(argv))
    _not_a_tuning_study(ns.sweep_dir)
    if ns.no_write and ns.out is not None:
        raise ConfigError("--no-write and --out contradict each other: --no-write writes nothing; drop one")
    if ns.no_write and ns.open:
        raise ConfigError("--open shows summary.html, which --no-write does not write; drop one (or use --out DIR)")
    options = _options(ns, ns.out if ns.out is not None else ns.sweep_dir)
    if ns.no_write:
        summary = aggregate(ns.sweep_dir, options=options)
        print_summary(summary, to_markdown(summary), None)
    else:
        dest = ns.out if ns.out is not None else ns.sweep_dir
        try:
            with reader_lock(ns.sweep_dir, _WAIT) if ns.out is None else nullcontext():
                summary = write_summary(ns.sweep_dir, out_dir=ns.out, options=options)
        except OSError as exc:
            raise ConfigError(f"cannot write the summary in {str(dest)!r} ({exc.strerror or exc}); the records are "
                              "intact: free space there, or write it elsewhere with --out DIR, or print it with "
                              "--no-write") from None
        print_summary(summary, to_markdown(summary), Path(summary["out_dir"]))
        if ns.open:
            _open_page(Path(summary["out_dir"]) / "summary.html")
    if ns.tracking:
        from .tracking import check_config, send

        check_config(ns.tracking)
        for line in send(ns.sweep_dir, summary, ns.tracking):
            print(f"seedexp report: warning: {line}", file=sys.stderr)
    return 0 if all_ok(summary) else 1


def _open_page(page: Path) -> None:
    """Open ``page`` in the default web browser; say where it is when there is none (a server, a container)."""
    import webbrowser

    if not webbrowser.open(page.absolute().as_uri()):
        print(f"seedexp report: no web browser to open here; the page is {page.absolute().as_uri()}", file=sys.stderr)


def main_compare(argv: Sequence[str]) -> int:
    """``seedexp compare SWEEP_DIR [--metric M]``: print the paired comparisons; writes nothing."""
    from .report import comparisons_table

    parser = _parser("compare", "Paired comparisons between the configurations of a sweep (same seeds); writes nothing.")
    parser.add_argument("--metric", default=None, help="only this metric, e.g. test_f1 (default: every metric)")
    _add_options(parser, skip=("target_halfwidth", "target_difference", "power"))
    ns = parser.parse_args(list(argv))
    summary = aggregate(ns.sweep_dir, options=_options(ns, ns.sweep_dir))
    _check_metric(ns.metric, summary, ns.sweep_dir)
    print(comparisons_table(summary, ns.metric), end="")
    return 0


def _check_metric(metric: str | None, summary: dict, sweep_dir: Any) -> None:
    """``--metric`` must name a metric of the sweep (one line listing them, else)."""
    if metric is not None and metric not in summary["metrics"]:
        raise ConfigError(f"--metric {metric!r} is not a metric of {str(sweep_dir)!r}; "
                          f"its metrics are: {', '.join(summary['metrics']) or '(none)'}")


def main_plan(argv: Sequence[str]) -> int:
    """``seedexp plan SWEEP_DIR --halfwidth H [--difference D]``: seeds needed, per group and metric."""
    from .report import planning_table

    parser = _parser("plan", "How many seeds, from a finished sweep: for a CI of half-width H, and for power "
                             "against a paired difference D; writes nothing.")
    parser.add_argument("--halfwidth", dest="target_halfwidth", default=None, metavar="H",
                        help="target half-width of the CI of the mean: a number, or metric=value,...")
    parser.add_argument("--difference", dest="target_difference", default=None, metavar="D",
                        help="paired difference to detect: a number, or metric=value,...")
    parser.add_argument("--metric", default=None, help="only this metric (default: every metric)")
    _add_options(parser, skip=("target_halfwidth", "target_difference"))
    ns = parser.parse_args(list(argv))
    if ns.target_halfwidth is None and ns.target_difference is None:
        raise ConfigError("give --halfwidth H and/or --difference D, e.g. seedexp plan DIR --halfwidth 0.01")
    summary = aggregate(ns.sweep_dir, options=_options(ns, ns.sweep_dir))
    _check_metric(ns.metric, summary, ns.sweep_dir)
    print(planning_table(summary, ns.metric), end="")
    return 0
