"""Pure estimators: one sample's intervals, paired tests, effect size, win rate, p-value adjustment.

No I/O and no options: functions of arrays (and a seed where they resample),
each the arrangement of a scipy or statsmodels estimator. Data shape: a 1-D
array of finite values, one per seed; two configurations are compared on the
seeds they share, as pairs (``a[i]`` and ``b[i]`` share a seed).

What the numbers are (the level is ``confidence``, 0.95 by default):

* **headline interval** of a mean (:func:`headline_interval`): Student t
  (:func:`mean_interval`), which holds its level at 3-10 seeds on normal data,
  where a percentile bootstrap covers 76-90% (``scripts/bench_coverage.py``);
  for strongly skewed positive values (:func:`strongly_skewed`) the
  modified-Cox interval of a lognormal mean (:func:`lognormal_mean_interval`),
  because there the t interval covers 0.82-0.84 at 5-10 seeds (0.89-0.92 with
  the switch, lognormal sigma=1). None at n < 2.
* **bootstrap**: BCa (:func:`bootstrap_interval`), valid from about 20 seeds on.
* **skewed metrics**: the median with a distribution-free interval
  (:func:`median_interval`) and, for positive values, the geometric mean with a
  t interval on the log scale (:func:`log_interval`).
* **one declared paired test** per comparison (:func:`paired`): paired t
  (``test="t"``) or a sign-flip permutation test (``test="permutation"``),
  the interval of the mean difference from the same method, the effect size
  d_z with its interval, and the win rate with an exact binomial interval.
* **multiple comparisons**: Holm or Benjamini-Hochberg (:func:`adjust_pvalues`).

:func:`describe` gathers one sample's statistics (:data:`STAT_NAMES`);
:mod:`seedexp.stats.summary` arranges them into a sweep's summary.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

__all__ = [
    "STAT_NAMES", "mean_interval", "bootstrap_interval", "median_interval", "log_interval", "describe",
    "strongly_skewed", "lognormal_mean_interval", "headline_interval", "CI_METHODS",
    "paired_pvalue", "difference_interval", "effect_size_dz", "win_rate", "adjust_pvalues", "paired",
]

#: Statistics computed per group and metric, in the order of summary.csv.
STAT_NAMES = (
    "n", "n_nonfinite", "mean", "std", "sem", "ci_low", "ci_high",
    "median", "median_ci_low", "median_ci_high", "iqm", "min", "max",
    "boot_ci_low", "boot_ci_high", "boot_mc_se", "gmean", "gmean_ci_low", "gmean_ci_high", "ci_method",
)

#: What ``ci_low``/``ci_high`` are (``ci_method``): the t interval; the lognormal-mean interval for strongly
#: skewed positive values; or the t interval flagged, for strongly skewed values the log cannot take.
CI_METHODS = ("t", "lognormal-mean", "t, skewed")
#: Below this sd of the logs, a lognormal and a normal fit give the same interval: no switch.
SKEW_LOG_SD = 0.25
#: Sample skewness (adjusted) from which a t interval of values the log cannot take is flagged.
SKEW_FLAG = 1.5


#: statsmodels' name of each ``correction`` (``"none"`` adjusts nothing).
_STATSMODELS_METHOD = {"holm": "holm", "bh": "fdr_bh"}

def _num(x: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None



# --------------------------------------------------------------------------- one sample


def mean_interval(values: Any, confidence: float = 0.95, axis: int = -1) -> tuple[Any, Any]:
    """Student t confidence interval of the mean: the headline interval.

    Parameters
    ----------
    values : array_like
        One sample, or many along ``axis`` (vectorised: one interval per slice).
    confidence : float
        Two-sided level in (0, 1).
    axis : int
        The axis holding the seeds.

    Returns
    -------
    (low, high) : floats or arrays
        NaN where n < 2. A constant sample gives ``(mean, mean)``.

    Examples
    --------
    >>> low, high = mean_interval([0.71, 0.64, 0.69, 0.75, 0.70])
    >>> round(low, 4), round(high, 4)
    (0.6488, 0.7472)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.ttest_1samp(x, 0.0, axis=axis).confidence_interval(confidence)
        low, high = np.asarray(ci.low, dtype=float), np.asarray(ci.high, dtype=float)
        if x.shape[axis] >= 2:  # zero spread: the interval is the value itself
            first = np.take(x, [0], axis=axis)
            constant = np.all(x == first, axis=axis)
            value = np.squeeze(first, axis=axis)  # the value itself, not a mean rounded 1e-17 away from it
            low, high = np.where(constant, value, low), np.where(constant, value, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def bootstrap_interval(values: Sequence[float], rng: np.random.Generator, *, n_resamples: int = 2000,
                       confidence: float = 0.95) -> tuple[float, float, float]:
    """BCa bootstrap interval of the mean (``scipy.stats.bootstrap``) and its Monte Carlo error.

    Valid from about 20 seeds on; below that it covers less than its level
    (``scripts/bench_coverage.py``), which is why the summary shows it only from
    ``bootstrap_min_n`` seeds on, and as a second column.

    Returns
    -------
    (low, high, mc_se)
        ``mc_se`` approximates the resampling noise of an endpoint:
        ``sd(bootstrap means) * sqrt(a (1 - a) / B) / phi(z_a)``, ``a = (1 - confidence) / 2``.
        Printed endpoints carry no more digits than it supports.

    Examples
    --------
    >>> x = np.linspace(0.6, 0.8, 25)
    >>> low, high, se = bootstrap_interval(x, np.random.default_rng(0))
    >>> bool(low < x.mean() < high) and se < 0.01
    True
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.all(x == x[0]):
        v = float(x[0]) if len(x) else math.nan
        return v, v, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's "degenerate distribution" warning: handled above
        res = stats.bootstrap((x,), np.mean, method="BCa", n_resamples=n_resamples, confidence_level=confidence,
                              batch=_boot_batch(len(x)), rng=rng)
    a = (1.0 - confidence) / 2.0
    mc_se = float(res.standard_error) * math.sqrt(a * (1 - a) / n_resamples) / float(stats.norm.pdf(stats.norm.ppf(a)))
    return float(res.confidence_interval.low), float(res.confidence_interval.high), mc_se


def _boot_batch(n: int) -> int:
    """Resamples per batch: 200 (as always) up to 2,000 seeds, fewer above, so memory stays ~16 MB at any n."""
    return 200 if n <= 2000 else max(1, 400_000 // n)


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Distribution-free interval of the median from order statistics (``scipy.stats.quantile_test``).

    Needs no assumption on the shape of the distribution (good for skewed
    metrics such as losses), but a sample too small to reach the level has
    none: at 95%, n < 6 (``[min, max]`` of 5 values covers the median 93.75% of
    the time). Returns ``(None, None)`` then.

    Examples
    --------
    >>> median_interval([3.0, 1.0, 2.0, 5.0, 4.0, 6.0])
    (1.0, 6.0)
    >>> median_interval([1.0, 2.0, 3.0])
    (None, None)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None, None
    ci = stats.quantile_test(x, q=float(np.median(x)), p=0.5).confidence_interval(confidence)
    return _num(ci.low), _num(ci.high)


def log_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Geometric mean and its t interval on the log scale, for positive, right-skewed metrics.

    ``exp`` of the Student t interval of ``log(values)``: an interval for the
    geometric mean (the median, when the values are lognormal). ``(None, None,
    None)`` unless every value is > 0 and n >= 2.

    Examples
    --------
    >>> g, low, high = log_interval([0.1, 0.2, 0.4, 0.8])
    >>> round(g, 4), low < g < high
    (0.2828, True)
    """
    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.any(x <= 0):
        return None, None, None
    logs = np.log(x)
    low, high = mean_interval(logs, confidence)
    return _num(math.exp(logs.mean())), _num(math.exp(low)), _num(math.exp(high))


def strongly_skewed(values: Sequence[float]) -> bool:
    """True when positive values look lognormal rather than normal, enough for it to matter.

    Every value > 0, n >= 3, the sd of the logs >= :data:`SKEW_LOG_SD` (0.25: a
    lognormal skewness of 0.8), and the profile log-likelihood of a lognormal
    fit (the Jacobian of the log included) above that of a normal fit: Box-Cox
    lambda = 0 preferred to lambda = 1. Fires in 80% / 92% of samples of 5 / 10
    lognormal(sigma=1) values and never for an accuracy-like normal metric
    (``scripts/bench_coverage.py``).

    Examples
    --------
    >>> strongly_skewed([0.2, 0.5, 0.3, 2.9, 0.8]), strongly_skewed([0.71, 0.64, 0.69, 0.75, 0.70])
    (True, False)
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 3 or not np.all(np.isfinite(x)) or np.any(x <= 0) or np.all(x == x[0]):
        return False
    y = np.log(x)
    if y.std(ddof=1) < SKEW_LOG_SD:
        return False
    normal = -0.5 * n * math.log(x.var())
    lognormal = -0.5 * n * math.log(y.var()) - float(y.sum())
    return lognormal > normal


def lognormal_mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Interval of the mean of lognormal values: the modified Cox method (Olsson 2005, J. Stat. Educ. 13).

    With ``y = log(values)`` (mean ``ybar``, variance ``s2``):
    ``exp(ybar + s2/2 +/- t_{n-1} sqrt(s2/n + s2^2 / (2 (n - 1))))``. ``(None,
    None)`` unless every value is > 0 and n >= 2.

    Examples
    --------
    >>> low, high = lognormal_mean_interval([0.2, 0.5, 0.3, 2.9, 0.8])
    >>> round(low, 3), round(high, 3)
    (0.191, 5.272)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2 or np.any(x <= 0):
        return None, None
    y = np.log(x)
    s2 = float(y.var(ddof=1))
    centre = float(y.mean()) + s2 / 2
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(s2 / n + s2 * s2 / (2 * (n - 1)))
    return _num(math.exp(centre - half)), _num(math.exp(centre + half))


def headline_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None, str]:
    """The summary's interval of the mean, and which it is (:data:`CI_METHODS`).

    The Student t interval; for :func:`strongly_skewed` values the lognormal-mean
    interval, which covers 0.89 / 0.92 at n = 5 / 10 on lognormal(sigma=1) values
    where t covers 0.82 / 0.84, and leaves normal metrics alone (0.95); ``"t,
    skewed"`` when values the log cannot take (zero or negative) have a sample
    skewness >= :data:`SKEW_FLAG`: the t interval then covers less than its level.

    Examples
    --------
    >>> headline_interval([0.2, 0.5, 0.3, 2.9, 0.8])[2], headline_interval([0.71, 0.64, 0.69, 0.75, 0.70])[2]
    ('lognormal-mean', 't')
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None, None, "t"
    if strongly_skewed(x):
        low, high = lognormal_mean_interval(x, confidence)
        return low, high, "lognormal-mean"
    low, high = mean_interval(x, confidence)
    method = "t"
    if len(x) >= 5 and not np.all(x == x[0]) and np.any(x <= 0):
        if float(stats.skew(x, bias=False)) >= SKEW_FLAG:
            method = "t, skewed"
    return _num(low), _num(high), method


def describe(values: Sequence[float], rng: np.random.Generator, *, n_resamples: int = 2000,
             confidence: float = 0.95, bootstrap_min_n: int = 20) -> dict[str, float | None]:
    """The statistics of one group and metric (see :data:`STAT_NAMES`).

    ``ci_low``/``ci_high`` is the headline interval of the mean
    (:func:`headline_interval`: Student t, or the lognormal-mean interval for
    strongly skewed positive values; ``ci_method`` says which), ``None`` at n < 2. ``boot_ci_*`` is the BCa
    bootstrap interval, computed only when n >= ``bootstrap_min_n``.
    ``n_nonfinite`` is left for the caller (values here are the finite ones).

    Examples
    --------
    >>> s = describe([0.71, 0.64, 0.69, 0.75, 0.70], np.random.default_rng(0))
    >>> s["n"], round(s["mean"], 3), s["boot_ci_low"]
    (5, 0.698, None)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    n = len(x)
    out: dict[str, float | None] = {k: None for k in STAT_NAMES}
    out.update(n=n, n_nonfinite=0)
    if n == 0:
        return out
    constant = bool(np.all(x == x[0]))  # exactly 0, not the 1e-16 rounding of the mean leaves
    mean = float(x[0]) if constant else float(x.mean())
    out.update(mean=mean, median=float(np.median(x)), iqm=float(stats.trim_mean(x, 0.25)),
               min=float(x.min()), max=float(x.max()))
    if n >= 2:
        std = 0.0 if constant else float(x.std(ddof=1))
        low, high, method = headline_interval(x, confidence)
        out.update(std=std, sem=std / math.sqrt(n), ci_low=_num(low), ci_high=_num(high), ci_method=method)
        out["median_ci_low"], out["median_ci_high"] = median_interval(x, confidence)
        out["gmean"], out["gmean_ci_low"], out["gmean_ci_high"] = log_interval(x, confidence)
    if n >= bootstrap_min_n:
        b_low, b_high, mc_se = bootstrap_interval(x, rng, n_resamples=n_resamples, confidence=confidence)
        out.update(boot_ci_low=_num(b_low), boot_ci_high=_num(b_high), boot_mc_se=_num(mc_se))
    return out


# --------------------------------------------------------------------------- pairs


def _sign_flip(d: np.ndarray, n_resamples: int, seed: np.random.SeedSequence, axis: int = -1) -> Any:
    from scipy import stats

    def mean(x: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x, axis=axis)

    return stats.permutation_test((d,), mean, permutation_type="samples", vectorized=True, n_resamples=n_resamples,
                                  alternative="two-sided", axis=axis, rng=np.random.Generator(np.random.PCG64(seed)))


def paired_pvalue(diffs: Any, *, test: str = "t", n_resamples: int = 2000,
                  seed: np.random.SeedSequence | int = 0, axis: int = -1) -> Any:
    """Two-sided p-value of "mean difference = 0" from per-seed differences (vectorised along ``axis``).

    ``test="t"``: the paired t-test (``scipy.stats.ttest_1samp`` on the
    differences, the same as ``ttest_rel`` on the pairs). ``test="permutation"``:
    the sign-flip permutation test (``scipy.stats.permutation_test``; exact when
    2**n <= ``n_resamples``). Its smallest p-value is 2 / 2**n: at n <= 5 it
    cannot reject at the 5% level. NaN where undefined: n < 2, or differences
    that do not vary (all equal: no test can say how likely they are by chance).

    Examples
    --------
    >>> round(float(paired_pvalue([0.02, 0.03, 0.01, 0.025, 0.015])), 4)
    0.0048
    >>> float(paired_pvalue([0.02, 0.03, 0.01, 0.025, 0.015], test="permutation"))
    0.0625
    """
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if d.shape[axis] < 2:
        return np.full(np.delete(d.shape, axis % d.ndim), np.nan)[()] if d.ndim > 1 else math.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if test == "t":
            p = np.asarray(stats.ttest_1samp(d, 0.0, axis=axis).pvalue, dtype=float)
        else:
            seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
            p = np.asarray(_sign_flip(d, n_resamples, seq, axis).pvalue, dtype=float)
        p = np.where(np.all(d == np.take(d, [0], axis=axis), axis=axis), np.nan, p)  # no spread: no test
    return float(p) if p.ndim == 0 else p


def difference_interval(diffs: Sequence[float], *, test: str = "t", confidence: float = 0.95,
                        n_resamples: int = 2000, seed: np.random.SeedSequence | int = 0) -> tuple[float | None, float | None]:
    """Interval of the mean difference, from the same method as the test.

    ``test="t"``: the paired t interval. ``test="permutation"``: the set of
    shifts ``delta`` that the sign-flip test of ``diffs - delta`` does not
    reject, found by bisection on each side with the same sign flips for every
    ``delta`` (so that the p-value is a consistent function of it). ``(None,
    None)`` when the test cannot reject at this level at all (n <= 5 at 95%).

    Examples
    --------
    >>> low, high = difference_interval([0.02, 0.03, 0.01, 0.025, 0.015])
    >>> round(low, 4), round(high, 4)
    (0.0102, 0.0298)
    """
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n < 2:
        return None, None
    if test == "t":
        low, high = mean_interval(d, confidence)
        return _num(low), _num(high)
    alpha = 1.0 - confidence
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if 2.0 / 2**n > alpha and 2**n <= n_resamples:
        return None, None
    if np.all(d == d[0]):
        return float(d[0]), float(d[0])

    def p_at(delta: float) -> float:
        return float(_sign_flip(d - delta, n_resamples, seq).pvalue)

    center, spread = float(d.mean()), float(d.max() - d.min())
    bounds = []
    for direction in (-1.0, 1.0):
        inside, outside = center, center + direction * 2 * spread
        if p_at(outside) > alpha:  # never rejects, even far away (random flips, tiny n)
            return None, None
        for _ in range(40):
            mid = (inside + outside) / 2
            if p_at(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) <= 1e-6 * spread:
                break
        bounds.append(inside)
    return bounds[0], bounds[1]


def effect_size_dz(diffs: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Cohen's d_z = mean(diff) / sd(diff), with an interval from the noncentral t distribution.

    The interval inverts ``scipy.stats.nct``: its bounds are the noncentrality
    parameters under which the observed t = d_z sqrt(n) sits at the upper and
    lower ``(1 - confidence) / 2`` tails, divided by sqrt(n).

    Examples
    --------
    >>> dz, low, high = effect_size_dz([0.02, 0.03, 0.01, 0.025, 0.015])
    >>> round(dz, 3), round(low, 3), round(high, 3)
    (2.53, 0.619, 4.408)
    """
    from scipy import optimize, stats

    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n < 2:
        return None, None, None
    sd = float(d.std(ddof=1))
    if sd == 0 or not math.isfinite(sd):
        return None, None, None
    dz = float(d.mean()) / sd
    t_obs, df, a = dz * math.sqrt(n), n - 1, (1.0 - confidence) / 2.0

    def solve(target: float) -> float | None:
        def f(nc: float) -> float:
            return float(stats.nct.cdf(t_obs, df, nc)) - target

        width = 2.0 + abs(t_obs)
        lo, hi = t_obs - width, t_obs + width
        for _ in range(60):
            if f(lo) > 0:
                break
            lo -= width
            width *= 2
        for _ in range(60):
            if f(hi) < 0:
                break
            hi += width
            width *= 2
        if not (f(lo) > 0 > f(hi)):
            return None
        return float(optimize.brentq(f, lo, hi, xtol=1e-10))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        nc_low, nc_high = solve(1.0 - a), solve(a)
    return (dz, None if nc_low is None else nc_low / math.sqrt(n), None if nc_high is None else nc_high / math.sqrt(n))


def win_rate(a: Sequence[float], b: Sequence[float], *, higher_is_better: bool = True,
             confidence: float = 0.95) -> dict[str, Any]:
    """How often A beats B on a shared seed: k of n, with an exact (Clopper-Pearson) interval.

    A "win" is a seed where A's metric is better by the metric's direction;
    ties are counted apart: out of the denominator, as a sign test does. The
    rate is k wins of the m = wins + losses seeds that are not ties, and its
    interval ``scipy.stats.binomtest(k, m).proportion_ci(method="exact")``;
    none when every seed is a tie.

    Examples
    --------
    >>> w = win_rate([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 1.0, 4.0])
    >>> w["wins"], w["losses"], w["ties"], round(w["win_rate"], 3)
    (2, 1, 1, 0.667)
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not higher_is_better:
        d = -d
    n = len(d)
    wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
    out: dict[str, Any] = {"wins": wins, "losses": losses, "ties": n - wins - losses,
                           "win_rate": None, "win_rate_ci_low": None, "win_rate_ci_high": None}
    decided = wins + losses  # ties apart: out of the denominator
    if decided:
        ci = stats.binomtest(wins, decided).proportion_ci(confidence, method="exact")
        out.update(win_rate=wins / decided, win_rate_ci_low=float(ci.low), win_rate_ci_high=float(ci.high))
    return out


def adjust_pvalues(pvalues: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values across a family (``statsmodels.stats.multitest.multipletests``).

    ``method``: ``"holm"`` (family-wise error, any dependence), ``"bh"``
    (Benjamini-Hochberg false discovery rate) or ``"none"``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, 0.5]).tolist()
    [0.04, 0.09, 0.09, 0.5]
    """
    p = np.asarray(pvalues, dtype=float)
    if method == "none" or p.size == 0:
        return p.copy()
    from statsmodels.stats.multitest import multipletests

    return np.asarray(multipletests(p, method=_STATSMODELS_METHOD[method])[1], dtype=float)


def paired(a: Sequence[float], b: Sequence[float], rng: np.random.Generator | np.random.SeedSequence | int = 0, *,
           test: str = "t", n_resamples: int = 2000, confidence: float = 0.95,
           higher_is_better: bool = True) -> dict[str, Any]:
    """Compare two configurations seed by seed: ``a[i]`` and ``b[i]`` share a seed.

    Returns the number of pairs, the mean difference ``a - b`` with its
    interval and the two-sided p-value of the ONE declared ``test``
    (:func:`paired_pvalue`, :func:`difference_interval`), the standard
    deviation of the differences, the effect size d_z with its interval
    (:func:`effect_size_dz`) and the win rate of A (:func:`win_rate`).
    ``rng`` seeds the permutation test's sign flips (unused by the t-test).

    Examples
    --------
    >>> r = paired([0.72, 0.70, 0.75, 0.71, 0.74], [0.70, 0.67, 0.74, 0.685, 0.725])
    >>> round(r["mean_diff"], 3), round(r["pvalue"], 4), r["wins"]
    (0.02, 0.0048, 5)
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = xa - xb
    n = len(d)
    if isinstance(rng, np.random.Generator):
        seed = np.random.SeedSequence(int(rng.integers(0, 2**63)))
    else:
        seed = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
    p = paired_pvalue(d, test=test, n_resamples=n_resamples, seed=seed) if n >= 2 else math.nan
    low, high = difference_interval(d, test=test, confidence=confidence, n_resamples=n_resamples, seed=seed)
    dz, dz_low, dz_high = effect_size_dz(d, confidence)
    exact = test == "t" or 2**n <= n_resamples
    return {
        "n_pairs": n,
        "mean_diff": _num(d.mean()) if n else None,
        "sd_diff": _num(d.std(ddof=1)) if n >= 2 else None,
        "ci_low": _num(low), "ci_high": _num(high),
        "test": test,
        "pvalue": _num(p),
        "p_mc_se": None if exact or p is None or not math.isfinite(p) else math.sqrt(p * (1 - p) / n_resamples),
        "min_pvalue": (2.0 / 2**n if test == "permutation" and exact else None),
        "d_z": _num(dz), "d_z_ci_low": _num(dz_low), "d_z_ci_high": _num(dz_high),
        **win_rate(xa, xb, higher_is_better=higher_is_better, confidence=confidence),
    }
