"""Variance shares that hold (issue 30, part 5): coverage of the share interval of ``seedexp variance``.

    .venv/bin/python scripts/bench_variance.py [--studies 4000]

A metric made of the studied source ``s`` and the other sources ``o`` (both
N(0, 1)), interacting with strength ``g``:

* "product": ``metric = s + o + g s o``;
* "scale": ``metric = s exp(g o) + o`` (the source's spread depends on the others).

The true share is ``E[Var(metric | o)] / Var(metric)``. Per study size N and
interaction, over ``--studies`` simulated studies from one seeded generator:

* before: the earlier design (5 base seeds x N/5 values of the source, the
  pooled within-base variance, an F interval);
* now: the paired design of :mod:`seedexp.variance` (pair b: run b of 'all' and
  the same master seed with only the source changed), its jackknife interval
  computed by :func:`seedexp.variance.paired_share`;
* the 5-95% range of the share estimate, and the interval's median width
  (high / low), for the paired design.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedexp.variance import paired_share  # noqa: E402


def metric(s, o, g, model):
    return s + o + g * s * o if model == "product" else s * np.exp(g * o) + o


def truth(g, model):
    return (1 + g * g) / (2 + g * g) if model == "product" else math.exp(2 * g * g) / (math.exp(2 * g * g) + 1)


def before(rng, studies, n, g, model, bases=5):
    m = n // bases
    o = rng.standard_normal((studies, bases, 1))
    within = metric(rng.standard_normal((studies, bases, m)), o, g, model).var(axis=2, ddof=1).mean(axis=1)
    total = metric(rng.standard_normal((studies, n)), rng.standard_normal((studies, n)), g, model).var(axis=1, ddof=1)
    share = within / total
    f = stats.f.ppf([0.975, 0.025], bases * (m - 1), n - 1)
    t = truth(g, model)
    return np.mean((share / f[0] <= t) & (t <= share / f[1]))


def now(rng, studies, n, g, model):
    t = truth(g, model)
    hits, shares, widths = 0, [], []
    for _ in range(studies):
        s, s_new, o = rng.standard_normal((3, n))
        r = paired_share(metric(s, o, g, model), metric(s_new, o, g, model))
        hits += r["share_ci_low"] <= t <= r["share_ci_high"]
        shares.append(r["share"])
        widths.append(r["share_ci_high"] / r["share_ci_low"])
    return hits / studies, np.percentile(shares, [5, 95]), float(np.median(widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args()
    rng = np.random.default_rng(ns.seed)
    t0 = time.perf_counter()
    print(f"{ns.studies} simulated studies per row, seed {ns.seed}; 95% intervals\n")
    print("| model | interaction g | true share | N runs per source | before: 5 base seeds, F | now: paired, jackknife "
          "| now: 5-95% of the estimate | now: median width (high/low) |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for model in ("product", "scale"):
        for g in (0.0, 0.5, 1.0):
            for n in (10, 20, 30, 60):
                b = before(rng, ns.studies, n, g, model) if n % 5 == 0 and n // 5 >= 2 else float("nan")
                cov, rng90, width = now(rng, ns.studies, n, g, model)
                print(f"| {model} | {g} | {truth(g, model):.2f} | {n} | {b:.3f} | **{cov:.3f}** | "
                      f"{100 * rng90[0]:.0f}%-{100 * rng90[1]:.0f}% | {width:.1f} |")
    print(f"\n(Monte Carlo standard error near 0.95: {math.sqrt(0.95 * 0.05 / ns.studies):.4f}; "
          f"{time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
