"""Synthetic objectives for the tuning tests (importable, so n_jobs=2 can pickle them).

Each value = truth(params) + seed noise shared by every configuration (common random
numbers cancel it in paired differences) + noise of the (configuration, seed) pair.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

#: Where the optimum of :func:`bowl` is.
OPTIMUM = {"x": 0.3, "kind": "a"}
CALLS: list[tuple] = []  # what ran in this process (the resume test counts it)
KILL_AT: list[int] = []  # a call number at which bowl raises KeyboardInterrupt (a search killed mid-way)


def _own(seeds, *keys) -> float:
    """Noise of this configuration on this seed: seeded by the run's seed and the parameters."""
    key = [seeds.seed("init"), *[int(k * 1e6) if isinstance(k, float) else zlib.crc32(repr(k).encode()) for k in keys]]
    return float(np.random.default_rng(key).normal())


def bowl(seeds, x, kind="a"):
    """Best at x=0.3, kind=a (score 1.0); seed noise 0.05 shared, 0.02 own."""
    CALLS.append((x, kind, seeds.seed("init")))
    if os.environ.get("TUNE_CALLS_FILE"):  # runs in other processes (a Hydra sweep) are counted there
        with open(os.environ["TUNE_CALLS_FILE"], "a", encoding="utf-8") as f:
            f.write(f"{x} {kind} {seeds.seed('init')}\n")
    if KILL_AT and len(CALLS) == KILL_AT[0]:
        raise KeyboardInterrupt
    truth = 1.0 - (x - OPTIMUM["x"]) ** 2 - (0.0 if kind == "a" else 0.15)
    return {"score": truth + 0.05 * seeds.generator("data").normal() + 0.02 * _own(seeds, x, kind)}


def flat(seeds, x):
    """Every configuration is as good as every other (truth 0): any search score below 0 is luck."""
    return {"loss": 0.3 * _own(seeds, x) + 0.1 * seeds.generator("data").normal()}


def two_goals(seeds, x):
    """score grows with x, cost too: every x is on the Pareto front."""
    return {"score": x + 0.01 * seeds.generator("data").normal(), "cost": x ** 2}


class Kind:
    """A parameter value that is not JSON (as a user's own object may be); bowl takes it for kind "b"."""

    def __repr__(self) -> str:
        return "Kind()"
