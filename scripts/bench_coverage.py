"""Coverage of the summary's intervals and error rates of its tests, by Monte Carlo.

    .venv/bin/python scripts/bench_coverage.py [--draws 20000]

Draws many samples of n seeds from a known distribution and counts how often
each 95% interval contains the true value (it should: 95% of the time), and
how often each test rejects a true null at 5% (it should: at most 5%).

* normal: N(0.7, 0.05^2), an accuracy-like metric;
* skewed: lognormal(0, 1), a loss-like metric (mean e^0.5, median 1).

Intervals, with the functions the summary itself uses:

* headline: the summary's interval of the mean since issue 30 (``headline_interval``):
  Student t, or for strongly skewed positive values the modified-Cox interval of a
  lognormal mean (the share of samples that switched is shown);
* t: the Student t interval of the mean (``mean_interval``), the headline before;
* percentile bootstrap: the OLD headline (2000 resamples, as before);
* BCa: the bootstrap the summary shows as a second column from n >= 20
  (``scipy.stats.bootstrap``, as in ``bootstrap_interval``);
* median: the distribution-free order-statistic interval (``median_interval``), of the true median;
* log-t: the t interval on the log scale (``log_interval``), of the geometric mean
  (the true median, for lognormal data).

Every draw comes from one seeded generator: the figures are reproducible.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedexp.stats.estimators import (adjust_pvalues, headline_interval, mean_interval, median_interval,  # noqa: E402
                                      paired_pvalue)

NS = (3, 5, 10, 30)
LEVEL = 0.95
DISTRIBUTIONS = {
    # name: (sampler, true mean, true median)
    "normal": (lambda rng, shape: rng.normal(0.7, 0.05, shape), 0.7, 0.7),
    "skewed (lognormal)": (lambda rng, shape: rng.lognormal(0.0, 1.0, shape), float(np.exp(0.5)), 1.0),
}


def covers(low: np.ndarray, high: np.ndarray, truth: float) -> float:
    return float(np.mean((low <= truth) & (truth <= high)))


def percentile_bootstrap(x: np.ndarray, rng: np.random.Generator, resamples: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The old headline, as seedexp computed it: quantiles of resampled means (chunked to bound memory)."""
    lows, highs = [], []
    for chunk in np.array_split(x, max(1, len(x) * resamples * x.shape[1] // 20_000_000)):
        idx = rng.integers(0, chunk.shape[1], size=(chunk.shape[0], resamples, chunk.shape[1]))
        means = np.take_along_axis(chunk[:, None, :], idx, axis=2).mean(axis=2)
        low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=1)
        lows.append(low)
        highs.append(high)
    return np.concatenate(lows), np.concatenate(highs)


def bca(x: np.ndarray, rng: np.random.Generator, resamples: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    res = stats.bootstrap((x,), np.mean, axis=-1, method="BCa", n_resamples=resamples, confidence_level=LEVEL,
                          batch=50, rng=rng)
    return res.confidence_interval.low, res.confidence_interval.high


def order_statistic_median(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``median_interval`` picks two order statistics that depend on n only: apply them to every row."""
    n = x.shape[1]
    ranks = median_interval(np.arange(float(n)), LEVEL)
    if ranks[0] is None:
        return None
    s = np.sort(x, axis=1)
    return s[:, int(ranks[0])], s[:, int(ranks[1])]


def coverage_table(draws: int, boot_draws: int, rng: np.random.Generator) -> list[str]:
    rows = ["| data | n | headline (switched to lognormal-mean) | t | percentile bootstrap (old headline) | BCa bootstrap "
            "| median, order statistics | geometric mean, log-t |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (name, (sample, mean, median)), n in itertools.product(DISTRIBUTIONS.items(), NS):
        x = sample(rng, (draws, n))
        t = covers(*mean_interval(x, LEVEL), mean)
        head = [headline_interval(row, LEVEL) for row in x]
        h_low = np.array([np.nan if h[0] is None else h[0] for h in head])
        h_high = np.array([np.nan if h[1] is None else h[1] for h in head])
        switched = np.mean([h[2] == "lognormal-mean" for h in head])
        headline = f"**{covers(h_low, h_high, mean):.3f}** ({switched:.2f})"
        xb = x[:boot_draws]
        pb = covers(*percentile_bootstrap(xb, rng), mean)
        with np.errstate(all="ignore"):
            bc = covers(*bca(xb, rng), mean)
        med = order_statistic_median(x)
        med_cov = "none (n too small)" if med is None else f"{covers(*med, median):.3f}"
        if name.startswith("skewed"):
            low, high = mean_interval(np.log(x), LEVEL)
            geo = f"{covers(np.exp(low), np.exp(high), median):.3f}"
        else:
            geo = "–"
        rows.append(f"| {name} | {n} | {headline} | {t:.3f} | {pb:.3f} | {bc:.3f} | {med_cov} | {geo} |")
    return rows


def type_one_table(draws: int, rng: np.random.Generator) -> list[str]:
    rows = ["| n pairs | paired t (default) | sign-flip permutation | old: percentile-bootstrap CI excludes 0 |",
            "|---:|---:|---:|---:|"]
    for n in (3, 5, 10):
        shared = rng.normal(0.7, 0.05, (draws, 1))
        d = (shared + rng.normal(0, 0.01, (draws, n))) - (shared + rng.normal(0, 0.01, (draws, n)))
        t = np.mean(paired_pvalue(d, test="t") < 0.05)
        perm = np.mean(paired_pvalue(d[: draws // 4], test="permutation", seed=1) < 0.05)
        low, high = percentile_bootstrap(d[: draws // 10], rng)
        old = np.mean((low > 0) | (high < 0))
        rows.append(f"| {n} | {t:.3f} | {perm:.3f} | {old:.3f} |")
    return rows


def family_table(sweeps: int, rng: np.random.Generator) -> list[str]:
    import gc

    collect, gc.collect = gc.collect, lambda *a: 0  # statsmodels' Holm collects garbage on every call
    rows = ["| configurations x metrics (5 seeds) | tests | uncorrected | Holm | Benjamini-Hochberg |",
            "|---|---:|---:|---:|---:|"]
    try:
        for configs in (5, 10):
            y = rng.normal(size=(sweeps, 1, 5, 4)) + rng.normal(size=(sweeps, configs, 5, 4))
            pairs = list(itertools.combinations(range(configs), 2))
            d = np.stack([y[:, i] - y[:, j] for i, j in pairs], axis=1)
            p = paired_pvalue(np.moveaxis(d, 2, -1), test="t").reshape(sweeps, -1)
            raw = np.mean((p < 0.05).any(axis=1))
            holm = np.mean([(adjust_pvalues(r, "holm") < 0.05).any() for r in p])
            bh = np.mean([(adjust_pvalues(r, "bh") < 0.05).any() for r in p])
            rows.append(f"| {configs} x 4 | {p.shape[1]} | {raw:.3f} | {holm:.3f} | {bh:.3f} |")
    finally:
        gc.collect = collect
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20_000, help="samples per cell for t (bootstrap: a tenth)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    rng = np.random.Generator(np.random.PCG64(args.seed))
    start = time.perf_counter()
    print(f"Coverage of 95% intervals ({args.draws} samples per cell; bootstrap columns {args.draws // 10}):\n")
    print("\n".join(coverage_table(args.draws, args.draws // 10, rng)))
    print(f"\nType-I error of the paired tests at 5%, true null ({args.draws} samples; permutation "
          f"{args.draws // 4}, bootstrap {args.draws // 10}):\n")
    print("\n".join(type_one_table(args.draws, rng)))
    print("\nChance of at least one false 'significant' difference in a null sweep (family-wise error, 2000 sweeps):\n")
    print("\n".join(family_table(2000, rng)))
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
