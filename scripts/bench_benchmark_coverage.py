"""Coverage of the benchmark's stratified bootstrap intervals, by Monte Carlo (issue 23, part 5).

    .venv/bin/python scripts/bench_benchmark_coverage.py [--reps 1000] [--resamples 1000] [--write]

For 3 / 5 / 10 seeds x 5 / 10 / 20 tasks, draws many benchmarks of one method
from a known distribution and counts how often the 95% stratified bootstrap
interval (``seedexp.stats.benchmark``: seeds resampled within each task, tasks held
fixed; percentile) of each aggregate contains its true value. The estimand is
rliable's: the same tasks, the runs re-drawn.

* tasks: true means ``mu_t ~ U(0.2, 0.9)`` and spreads ``sd_t ~ U(0.03, 0.12)``,
  drawn once per task count (fixed tasks);
* normal: ``mu_t + sd_t Z``;
* skewed: ``mu_t - sd_t (E - 1)``, E exponential: left-skewed, a few seeds far
  below the rest (a run that failed to train), same mean and sd.

True values: the mean and the median of ``mu_t``; the IQM and the optimality
gap (gamma = 1) of the mixture of the tasks' distributions, from 400,000 draws
per task. With ``--write`` the table is written into ``seedexp/stats/benchmark.py``
(:data:`COVERAGE`), which the report's caveat reads.

Every draw comes from one seeded generator: the figures are reproducible.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seedexp.stats import benchmark as bm  # noqa: E402

SEEDS = (3, 5, 10)
TASKS = (5, 10, 20)
LEVEL = 0.95


def tasks(n_tasks: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, n_tasks])
    return rng.uniform(0.2, 0.9, n_tasks), rng.uniform(0.03, 0.12, n_tasks)


def draw(dist: str, mu: np.ndarray, sd: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n seeds, tasks) scores."""
    if dist == "normal":
        return mu + sd * rng.standard_normal((n, len(mu)))
    return mu - sd * (rng.exponential(1.0, (n, len(mu))) - 1.0)


def truth(dist: str, mu: np.ndarray, sd: np.ndarray) -> dict[str, float]:
    big = draw(dist, mu, sd, 400_000, np.random.default_rng(12345))
    return {"mean": float(mu.mean()), "median": float(np.median(mu)),
            "iqm": float(stats.trim_mean(big, 0.25, axis=None)),
            "optimality_gap": float(1.0 - np.minimum(big, 1.0).mean())}


def coverage_cell(n_seeds: int, n_tasks: int, dist: str, reps: int, resamples: int, seed: int = 0) -> dict[str, float]:
    """Fraction of ``reps`` benchmarks whose interval covers the truth, per aggregate."""
    mu, sd = tasks(n_tasks)
    true = truth(dist, mu, sd)
    rng = np.random.default_rng([seed, n_seeds, n_tasks, len(dist)])
    hits = {k: 0 for k in bm.AGGREGATES}
    for _ in range(reps):
        x = draw(dist, mu, sd, n_seeds, rng)
        cols = list(x.T)
        boot = bm.aggregates_bootstrap(cols, bm.stratified_draws([n_seeds] * n_tasks, rng, resamples))
        for k in bm.AGGREGATES:
            low, high, _ = bm.percentile_interval(boot[k], LEVEL)
            hits[k] += bool(low <= true[k] <= high)
    return {k: hits[k] / reps for k in bm.AGGREGATES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="write the table into seedexp/stats/benchmark.py")
    args = parser.parse_args()
    t0 = time.perf_counter()
    table: dict[str, dict[tuple[int, int], list[float]]] = {k: {} for k in bm.AGGREGATES}
    for dist in ("normal", "skewed"):
        for n in SEEDS:
            for t in TASKS:
                cell = coverage_cell(n, t, dist, args.reps, args.resamples)
                for k, v in cell.items():
                    table[k].setdefault((n, t), []).append(round(100 * v, 1))
    se = 100 * np.sqrt(LEVEL * (1 - LEVEL) / args.reps)
    print(f"coverage (%) of the 95% stratified bootstrap interval; {args.reps} benchmarks per cell, "
          f"{args.resamples} resamples; Monte Carlo error ~ {se:.1f} points at 95%; {time.perf_counter() - t0:.0f} s\n")
    print("| aggregate | seeds | " + " | ".join(f"{t} tasks (normal / skewed)" for t in TASKS) + " |")
    print("|---|---:|" + "---|" * len(TASKS))
    for k in bm.AGGREGATES:
        for n in SEEDS:
            cells = [f"{table[k][(n, t)][0]:.1f} / {table[k][(n, t)][1]:.1f}" for t in TASKS]
            print(f"| {k} | {n} | " + " | ".join(cells) + " |")
    if args.write:
        path = ROOT / "seedexp" / "stats" / "benchmark.py"
        body = "{\n" + "".join(
            f"    {k!r}: {{" + ", ".join(f"({n}, {t}): ({v[0]}, {v[1]})" for (n, t), v in sorted(table[k].items()))
            + "},\n" for k in bm.AGGREGATES) + "}"
        text = path.read_text()
        text = re.sub(r"(COVERAGE: dict\[str, dict\[tuple\[int, int\], tuple\[float, float\]\]\] = )\{.*?\n\}|"
                      r"(COVERAGE: dict\[str, dict\[tuple\[int, int\], tuple\[float, float\]\]\] = )\{\}",
                      lambda m: (m.group(1) or m.group(2)) + body, text, count=1, flags=re.S)
        path.write_text(text)
        print(f"\nwrote COVERAGE into {path}")


if __name__ == "__main__":
    main()
