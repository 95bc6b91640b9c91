"""Sweep records -> statistics per configuration and metric, and paired comparisons.

:func:`summarize` is a pure function of the run records (and the options):
the same records give the same summary, bit for bit, every time.
:func:`aggregate` reads the records (and the sweep's plan, ``sweep.json``) of a
sweep directory and summarizes them. Runs are grouped by their overrides minus
the seed (:func:`seedexp.record.group_of`): one group per configuration.

Data shape: for each group and metric, a 1-D array of the finite values of
its successful runs, one per seed; two groups are compared on the seeds they
share, as pairs.

What the numbers are (the level is ``confidence``, 0.95 by default):

* **headline interval** of a mean: Student t (:func:`mean_interval`). It holds
  its level at 3-10 seeds on normal data, where a percentile bootstrap covers
  76-90% (``scripts/bench_coverage.py``). None at n < 2; flagged at n < 5.
* **bootstrap**: BCa (:func:`bootstrap_interval`), a second, labelled column
  shown only from ``bootstrap_min_n`` seeds (20) on, where it is valid.
* **skewed metrics**: the median with a distribution-free interval
  (:func:`median_interval`) and, for positive values, the geometric mean with a
  t interval on the log scale (:func:`log_interval`).
* **one declared paired test** per comparison (:func:`paired`): paired t
  (``test="t"``) or a sign-flip permutation test (``test="permutation"``),
  the interval of the mean difference from the same method, the effect size
  d_z with its interval, and the win rate with an exact binomial interval.
* **multiple comparisons**: Holm (``correction="holm"``) or Benjamini-Hochberg
  (``"bh"``) across every comparison of the summary (:func:`adjust_pvalues`);
  with a ``primary_metric``, its comparisons form their own family.

Every estimator comes from scipy or statsmodels; this module arranges them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import warnings
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .curves import CURVE_DEFAULTS, check_curve_options, curves_of_sweep, find_series
from .errors import ConfigError, RecordError
from .record import RECORD_NAME, read_record
from .seeds import check_seed, stream_key

__all__ = [
    "SUMMARY_SCHEMA", "SWEEP_SCHEMA", "STAT_NAMES", "DEFAULTS", "RUN_STATUSES",
    "check_options", "higher_is_better_default", "mean_interval", "bootstrap_interval",
    "median_interval", "log_interval", "describe", "paired_pvalue", "difference_interval",
    "effect_size_dz", "win_rate", "adjust_pvalues", "paired", "summarize", "load_records",
    "load_plan", "aggregate",
]

SUMMARY_SCHEMA = "seedexp.summary/2"
#: The sweeper's list of planned runs, ``<sweep_dir>/sweep.json``.
SWEEP_SCHEMA = "seedexp.sweep/1"
SWEEP_NAME = "sweep.json"

#: What became of a run: ``crashed`` is a record left at ``running`` (the
#: process died); ``missing`` a planned run with no record at all.
RUN_STATUSES = ("ok", "failed", "crashed", "missing")

#: Statistics computed per group and metric, in the order of summary.csv.
STAT_NAMES = (
    "n", "n_nonfinite", "mean", "std", "sem", "ci_low", "ci_high",
    "median", "median_ci_low", "median_ci_high", "iqm", "min", "max",
    "boot_ci_low", "boot_ci_high", "boot_mc_se", "gmean", "gmean_ci_low", "gmean_ci_high",
)

#: Below this many seeds the summary warns that the interval is wide and leans on normality.
SMALL_N = 5

#: Metric names containing one of these are "lower is better" unless told otherwise.
LOWER_IS_BETTER_WORDS = ("loss", "error", "mse", "mae", "rmse")

#: The report options: defaults, which are also the ``report:`` keys of the config.
DEFAULTS: dict[str, Any] = {
    "confidence": 0.95,
    "n_resamples": 2000,
    "bootstrap_seed": 0,
    "bootstrap_min_n": 20,
    "test": "t",
    "correction": "holm",
    "baseline": None,
    "primary_metric": None,
    "higher_is_better": None,
    "target_halfwidth": None,
    "target_difference": None,
    "power": 0.8,
    **CURVE_DEFAULTS,  # curve_align, curve_threshold, curve_points (seedexp.curves)
}
TESTS = ("t", "permutation")
CORRECTIONS = ("holm", "bh", "none")
_STATSMODELS_METHOD = {"holm": "holm", "bh": "fdr_bh"}
_RESAMPLES_RANGE = (100, 100_000)
_MIN_N_RANGE = (5, 1_000_000)
#: How each option is spelled on the command line (the rest: ``--name-with-dashes``).
_FLAGS = {"n_resamples": "--resamples"}


def _label(name: str, style: str) -> str:
    if style == "cli":
        return _FLAGS.get(name, "--" + name.replace("_", "-"))
    if style == "config":
        return f"report.{name}"
    return name


def _number(value: Any, label: str, *, integer: bool, span: str = "") -> float | int:
    """A number from a Python value or its text (the command line passes text)."""
    kind = ("an integer" if integer else "a number") + (f" in {span}" if span else "")
    if isinstance(value, bool):
        raise ConfigError(f"{label}={value!r}: expected {kind}, not a bool")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not re.fullmatch(r"\s*[+-]?\d+\s*", value) else int(value)
        except ValueError:
            raise ConfigError(f"{label}={value!r}: expected {kind}") from None
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{label}={value!r}: expected {kind}, got {type(value).__name__}")
    if integer:
        if isinstance(value, (float, np.floating)):
            if not (math.isfinite(value) and float(value).is_integer()):
                raise ConfigError(f"{label}={value!r}: expected {kind}")
        return int(value)
    return float(value)


def _in_range(value: Any, label: str, low: float, high: float, *, integer: bool, open_: bool = False,
              example: str = "") -> Any:
    span = f"({low:g}, {high:g})" if open_ else f"[{low:g}, {high:g}]"
    x = _number(value, label, integer=integer, span=span)
    ok = (low < x < high) if open_ else (low <= x <= high)
    if not ok or (not integer and not math.isfinite(x)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{label}={value!r} is out of range: expected {kind} in {span}"
                          + (f", e.g. {label}={example}" if example else ""))
    return x


def _per_metric(value: Any, label: str, example: str) -> float | dict[str, float] | None:
    """``None``, a positive number, or ``{metric: positive number}`` (text: ``a=0.01,b=0.02``)."""
    if value is None:
        return None
    if isinstance(value, str) and "=" in value:
        value = dict(item.split("=", 1) for item in value.split(",") if item.strip())
    if isinstance(value, Mapping):
        return {str(k).strip(): _in_range(v, f"{label} {str(k).strip()}", 0, math.inf, integer=False, open_=True,
                                          example=example)
                for k, v in value.items()}
    return _in_range(value, label, 0, math.inf, integer=False, open_=True, example=example)


def check_options(options: Mapping[str, Any] | None = None, *, style: str = "python", **values: Any) -> dict[str, Any]:
    """Validate the report options; return all of them, defaults filled in.

    The ONE place where report options are checked, whichever way they came
    (keyword arguments, the ``report:`` block of the config, command-line flags):
    every error is one line naming the option as the user spelled it, the
    value and the accepted range.

    Parameters
    ----------
    options : mapping, optional
        Option name -> value (the keys of :data:`DEFAULTS`); ``values`` are added to it.
    style : {"python", "cli", "config"}
        How to name an option in an error: ``n_resamples``, ``--resamples``
        or ``report.n_resamples``.

    Returns
    -------
    dict
        Every key of :data:`DEFAULTS`, validated and normalised.

    Raises
    ------
    ConfigError
        An unknown option, or a value out of its range.

    Examples
    --------
    >>> check_options(confidence=0.9)["confidence"]
    0.9
    >>> check_options({"n_resamples": "0"}, style="cli")
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: --resamples='0' is out of range: expected an integer in [100, 100000], e.g. --resamples=2000
    """
    given = {**(options or {}), **values}
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown report option(s) {', '.join(_label(u, style) for u in unknown)}; "
                          f"known: {', '.join(_label(k, style) for k in DEFAULTS)}")
    out = {**DEFAULTS, **{k: v for k, v in given.items()}}
    lab = {k: _label(k, style) for k in DEFAULTS}
    out["confidence"] = _in_range(out["confidence"], lab["confidence"], 0, 1, integer=False, open_=True, example="0.95")
    out["n_resamples"] = _in_range(out["n_resamples"], lab["n_resamples"], *_RESAMPLES_RANGE, integer=True,
                                   example="2000")
    out["bootstrap_min_n"] = _in_range(out["bootstrap_min_n"], lab["bootstrap_min_n"], *_MIN_N_RANGE, integer=True,
                                       example="20")
    out["power"] = _in_range(out["power"], lab["power"], 0, 1, integer=False, open_=True, example="0.8")
    seed = out["bootstrap_seed"]
    if isinstance(seed, str) and re.fullmatch(r"\s*[+-]?\d+\s*", seed):
        seed = int(seed)
    out["bootstrap_seed"] = check_seed(seed, lab["bootstrap_seed"])
    for key, choices in (("test", TESTS), ("correction", CORRECTIONS)):
        if out[key] not in choices:
            raise ConfigError(f"{lab[key]}={out[key]!r}: expected one of {', '.join(choices)}")
    for key in ("baseline", "primary_metric"):
        if out[key] is not None and (not isinstance(out[key], str) or not out[key].strip()):
            raise ConfigError(f"{lab[key]}={out[key]!r}: expected a non-empty name, or null")
    hib = out["higher_is_better"]
    if hib is not None:
        if not isinstance(hib, Mapping) or not all(isinstance(v, bool) for v in hib.values()):
            raise ConfigError(f"{lab['higher_is_better']}={hib!r}: expected a mapping of metric name -> true/false, "
                              f"e.g. {{test_loss: false}}")
        out["higher_is_better"] = {str(k): bool(v) for k, v in hib.items()}
    out["target_halfwidth"] = _per_metric(out["target_halfwidth"], lab["target_halfwidth"], "0.01")
    out["target_difference"] = _per_metric(out["target_difference"], lab["target_difference"], "0.02")
    check_curve_options(out, lab.__getitem__)
    return out


def higher_is_better_default(metric: str) -> bool:
    """The direction of a metric from its name: losses and errors are lower-is-better.

    Examples
    --------
    >>> higher_is_better_default("test_f1"), higher_is_better_default("val_loss"), higher_is_better_default("rmse")
    (True, False, False)
    """
    name = metric.lower()
    return not any(word in name for word in LOWER_IS_BETTER_WORDS)


def _num(x: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _rng(bootstrap_seed: int, *names: str) -> np.random.Generator:
    """A generator per (group, metric): independent of the order groups come in."""
    seq = np.random.SeedSequence(entropy=bootstrap_seed, spawn_key=tuple(stream_key(n) for n in names))
    return np.random.Generator(np.random.PCG64(seq))


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


def describe(values: Sequence[float], rng: np.random.Generator, *, n_resamples: int = 2000,
             confidence: float = 0.95, bootstrap_min_n: int = 20) -> dict[str, float | None]:
    """The statistics of one group and metric (see :data:`STAT_NAMES`).

    ``ci_low``/``ci_high`` is the headline Student t interval of the mean
    (:func:`mean_interval`), ``None`` at n < 2. ``boot_ci_*`` is the BCa
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
        low, high = mean_interval(x, confidence)
        out.update(std=std, sem=std / math.sqrt(n), ci_low=_num(low), ci_high=_num(high))
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
    ties are counted apart (and are not wins). The interval is
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")`` of k / n.

    Examples
    --------
    >>> w = win_rate([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 1.0, 4.0])
    >>> w["wins"], w["losses"], w["ties"], w["win_rate"]
    (2, 1, 1, 0.5)
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not higher_is_better:
        d = -d
    n = len(d)
    wins, losses = int(np.sum(d > 0)), int(np.sum(d < 0))
    out: dict[str, Any] = {"wins": wins, "losses": losses, "ties": n - wins - losses,
                           "win_rate": None, "win_rate_ci_low": None, "win_rate_ci_high": None}
    if n:
        ci = stats.binomtest(wins, n).proportion_ci(confidence, method="exact")
        out.update(win_rate=wins / n, win_rate_ci_low=float(ci.low), win_rate_ci_high=float(ci.high))
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


# --------------------------------------------------------------------------- records -> summary

#: Fields :func:`summarize` reads from a record (``metrics`` only for ok runs;
#: ``error`` and ``path`` are optional).
RECORD_FIELDS = ("group", "seed", "status", "metrics", "error", "path")


class _Run(dict):
    """A run as :func:`load_records` builds it: already in :func:`_check_record`'s form (no second copy)."""

    __slots__ = ()


def _check_record(i: int, rec: Any) -> dict[str, Any]:
    if type(rec) is _Run:
        return rec
    where = f"record #{i}" + (f" ({rec.get('path')})" if isinstance(rec, Mapping) and rec.get("path") else "")
    if not isinstance(rec, Mapping):
        raise RecordError(f"{where} is a {type(rec).__name__}, not a dict; summarize needs dicts with "
                          "group, seed, status (and metrics when ok)")
    for key in ("group", "seed", "status"):
        if key not in rec:
            raise RecordError(f"{where} has no {key!r} field; summarize needs group, seed, status "
                              "(and metrics when ok), as in result.json")
    if not isinstance(rec["group"], str):
        raise RecordError(f"{where}: group={rec['group']!r} is not a str")
    if isinstance(rec["seed"], bool) or not isinstance(rec["seed"], (int, np.integer)):
        raise RecordError(f"{where}: seed={rec['seed']!r} is not an int")
    if rec["status"] not in ("ok", "failed", "running", "crashed"):
        raise RecordError(f"{where}: status={rec['status']!r} is not one of ok, failed, running")
    metrics = rec.get("metrics") or {}
    if rec["status"] == "ok" and ("metrics" not in rec or not isinstance(metrics, Mapping)):
        raise RecordError(f"{where} is ok but has no 'metrics' dict")
    return {"group": rec["group"], "seed": int(rec["seed"]),
            "status": "crashed" if rec["status"] in ("running", "crashed") else rec["status"],
            "path": None if rec.get("path") is None else PurePosixPath(str(rec["path"])).as_posix(),
            "metrics": dict(metrics) if rec["status"] == "ok" else {},
            "error": dict(rec.get("error") or {})}


def _runs(records: Iterable[Mapping[str, Any]], planned: Sequence[Mapping[str, Any]] | None) -> tuple[list[dict], list[str]]:
    """Every run with its status: records matched to the plan; planned runs with no record are missing."""
    notes: list[str] = []
    runs = [_check_record(i, r) for i, r in enumerate(records)]
    by_key: dict[tuple[str, int], dict] = {}
    for r in sorted(runs, key=lambda r: (r["path"] or "")):
        key = (r["group"], r["seed"])
        if key in by_key:
            notes.append(f"two records for seed {r['seed']} of {r['group']!r} ({by_key[key]['path']}, {r['path']}): "
                         "the first is used")
            continue
        by_key[key] = r
    runs = list(by_key.values())
    if planned is not None:
        by_path = {r["path"]: r for r in runs if r["path"]}
        for i, p in enumerate(planned):
            if not isinstance(p, Mapping) or not isinstance(p.get("group"), str):
                raise RecordError(f"planned run #{i} ({p!r}) needs a str 'group' and an int 'seed'")
            seed = p.get("seed")
            path = None if p.get("path") is None else PurePosixPath(str(p["path"])).as_posix()
            if path and path in by_path:
                continue
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                notes.append(f"planned run #{i} of {p['group']!r} has seed {seed!r}, not an int: "
                             "it cannot be matched to a record, so it is not counted")
                continue
            key = (p["group"], int(seed))
            if key not in by_key:
                by_key[key] = {"group": p["group"], "seed": int(seed), "status": "missing", "path": path,
                               "metrics": {}, "error": {}}
                runs.append(by_key[key])
    runs.sort(key=lambda r: (r["group"], r["seed"]))
    return runs, notes


def _resolve_baseline(baseline: str, groups: Sequence[str]) -> str:
    if baseline in groups:
        return baseline
    parts = {p.strip() for p in baseline.split(",") if p.strip()}
    matches = [g for g in groups if parts <= set(g.split(","))]
    if len(matches) == 1:
        return matches[0]
    what = "matches no group" if not matches else f"matches {len(matches)} groups"
    raise ConfigError(f"baseline {baseline!r} {what}; the groups are: {'; '.join(groups)}. "
                      "Name one of them, or overrides only it has (e.g. experiment.model=lr)")


def _methods(opt: Mapping[str, Any]) -> dict[str, str]:
    level = f"{100 * opt['confidence']:g}%"
    alpha = f"{1 - opt['confidence']:.3g}"
    test = ("paired t-test on the per-seed differences (scipy.stats.ttest_rel), two-sided"
            if opt["test"] == "t" else
            f"sign-flip permutation test of the mean difference (scipy.stats.permutation_test, exact when "
            f"2^n <= {opt['n_resamples']} resamples), two-sided; smallest possible p = 2/2^n")
    correction = {"holm": "Holm step-down (family-wise error <= alpha, any dependence)",
                  "bh": "Benjamini-Hochberg (false discovery rate <= alpha)",
                  "none": "none: p-values are per comparison (uncorrected)"}[opt["correction"]]
    return {
        "interval": f"Student t interval of the mean, {level}, n-1 degrees of freedom; none at n < 2, "
                    f"flagged at n < {SMALL_N}",
        "bootstrap": f"BCa bootstrap interval of the mean, {level}, {opt['n_resamples']} resamples "
                     f"(scipy.stats.bootstrap), seed {opt['bootstrap_seed']} per (group, metric); "
                     f"second column, from n >= {opt['bootstrap_min_n']} only",
        "median_interval": f"distribution-free {level} interval of the median from order statistics "
                           "(scipy.stats.quantile_test); none when n is too small to reach the level",
        "log_interval": f"geometric mean with a {level} t interval on the log scale (positive values only)",
        "test": test,
        "difference_interval": f"{level} interval of the mean difference from the same method "
                               + ("(paired t)" if opt["test"] == "t" else "(inverted sign-flip test)")
                               + "; per comparison, not adjusted",
        "correction": correction + f", across all comparisons"
                      + (" of the primary metric, and separately across the others" if opt["primary_metric"] else ""),
        "alpha": alpha,
        "effect_size": f"d_z = mean(diff) / sd(diff), {level} interval by inverting the noncentral t distribution",
        "win_rate": f"share of shared seeds where A is better by the metric's direction (ties apart), "
                    f"exact Clopper-Pearson {level} interval (scipy.stats.binomtest)",
        "planning": f"seeds for a {level} t interval of half-width target_halfwidth, treating the observed std as "
                    f"the true one; seeds for {100 * opt['power']:g}% power of the paired t-test at a "
                    "difference of target_difference (statsmodels TTestPower), at alpha / (number of "
                    "comparisons) when corrected",
        "survivorship": "per metric: seeds lost (not ok, or a non-finite value); a group whose loss rate differs "
                        "from the others' (Fisher exact test, Holm-adjusted) is flagged",
    }


def _versions() -> dict[str, str]:
    from importlib import metadata

    from . import __version__

    out = {"python": ".".join(map(str, sys.version_info[:3])), "seedexp": __version__}
    for name in ("numpy", "scipy", "statsmodels"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _survivorship(groups: list[dict], metrics: list[str], opt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per metric: groups whose share of lost seeds differs from the rest (Fisher exact, Holm)."""
    from scipy import stats

    flags = []
    if len(groups) < 2:
        return flags
    for metric in metrics:
        lost = [g["n_runs"] - g["metrics"][metric]["n"] for g in groups]
        total = [g["n_runs"] for g in groups]
        if len(set(l / t if t else 0 for l, t in zip(lost, total))) <= 1:
            continue
        pvals = []
        for i in range(len(groups)):
            rest_lost, rest_total = sum(lost) - lost[i], sum(total) - total[i]
            table = [[lost[i], total[i] - lost[i]], [rest_lost, rest_total - rest_lost]]
            pvals.append(float(stats.fisher_exact(table).pvalue))
        adj = adjust_pvalues(pvals, "holm")
        for g, l, t, p, pa in zip(groups, lost, total, pvals, adj):
            flags.append({"metric": metric, "group": g["group"], "lost": l, "n_runs": t, "pvalue": p,
                          "p_adjusted": float(pa), "flagged": bool(pa < 1 - opt["confidence"])})
    return flags


def summarize(records: Iterable[Mapping[str, Any]], *, planned: Sequence[Mapping[str, Any]] | None = None,
              series_metrics: Sequence[str] = (), **options: Any) -> dict[str, Any]:
    """Statistics per group and metric, the status of every run, and the paired comparisons.

    Parameters
    ----------
    records : iterable of dict
        Run records (``result.json`` contents, or dicts with the same fields).
        Read: ``group`` (str), ``seed`` (int), ``status`` (``"ok"``, ``"failed"``
        or ``"running"``, the marker a run leaves when its process died: counted
        as *crashed*), ``metrics`` (``{name: float or None}``, for ok runs),
        ``error`` (``{type, message}``, optional) and ``path`` (optional: the run
        dir, relative to the sweep dir).
    planned : sequence of dict, optional
        The sweep's planned runs, ``{"group", "seed", "path"}`` each (from
        ``sweep.json``): a planned run with no record is counted as *missing*.
    series_metrics : sequence of str
        Metrics the runs logged as series (:mod:`seedexp.curves`): options may name them too.
    **options
        The report options (:data:`DEFAULTS`, checked by :func:`check_options`):
        ``confidence``, ``n_resamples``, ``bootstrap_seed``, ``bootstrap_min_n``,
        ``test``, ``correction``, ``baseline``, ``primary_metric``,
        ``higher_is_better``, ``target_halfwidth``, ``target_difference``, ``power``.

    Returns
    -------
    dict
        Schema ``seedexp.summary/2``: ``groups`` (per group: run counts by status
        and, per metric, :data:`STAT_NAMES`), ``comparisons``, ``planning``,
        ``runs`` (every run, planned ones included, with its status), ``not_ok``,
        ``survivorship``, ``warnings``, ``methods``, ``options``, ``versions``.

    Raises
    ------
    RecordError
        A record without one of the fields above (named).
    ConfigError
        An option out of range, or naming a metric or group that is not there.

    Examples
    --------
    >>> recs = [{"group": g, "seed": s, "status": "ok",
    ...          "metrics": {"acc": 0.7 + 0.01 * s + (g == "b") * (0.02 + 0.003 * (s % 2))}}
    ...         for g in "ab" for s in range(5)]
    >>> s = summarize(recs)
    >>> s["groups"][0]["metrics"]["acc"]["n"], s["comparisons"][0]["better"]
    (5, 'b')
    """
    from . import planning

    opt = check_options(options)
    runs, notes = _runs(records, planned)
    alpha = 1.0 - opt["confidence"]
    group_names = sorted({r["group"] for r in runs})
    metric_names = sorted({m for r in runs if r["status"] == "ok" for m in r["metrics"]})
    for key in ("higher_is_better", "target_halfwidth", "target_difference"):
        named = opt[key] if isinstance(opt[key], Mapping) else {}
        unknown = sorted(set(named) - set(metric_names) - (set(series_metrics) if key == "higher_is_better" else set()))
        if unknown:
            raise ConfigError(f"{key} names metric(s) {', '.join(unknown)} that no run reported; "
                              f"the metrics are: {', '.join(metric_names) or '(none)'}")
    if opt["primary_metric"] is not None and opt["primary_metric"] not in metric_names:
        raise ConfigError(f"primary_metric={opt['primary_metric']!r} is not a metric of these runs; "
                          f"they report: {', '.join(metric_names) or '(none)'}")
    baseline = _resolve_baseline(opt["baseline"], group_names) if opt["baseline"] is not None else None
    direction = {m: (opt["higher_is_better"] or {}).get(m, higher_is_better_default(m)) for m in metric_names}
    if opt["primary_metric"]:
        metric_names = [opt["primary_metric"], *[m for m in metric_names if m != opt["primary_metric"]]]

    def per_metric(value: Any, metric: str) -> float | None:
        return value.get(metric) if isinstance(value, Mapping) else value

    out_groups = []
    series: dict[tuple[str, str], dict[int, float]] = {}
    warn: list[str] = list(notes)
    for name in group_names:
        mine = [r for r in runs if r["group"] == name]
        ok = [r for r in mine if r["status"] == "ok"]
        counts = {f"n_{s}": sum(1 for r in mine if r["status"] == s) for s in RUN_STATUSES}
        stats_by_metric = {}
        for metric in metric_names:
            by_seed = {}
            nonfinite = 0
            for r in ok:
                v = r["metrics"].get(metric)
                if v is None or not math.isfinite(float(v)):
                    nonfinite += 1
                else:
                    by_seed[r["seed"]] = float(v)
            series[(name, metric)] = by_seed
            st = describe(list(by_seed.values()), _rng(opt["bootstrap_seed"], name, metric),
                          n_resamples=opt["n_resamples"], confidence=opt["confidence"],
                          bootstrap_min_n=opt["bootstrap_min_n"])
            st["n_nonfinite"] = nonfinite
            stats_by_metric[metric] = st
        out_groups.append({
            "group": name, "n_runs": len(mine), **counts,
            "seeds": [r["seed"] for r in ok],
            "not_ok": [{"seed": r["seed"], "status": r["status"], "path": r["path"]} for r in mine if r["status"] != "ok"],
            "metrics": stats_by_metric,
        })
    for g in out_groups:
        for metric in metric_names:
            n = g["metrics"][metric]["n"]
            if n < 2:
                warn.append(f"{metric}, {g['group']}: n={n}: no interval (it needs at least 2 seeds)")
            elif n < SMALL_N:
                warn.append(f"{metric}, {g['group']}: n={n} < {SMALL_N}: the interval is wide and leans on the "
                            "metric being close to normal across seeds; run more seeds")

    if baseline is not None:
        pairs = [(g, baseline) for g in group_names if g != baseline]
    else:
        pairs = list(itertools.combinations(group_names, 2))
    comparisons = []
    for metric in metric_names:
        for a, b in pairs:
            sa, sb = series[(a, metric)], series[(b, metric)]
            common = sorted(s for s in sa if s in sb)
            if len(common) < 2:
                continue
            res = paired([sa[s] for s in common], [sb[s] for s in common],
                         np.random.SeedSequence(opt["bootstrap_seed"], spawn_key=tuple(stream_key(x) for x in (a, b, metric))),
                         test=opt["test"], n_resamples=opt["n_resamples"], confidence=opt["confidence"],
                         higher_is_better=direction[metric])
            family = ("primary" if metric == opt["primary_metric"] else "secondary") if opt["primary_metric"] else "all"
            comparisons.append({"metric": metric, "a": a, "b": b, "family": family, **res})
    for family in sorted({c["family"] for c in comparisons}):
        members = [c for c in comparisons if c["family"] == family and c["pvalue"] is not None]
        adjusted = adjust_pvalues([c["pvalue"] for c in members], opt["correction"])
        for c, pa in zip(members, adjusted):
            c["p_adjusted"] = float(pa)
        for c in comparisons:
            if c["family"] == family:
                c["family_size"] = len(members)
    for c in comparisons:
        c.setdefault("p_adjusted", None)
        significant = c["p_adjusted"] is not None and c["p_adjusted"] < alpha
        c["significant"] = significant
        if significant:
            a_better = (c["mean_diff"] > 0) == direction[c["metric"]]
            c["better"] = c["a"] if a_better else c["b"]
        else:
            c["better"] = None
        if c["min_pvalue"] is not None and c["min_pvalue"] >= alpha:
            warn.append(f"{c['metric']}, {c['a']} vs {c['b']}: with {c['n_pairs']} pairs the permutation test "
                        f"cannot reach p < {alpha:.3g} (smallest p = {c['min_pvalue']:.4g}); run more seeds")

    targets = []
    for g in out_groups:
        for metric in metric_names:
            st = g["metrics"][metric]
            mine = [c for c in comparisons if c["metric"] == metric and g["group"] in (c["a"], c["b"])
                    and c["sd_diff"] is not None]
            targets.append(planning.plan_row(
                group=g["group"], metric=metric, n=st["n"], std=st["std"],
                sd_diffs=[c["sd_diff"] for c in mine],
                halfwidth=per_metric(opt["target_halfwidth"], metric),
                difference=per_metric(opt["target_difference"], metric),
                confidence=opt["confidence"], power=opt["power"],
                n_tests=max((c.get("family_size", 1) for c in mine), default=max(1, len(pairs)))
                if opt["correction"] != "none" else 1,
            ))

    survivorship = _survivorship(out_groups, metric_names, opt)
    for f in survivorship:
        if f["flagged"]:
            warn.append(f"{f['metric']}, {f['group']}: lost {f['lost']} of {f['n_runs']} seeds, a rate unlike the "
                        f"other groups' (Fisher p={f['pvalue']:.3g}, Holm {f['p_adjusted']:.3g}): statistics over "
                        "the surviving seeds may be biased")
    not_ok = [{"group": r["group"], "seed": r["seed"], "status": r["status"], "path": r["path"],
               **({"type": r["error"].get("type"), "message": r["error"].get("message")} if r["error"] else {}),
               **({"message": "the run's process died before it finished (its record still says running)"}
                  if r["status"] == "crashed" else {}),
               **({"message": "planned but no record: it never ran, or its directory was removed"}
                  if r["status"] == "missing" else {})}
              for r in runs if r["status"] != "ok"]
    counts = {f"n_{s}": sum(1 for r in runs if r["status"] == s) for s in RUN_STATUSES}
    return {
        "schema": SUMMARY_SCHEMA,
        "n_runs": len(runs),
        **counts,
        "n_not_ok": len(not_ok),
        "planned": planned is not None,
        "metrics": metric_names,
        "primary_metric": opt["primary_metric"],
        "baseline": baseline,
        "higher_is_better": direction,
        "groups": out_groups,
        "comparisons": comparisons,
        "planning": targets,
        "survivorship": survivorship,
        "not_ok": not_ok,
        "failures": [f for f in not_ok if f["status"] == "failed"],
        "bootstrap": {"seed": opt["bootstrap_seed"], "n_resamples": opt["n_resamples"],
                      "confidence": opt["confidence"], "min_n": opt["bootstrap_min_n"], "method": "BCa"},
        "warnings": warn,
        "options": opt,
        "methods": _methods(opt),
        "versions": _versions(),
        "runs": [{k: r[k] for k in ("group", "seed", "status", "path", "metrics")} for r in runs],
    }


def load_records(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every seedexp record under ``sweep_dir``, and a message per ``result.json`` that is not one.

    Each record gets ``path``: its run dir relative to ``sweep_dir`` (POSIX form).
    Records are validated by :func:`seedexp.record.read_record`, and only the
    fields a summary reads are kept (:data:`RECORD_FIELDS`: memory stays
    near 1 KB a run, not the whole record's config, streams and versions).
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise RecordError(f"sweep dir {str(sweep_dir)!r} does not exist; pass the directory the sweep wrote (hydra.sweep.dir)")
    records, problems = [], []
    for path in sorted(sweep_dir.rglob(RECORD_NAME)):
        try:
            record = read_record(path)
        except RecordError as exc:
            problems.append(str(exc))
            continue
        record["path"] = path.parent.relative_to(sweep_dir).as_posix()
        try:
            run = _check_record(len(records), record)  # the fields a summary reads, nothing else
        except RecordError as exc:
            problems.append(str(exc))
            continue
        run["group"] = sys.intern(run["group"])  # one string per group, not one per run
        run["metrics"] = {sys.intern(k): v for k, v in run["metrics"].items()}
        records.append(_Run(run))
    return records, problems


#: A sweep.json or summary.json larger than this is not one of seedexp's.
MAX_JSON_BYTES = 64 * 1024 * 1024


def read_json_file(path: Path) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, why)`` for a file that is not readable JSON of a sane size.

    Never hangs or crashes on what a directory may hold: a FIFO or device (not a
    regular file), a huge file, JSON nested too deep, ``NaN`` literals.
    """
    import os
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        if st.st_size > MAX_JSON_BYTES:
            return None, f"{st.st_size} bytes, more than {MAX_JSON_BYTES}"
        with open(path, "rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)

        def no_constants(name: str) -> Any:
            raise ValueError(f"{name} is not valid JSON")

        return json.loads(raw.decode("utf-8"), parse_constant=no_constants), None
    except RecursionError:
        return None, "JSON nested too deep"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def load_plan(sweep_dir: Path) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The planned runs of ``<sweep_dir>/sweep.json`` (schema ``seedexp.sweep/1``).

    Each planned run is a dict with ``group`` and ``seed`` (and optionally
    ``path``, its run dir relative to the sweep dir; other keys are ignored).

    Returns ``(planned, None)``, ``(None, None)`` when there is no sweep.json, or
    ``(None, message)`` when there is one that cannot be used.
    """
    path = Path(sweep_dir) / SWEEP_NAME
    if not path.exists():
        return None, None
    data, why = read_json_file(path)
    if why is not None:
        return None, f"{path} is not readable JSON ({why}); the planned runs are unknown"
    if not isinstance(data, dict) or data.get("schema") != SWEEP_SCHEMA or not isinstance(data.get("planned"), list):
        return None, f"{path} is not a seedexp sweep plan (no schema {SWEEP_SCHEMA!r}); the planned runs are unknown"
    for i, p in enumerate(data["planned"]):
        if not isinstance(p, dict) or not isinstance(p.get("group"), str):
            return None, f"{path}: planned run #{i} has no str 'group'; the planned runs are unknown"
    return data["planned"], None


def aggregate(sweep_dir: Path, **options: Any) -> dict[str, Any]:
    """Read the records and the plan of ``sweep_dir`` and summarize them (see :func:`summarize`).

    Refuses (RecordError) a directory holding neither a seedexp record nor a
    seedexp sweep plan: it is not a seedexp sweep. ``result.json`` files that are
    not seedexp records are listed under ``"corrupt"`` (and left untouched).

    Examples
    --------
    >>> import tempfile
    >>> aggregate(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    seedexp.errors.RecordError: no seedexp run record or sweep.json under '...'; is it a seedexp sweep dir (hydra.sweep.dir)?
    """
    opt = check_options(options)  # before any work
    sweep_dir = Path(sweep_dir).absolute()
    records, problems = load_records(sweep_dir)
    planned, plan_problem = load_plan(sweep_dir)
    if plan_problem:
        problems.append(plan_problem)
    if not records and planned is None:
        detail = f" ({len(problems)} file(s) there are not seedexp records; first: {problems[0]})" if problems else ""
        raise RecordError(f"no seedexp run record or {SWEEP_NAME} under {str(sweep_dir)!r}{detail}; "
                          "is it a seedexp sweep dir (hydra.sweep.dir)?")
    found = find_series(sweep_dir, [r for r in records if r.get("status") == "ok"])
    summary = summarize(records, planned=planned, series_metrics=found[1], **opt)
    curves = curves_of_sweep(sweep_dir, summary, opt, found)  # runs that logged series (seedexp.curves)
    if curves is not None:
        summary["curves"] = curves
        summary["warnings"].extend(curves["warnings"])
    summary["sweep_dir"] = str(sweep_dir)
    summary["corrupt"] = problems
    return summary
