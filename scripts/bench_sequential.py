"""Adaptive stopping (issues "Enough seeds" and 30): error rates and seeds used, by simulation.

    .venv/bin/python scripts/bench_sequential.py [--sweeps 20000]

Simulates many adaptive sweeps, vectorised, with a look after every batch, and
prints markdown tables for BENCHMARKS.md. First the two designs of ``seed=auto``
side by side (:mod:`seedexp.sequential`): the group-sequential design (the
default with a ``max_seeds``) and the confidence sequence (open-ended sweeps):

A. Half-width target: seeds used against the oracle fixed-n design (the n whose
   t interval meets the target at the true sd) and coverage at the stop, for
   the fixed-width rule (group-sequential), the confidence sequence and the
   naive rule; normal and lognormal values.
B. Deciding a difference: error rate under no difference, and seeds used and
   power against the oracle fixed-n paired t-test, for Pocock- and
   O'Brien-Fleming-type spending and the confidence sequence.
C. The fixed-n verdict read at a seed=auto stop, under no difference.

Then the confidence sequence alone (the tables of issue "Enough seeds"):

1. Type-I error of the paired comparison under no difference: seedexp's
   anytime-valid confidence sequence (:mod:`seedexp.sequential`) against naive
   re-testing (the fixed-n paired t-test at 5% after every batch).
2. Coverage of the final interval under the half-width rule (stop when every
   interval is narrow enough): seedexp's rule (stop on the confidence sequence,
   report it) against the naive rule (stop on the fixed-n t interval, report it),
   on normal and lognormal values.
3. Seeds used at the stop for true differences of several sizes (``decide``).

Every figure is the fraction (or mean) over ``--sweeps`` simulated sweeps, from
one fixed seed; "+-" is the Monte Carlo standard error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedexp import gsdesign  # noqa: E402
from seedexp.planning import seeds_for_halfwidth  # noqa: E402
from seedexp.sequential import FIXED_WIDTH_A, confidence_sequence  # noqa: E402

CONFIDENCE, MIN_SEEDS = 0.95, 5
ALPHA = 1 - CONFIDENCE


def looks(min_seeds: int, batch: int, max_seeds: int) -> np.ndarray:
    """Seed counts at which a sweep checks: min_seeds, then every batch, then max_seeds."""
    n = list(range(min_seeds, max_seeds, batch)) + [max_seeds]
    return np.array(n)


def naive_t(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-n t interval (low, high) after every prefix of the last axis."""
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    var = np.maximum(np.cumsum(x * x, axis=-1) - n * mean * mean, 0) / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf(1 - ALPHA / 2, n - 1) * np.sqrt(var / n)
    half = np.where(n >= 2, half, np.inf)
    return mean - half, mean + half


def first_look(hit: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index (into ``at``) of the first look where ``hit`` holds, else the last look."""
    h = hit[:, at - 1]
    return np.where(h.any(axis=1), h.argmax(axis=1), len(at) - 1)


def type_one(rng, sweeps, batch, max_seeds):
    d = rng.standard_normal((sweeps, max_seeds))
    at = looks(MIN_SEEDS, batch, max_seeds)
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    cs = ((lo > 0) | (hi < 0))[:, at - 1].any(axis=1)
    tl, th = naive_t(d)
    naive = ((tl > 0) | (th < 0))[:, at - 1].any(axis=1)
    fixed = ((tl > 0) | (th < 0))[:, max_seeds - 1]
    return cs.mean(), naive.mean(), fixed.mean(), len(at)


def draw(rng, shape, log_sd):
    """Values with sd 1 and their true mean: normal (log_sd 0) or lognormal with that log-sd."""
    if log_sd == 0:
        return rng.standard_normal(shape), 0.0
    v = log_sd * log_sd
    sd = np.sqrt((np.exp(v) - 1) * np.exp(v))
    return rng.lognormal(0, log_sd, shape) / sd, np.exp(v / 2) / sd


def skewness(log_sd):
    v = log_sd * log_sd
    return (np.exp(v) + 2) * np.sqrt(np.exp(v) - 1)


def type_one_skewed(rng, sweeps, batch, max_seeds, log_sd):
    d, mu = draw(rng, (sweeps, max_seeds), log_sd)
    d = d - mu
    at = looks(MIN_SEEDS, batch, max_seeds)
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    cs = ((lo > 0) | (hi < 0))[:, at - 1].any(axis=1)
    tl, th = naive_t(d)
    naive = ((tl > 0) | (th < 0))[:, at - 1].any(axis=1)
    return cs.mean(), naive.mean()


def running(lo, hi):
    """The running intersection of a confidence sequence (same guarantee under normality)."""
    return np.maximum.accumulate(lo, axis=-1), np.minimum.accumulate(hi, axis=-1)


def coverage(rng, sweeps, batch, max_seeds, halfwidth, log_sd):
    x, mu = draw(rng, (sweeps, max_seeds), log_sd)
    at = looks(MIN_SEEDS, batch, max_seeds)
    out = {}
    cs = confidence_sequence(x, confidence=CONFIDENCE)
    for name, (lo, hi) in {"cs": cs, "naive": naive_t(x), "running": running(*cs)}.items():
        k = first_look((hi - lo) / 2 <= halfwidth, at)
        n = at[k]
        rows = np.arange(sweeps)
        cov = (lo[rows, n - 1] <= mu) & (mu <= hi[rows, n - 1])
        met = (hi[rows, n - 1] - lo[rows, n - 1]) / 2 <= halfwidth
        out[name] = (cov.mean(), n.mean(), met.mean())
    return out


def fixed_n_for_power(effect, power=0.9):
    """Seeds a fixed-n two-sided paired t-test at 5% needs for ``power``, knowing the effect."""
    for n in range(3, 10_000):
        crit = stats.t.ppf(1 - ALPHA / 2, n - 1)
        nc = effect * np.sqrt(n)
        if stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc) >= power:
            return n
    return None


def equivalence(rng, sweeps, batch, max_seeds, effect, margin):
    d = effect + rng.standard_normal((sweeps, max_seeds))
    at = looks(MIN_SEEDS, batch, max_seeds)
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    nonzero = (lo > 0) | (hi < 0)
    inside = (lo > -margin) & (hi < margin) & ~nonzero
    k = first_look(nonzero | inside, at)
    n = at[k]
    rows = np.arange(sweeps)
    return n.mean(), inside[rows, n - 1].mean(), nonzero[rows, n - 1].mean()


def seeds_used(rng, sweeps, batch, max_seeds, effect):
    d = effect + rng.standard_normal((sweeps, max_seeds))
    at = looks(MIN_SEEDS, batch, max_seeds)
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    k = first_look((lo > 0) | (hi < 0), at)
    n = at[k]
    rows = np.arange(sweeps)
    right = lo[rows, n - 1] > 0 if effect > 0 else np.zeros(sweeps, bool)
    wrong = hi[rows, n - 1] < 0 if effect > 0 else (lo[rows, n - 1] > 0) | (hi[rows, n - 1] < 0)
    return n.mean(), np.median(n), right.mean(), wrong.mean()


def se(p, sweeps):
    return np.sqrt(p * (1 - p) / sweeps)


def prefix(x):
    """Mean, sd and t statistic after every prefix of the last axis."""
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    var = np.maximum(np.cumsum(x * x, axis=-1) - n * mean * mean, 0) / np.maximum(n - 1, 1)
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean, sd, mean / (sd / np.sqrt(n))


def halfwidth_designs(rng, sweeps, batch, max_seeds, ratio, log_sd):
    """Half-width target ``sd / ratio``: (coverage, mean seeds, target met) of each design, and the oracle n."""
    x, mu = draw(rng, (sweeps, max_seeds), log_sd)  # sd 1
    h = 1.0 / ratio
    at = looks(MIN_SEEDS, batch, max_seeds)
    rows = np.arange(sweeps)
    mean, sd, _ = prefix(x)
    n = at.astype(float)
    t975 = stats.t.ppf(1 - ALPHA / 2, n - 1)
    out = {}
    # group-sequential: the fixed-width rule; mean +/- h at a stop on it, the repeated CI at max_seeds
    rule = t975 * np.sqrt(1 + FIXED_WIDTH_A / (n - 1)) * sd[:, at - 1] / np.sqrt(n)
    hit = rule <= h
    k = np.where(hit.any(axis=1), hit.argmax(axis=1), len(at) - 1)
    rci = gsdesign.t_boundaries(at, max_seeds, ALPHA, gsdesign.POCOCK)[k] * sd[rows, at[k] - 1] / np.sqrt(at[k])
    half = np.where(hit[rows, k], h, rci)
    out["gs"] = ((np.abs(mean[rows, at[k] - 1] - mu) <= half).mean(), at[k].mean(), hit.any(axis=1).mean())
    lo, hi = confidence_sequence(x, confidence=CONFIDENCE)
    k = first_look((hi - lo) / 2 <= h, at)
    nn = at[k]
    out["cs"] = (((lo[rows, nn - 1] <= mu) & (mu <= hi[rows, nn - 1])).mean(), nn.mean(),
                 ((hi[rows, nn - 1] - lo[rows, nn - 1]) / 2 <= h).mean())
    tl, th = naive_t(x)
    k = first_look((th - tl) / 2 <= h, at)
    nn = at[k]
    out["naive"] = (((tl[rows, nn - 1] <= mu) & (mu <= th[rows, nn - 1])).mean(), nn.mean(), 1.0)
    return out, seeds_for_halfwidth(1.0, h)


def oracle_n(effect, power):
    """Seeds a fixed-n two-sided paired t-test at 5% needs for ``power``, knowing the effect."""
    for n in range(3, 20_000):
        crit = stats.t.ppf(1 - ALPHA / 2, n - 1)
        nc = effect * np.sqrt(n)
        if stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc) >= power:
            return n
    return None


def decide_designs(rng, sweeps, batch, max_seeds, effect):
    """Per design: (decided, right sign), (decided, wrong sign or at all under no difference), mean seeds."""
    d = effect + rng.standard_normal((sweeps, max_seeds))
    at = looks(MIN_SEEDS, batch, max_seeds)
    rows = np.arange(sweeps)
    mean, _, t = prefix(d)
    out = {}
    for name, spending in (("pocock", gsdesign.POCOCK), ("obf", gsdesign.OBRIEN_FLEMING)):
        b = gsdesign.t_boundaries(at, max_seeds, ALPHA, spending)
        hit = np.abs(t[:, at - 1]) >= b
        k = first_look(hit, np.arange(1, len(at) + 1))
        sign = np.sign(t[rows, at[k] - 1])
        decided = hit.any(axis=1)
        out[name] = ((decided & (sign > 0)).mean() if effect else 0.0,
                     (decided & (sign < 0)).mean() if effect else decided.mean(), at[k].mean())
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    hit = ((lo > 0) | (hi < 0))[:, at - 1]
    k = first_look(hit, np.arange(1, len(at) + 1))
    nn = at[k]
    right = lo[rows, nn - 1] > 0
    wrong = hi[rows, nn - 1] < 0
    out["cs"] = (right.mean() if effect else 0.0, wrong.mean() if effect else (right | wrong).mean(), nn.mean())
    return out


def skewed_decisions(rng, sweeps, batch, max_seeds, log_sd):
    """Error rate of each design when the paired differences are centred lognormal (no true difference)."""
    d, mu = draw(rng, (sweeps, max_seeds), log_sd)
    d = d - mu
    at = looks(MIN_SEEDS, batch, max_seeds)
    _, _, t = prefix(d)
    out = {name: (np.abs(t[:, at - 1]) >= gsdesign.t_boundaries(at, max_seeds, ALPHA, sp)).any(axis=1).mean()
           for name, sp in (("pocock", gsdesign.POCOCK), ("obf", gsdesign.OBRIEN_FLEMING))}
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    out["cs"] = ((lo > 0) | (hi < 0))[:, at - 1].any(axis=1).mean()
    return out


def fixed_n_verdict_at_stop(rng, sweeps, batch, max_seeds):
    """Under no difference: how often the design decides, and how often the fixed-n t-test says so at its stop."""
    d = rng.standard_normal((sweeps, max_seeds))
    at = looks(MIN_SEEDS, batch, max_seeds)
    rows = np.arange(sweeps)
    _, _, t = prefix(d)
    out = {}
    b = gsdesign.t_boundaries(at, max_seeds, ALPHA, gsdesign.POCOCK)
    hit = np.abs(t[:, at - 1]) >= b
    nn = at[first_look(hit, np.arange(1, len(at) + 1))]
    out["gs"] = (hit.any(axis=1).mean(), (2 * stats.t.sf(np.abs(t[rows, nn - 1]), nn - 1) < ALPHA).mean())
    lo, hi = confidence_sequence(d, confidence=CONFIDENCE)
    hit = ((lo > 0) | (hi < 0))[:, at - 1]
    nn = at[first_look(hit, np.arange(1, len(at) + 1))]
    out["cs"] = (hit.any(axis=1).mean(), (2 * stats.t.sf(np.abs(t[rows, nn - 1]), nn - 1) < ALPHA).mean())
    return out


def designs(R, rng):
    print("## The designs of seed=auto\n")
    print("### A. Half-width target: seeds used and coverage at the stop (nominal 0.95)\n")
    print("Values with sd 1; target half-width sd / ratio; max_seeds 200. Oracle: the fixed-n design that knew the "
          "sd (`seeds_for_halfwidth`). Group-sequential: the fixed-width rule, reporting mean +/- target. "
          "Naive: stop when the t interval is narrow enough, report it.\n")
    print("| data | batch | sd / target | oracle n | group-seq.: seeds (x oracle) | coverage | CS: seeds (x oracle) "
          "| coverage | naive: seeds (x oracle) | coverage |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for log_sd, batches in ((0.0, (1, 4)), (0.5, (1,)), (1.0, (1,))):
        kind = "normal" if log_sd == 0 else f"lognormal, log-sd {log_sd} (skew {skewness(log_sd):.2f})"
        for batch in batches:
            for ratio in (1.5, 2.0, 2.5, 3.0, 4.0, 6.0):
                r, oracle = halfwidth_designs(rng, R, batch, 200, ratio, log_sd)
                g, c, nv = r["gs"], r["cs"], r["naive"]
                print(f"| {kind} | {batch} | {ratio} | {oracle} | {g[1]:.1f} ({g[1] / oracle:.2f}) | {g[0]:.4f} | "
                      f"{c[1]:.1f} ({c[1] / oracle:.2f}) | {c[0]:.4f} | {nv[1]:.1f} ({nv[1] / oracle:.2f}) | {nv[0]:.4f} |")
    print(f"\n(Monte Carlo standard error of a coverage near 0.95: {se(0.95, R):.4f})\n")

    print("### B. Deciding a difference (decide; paired differences with sd 1)\n")
    print("Decided: the right sign / the wrong sign (no difference: decided at all, nominal <= 0.05). Oracle: the "
          "fixed-n paired t-test with the same power (capped at 0.99), knowing the effect; n90: with 90% power.\n")
    print("| max_seeds | batch | effect | n90 | Pocock: right / wrong | seeds (x oracle) | O'Brien-Fleming: right / wrong "
          "| seeds (x oracle) | CS: right / wrong | seeds (x oracle) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for max_seeds, batch in ((100, 4), (200, 4), (50, 1)):
        for effect in (0.0, 0.35, 0.5, 0.8, 1.2):
            r = decide_designs(rng, R, batch, max_seeds, effect)
            cells = []
            for name in ("pocock", "obf", "cs"):
                right, wrong, n = r[name]
                if effect:
                    oracle = oracle_n(effect, min(right, 0.99)) if right > 0.06 else None
                    ratio = f" ({n / oracle:.2f})" if oracle else ""
                else:
                    ratio = ""
                cells.append(f"{right:.3f} / {wrong:.4f} | {n:.1f}{ratio}")
            n90 = oracle_n(effect, 0.9) if effect else "-"
            print(f"| {max_seeds} | {batch} | {effect} | {n90} | " + " | ".join(cells) + " |")
    print()
    print("Error rate under no difference, more schedules (nominal 0.05):\n")
    print("| max_seeds | batch | looks | Pocock | O'Brien-Fleming | CS |")
    print("|---:|---:|---:|---:|---:|---:|")
    for max_seeds, batch in ((10, 1), (20, 1), (30, 2), (50, 1), (100, 1), (100, 5), (200, 2)):
        r = decide_designs(rng, R, batch, max_seeds, 0.0)
        k = len(looks(MIN_SEEDS, batch, max_seeds))
        print(f"| {max_seeds} | {batch} | {k} | {r['pocock'][1]:.4f} | {r['obf'][1]:.4f} | {r['cs'][1]:.4f} |")
    print(f"\n(Monte Carlo standard error near 0.05: {se(0.05, R):.4f})\n")
    print("Error rate when the paired differences are skewed (centred lognormal; batch 4, max_seeds 100):\n")
    print("| log-sd | skewness | Pocock | O'Brien-Fleming | CS |")
    print("|---:|---:|---:|---:|---:|")
    for log_sd in (0.25, 0.5, 1.0):
        r = skewed_decisions(rng, R, 4, 100, log_sd)
        print(f"| {log_sd} | {skewness(log_sd):.2f} | {r['pocock']:.4f} | {r['obf']:.4f} | {r['cs']:.4f} |")
    print()

    print("### C. The fixed-n verdict read at a seed=auto stop (no true difference, decide)\n")
    print("| design | max_seeds | batch | the design decides (nominal <= 0.05) | the fixed-n paired t at its stop says p < 0.05 |")
    print("|---|---:|---:|---:|---:|")
    for max_seeds, batch in ((100, 1), (100, 4), (200, 4)):
        r = fixed_n_verdict_at_stop(rng, R, batch, max_seeds)
        for name, label in (("gs", "group-sequential (Pocock)"), ("cs", "confidence sequence")):
            print(f"| {label} | {max_seeds} | {batch} | {r[name][0]:.4f} | {r[name][1]:.4f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--designs-only", action="store_true", help="only the tables comparing the designs")
    ns = parser.parse_args()
    R, t0 = ns.sweeps, time.perf_counter()
    rng = np.random.default_rng(ns.seed)

    print(f"{R} simulated sweeps per row, confidence {CONFIDENCE}, min_seeds {MIN_SEEDS}, seed {ns.seed}\n")
    designs(R, rng)
    if ns.designs_only:
        print(f"({time.perf_counter() - t0:.1f} s)")
        return
    print("## The confidence sequence alone\n")
    print("### Type-I error, paired comparison, no true difference (nominal 0.05)\n")
    print("| batch | max_seeds | looks | seedexp (anytime-valid CS) | naive: paired t after every batch | one fixed-n t-test at max_seeds |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch, max_seeds in [(1, 50), (2, 50), (5, 50), (2, 200), (5, 200), (10, 200)]:
        cs, naive, fixed, k = type_one(rng, R, batch, max_seeds)
        print(f"| {batch} | {max_seeds} | {k} | {cs:.4f} +- {se(cs, R):.4f} | {naive:.4f} +- {se(naive, R):.4f} "
              f"| {fixed:.4f} +- {se(fixed, R):.4f} |")

    print("\n### Type-I error when the paired differences are skewed (centred lognormal; batch 4, max_seeds 200)\n")
    print("| log-sd | skewness | seedexp (anytime-valid CS) | naive: paired t after every batch |")
    print("|---:|---:|---:|---:|")
    for log_sd in (0.25, 0.5, 1.0):
        cs, naive = type_one_skewed(rng, R, 4, 200, log_sd)
        print(f"| {log_sd} | {skewness(log_sd):.2f} | {cs:.4f} +- {se(cs, R):.4f} | {naive:.4f} +- {se(naive, R):.4f} |")

    print("\n### Half-width rule: coverage of the interval reported at the stop (nominal 0.95)\n")
    print("Values with sd 1; stop at the first look where the interval's half-width <= target, or at max_seeds=200; "
          "batch 4. 'running' = the running intersection of the confidence sequence.\n")
    print("| data | target half-width (x sd) | seedexp: coverage | mean seeds | target met | "
          "naive t rule: coverage | mean seeds | running intersection: coverage | mean seeds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for log_sd in (0.0, 0.5, 1.0):
        kind = "normal" if log_sd == 0 else f"lognormal, log-sd {log_sd} (skew {skewness(log_sd):.2f})"
        for h in (1.0, 0.5, 0.3):
            r = coverage(rng, R, 4, 200, h, log_sd)
            cs, nv, ru = r["cs"], r["naive"], r["running"]
            print(f"| {kind} | {h} | {cs[0]:.4f} | {cs[1]:.1f} | {cs[2]:.3f} | {nv[0]:.4f} | {nv[1]:.1f} "
                  f"| {ru[0]:.4f} | {ru[1]:.1f} |")

    print("\n### Seeds used to decide a true difference (decide, batch 4, max_seeds 200)\n")
    print("| true difference (x sd of the paired difference) | mean seeds at stop | median | decided, right sign "
          "| decided, wrong sign (no difference: decided at all) | fixed-n paired t: seeds for 90% power, effect known in advance |")
    print("|---:|---:|---:|---:|---:|---:|")
    for effect in (0.0, 0.2, 0.35, 0.5, 0.8, 1.2):
        mean, med, right, wrong = seeds_used(rng, R, 4, 200, effect)
        fixed = fixed_n_for_power(effect) if effect else "-"
        print(f"| {effect} | {mean:.1f} | {med:.0f} | {right:.3f} | {wrong:.4f} | {fixed} |")

    print("\n### Equivalence stopping (margin 0.5 sd of the paired difference; batch 4, max_seeds 200)\n")
    print("| true difference | mean seeds at stop | declared equivalent | declared different |")
    print("|---:|---:|---:|---:|")
    for effect in (0.0, 0.25, 0.5):
        mean, eq, diff = equivalence(rng, R, 4, 200, effect, 0.5)
        print(f"| {effect} | {mean:.1f} | {eq:.4f} | {diff:.4f} |")
    print(f"\n({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
