"""``seedexp variance [overrides] --seeds N``: argv in, printed text and an exit code out.

The study itself is :func:`seedexp.variance.run_study`; this module parses the
options (each range-checked before any run starts), prints progress and the
tables, and returns the exit code: 0, or 1 when some runs were not ok.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn, Sequence

from ._subprocess import absolute_overrides
from .errors import ConfigError

__all__ = ["main"]

#: Overrides the study sets itself.
_OWN = ("seed=", "pin.", "+pin.", "-m", "--multirun", "hydra.sweep.dir", "+seedexp_variance", "seedexp_variance")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see {self.prog} --help)")


def _int(text: str, flag: str, low: int, high: int, example: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{flag} {text!r}: expected an integer in [{low}, {high}], e.g. {flag} {example}")
    return value


def main(argv: Sequence[str]) -> int:
    """``seedexp variance``: run the study, print the tables; exit 1 when some runs were not ok."""
    from .variance import run_study

    parser = _Parser(prog="seedexp variance",
                     description="Which source of randomness moves the metric: N runs with every source "
                                 "varying, and per source N runs that repeat them with only that source changed; "
                                 "each share of the variance with its interval.")
    parser.add_argument("--seeds", default="30", metavar="N",
                        help="runs per source, at least 20 (default 30)")
    parser.add_argument("--base-seeds", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base-seed", default="0", metavar="S", help="first master seed of the study (default 0)")
    parser.add_argument("--confidence", default="0.95", metavar="C", help="level of the intervals (default 0.95)")
    parser.add_argument("--streams", default=None, help="comma-separated sources (default: those the experiment uses)")
    parser.add_argument("--out", type=Path, default=None, help="directory of the study (default multirun/variance_<experiment>)")
    ns, overrides = parser.parse_known_args(list(argv))
    n = _int(ns.seeds, "--seeds", 2, 10_000, 30)
    if ns.base_seeds is not None:
        raise ConfigError(f"--base-seeds {ns.base_seeds}: no longer needed: every run has its own base seed (each "
                          "source's run b repeats master seed b with only that source changed); drop it")
    base_seed = _int(ns.base_seed, "--base-seed", 0, 2**32 - 1, 0)
    try:
        confidence = float(ns.confidence)
    except ValueError:
        confidence = float("nan")
    if not 0 < confidence < 1:
        raise ConfigError(f"--confidence {ns.confidence!r}: expected a number in (0, 1), e.g. --confidence 0.95")
    unknown = [o for o in overrides if o.startswith("--") and o not in ("--config-dir", "--config-name")
               and not o.startswith(("--config-dir=", "--config-name="))]
    if unknown:
        raise ConfigError(f"unrecognized option(s) {' '.join(unknown)} (see seedexp variance --help)")
    if any(o.startswith(_OWN) for o in overrides):
        raise ConfigError("variance sets seed, pin.* and the sweep dir itself: drop them from the overrides "
                          "(use --base-seed and --out)")
    streams = [s.strip() for s in ns.streams.split(",") if s.strip()] if ns.streams else None
    overrides = absolute_overrides(overrides)
    experiment = next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), "default")
    out = ns.out or Path("multirun") / f"variance_{experiment}"
    result = run_study(overrides, out, n=n, base_seed=base_seed, streams=streams,
                       confidence=confidence, progress=lambda line: print(f"variance: {line}", flush=True))
    from .variance import to_markdown

    print(to_markdown(result))
    print(f"variance: {Path(out).absolute() / 'variance.md'} (also variance.json, variance.csv, variance.png)")
    if result["failed"]:
        print(f"variance: runs not ok per series: {result['failed']}; re-run the same command to retry them")
        return 1
    return 0
