"""Adaptive seed sweeps: when have enough seeds been run?

A sweep with ``seed=auto`` runs seeds 0, 1, 2, ... in batches and, after every
batch, asks :func:`check` whether to stop. It stops when every group's
interval for the primary metric is as narrow as asked (``halfwidth``), or, with
``decide``, when every group's paired comparison with the baseline is settled,
or at ``max_seeds``. Seeds are always a prefix 0..n-1, so an adaptive sweep is
the start of the fixed sweep ``seed=range(0, max_seeds)`` and resumes like one.

Looking at a fixed-n interval after every batch and stopping when it looks good
does not hold its level: with a look every 2-5 seeds up to 200 seeds, the paired
t-test at 5% declares a difference that is not there in 20-36% of sweeps, and
the t interval reported when it first looks narrow enough covers 0.92-0.94
(BENCHMARKS.md, "Adaptive stopping"). Two designs hold it; ``stop.design``
picks one, and by default (``auto``) a sweep with a maximum (``stop.max_seeds``,
100 unless set) gets the group-sequential design, an open-ended one
(``stop.max_seeds=null``) the confidence sequence. The default was chosen by
measured cost: to meet a half-width target the group-sequential design uses
1.02-1.24x the seeds of the fixed-n design that knew the standard deviation in
advance, the confidence sequence 2.0-2.9x; to decide a difference the
group-sequential design (Pocock-type spending) needs 0.45-1.05x the seeds of a
fixed-n t-test with the same power, the confidence sequence 0.6-1.9x
(``scripts/bench_sequential.py``, BENCHMARKS.md).

The group-sequential design (``group_sequential``)
--------------------------------------------------
* **Precision** (``halfwidth``): the fixed-width sequential interval. The
  rule stops when ``q_n s_n / sqrt(n) <= halfwidth`` with
  ``q_n = t_{n-1}(1 - alpha/2) sqrt(1 + 4 / (n - 1))`` (from 5 seeds on), and
  the interval reported is ``mean +/- halfwidth``. For normal values the mean
  after n seeds is independent of the standard deviations of seeds 1..n
  (Helmert's transform; Stein 1945), so whatever n the rule stops at, the
  mean is ``N(mu, sigma^2 / n)`` there, and the interval misses with
  probability ``E[2 Phi(-halfwidth sqrt(N) / sigma)]``. A rule that looks less
  often (batches), starts later (``min_seeds``) or waits for other groups
  stops later on every path, which only lowers that. With the plain t
  quantile (``q_n = t_{n-1}``, "stop when the t interval is narrow enough")
  the t interval reported covers 0.92-0.95 (the rule stops early when ``s``
  is small by chance); the factor ``sqrt(1 + 4 / (n - 1))`` (Chow & Robbins
  1965 fixed-width intervals, with a second-order term calibrated by
  simulation over ``sigma / halfwidth``) keeps coverage at 0.951-0.982 at
  every ratio simulated, for 1.02-1.24x the seeds of the oracle fixed-n design.
* **Decisions** (``decide``): a group-sequential paired t-test with Lan-DeMets
  alpha spending (:mod:`seedexp.gsdesign`, Pocock-type by default,
  ``stop.spending=obrien_fleming`` for O'Brien-Fleming-type), at the seed counts actually
  looked at, with information fraction ``n / max_seeds``. A comparison is
  decided when ``|t|`` reaches the boundary of its look; its interval is the
  repeated confidence interval ``mean +/- b_k sd / sqrt(n)``, which covers the
  true difference at every look at once with probability >= ``confidence``;
  its p-value is the repeated p-value (``p <= alpha`` exactly when decided).
  Equivalence: the repeated interval inside ``(-equivalence, +equivalence)``.
* A group's interval is the fixed-width one once it meets the target, and
  otherwise its repeated confidence interval (valid at any stop).

The confidence sequence (``confidence_sequence``)
-------------------------------------------------
Every interval is an anytime-valid *confidence sequence*: intervals ``CS_1,
CS_2, ...`` that contain the true mean **at every n at once** with probability
at least ``confidence``, with no maximum. The one used is the scale-invariant
normal-mixture sequential t-test (Lai 1976, "On confidence sequences", Ann.
Statist. 4:265-280). To test that the mean is ``mu0`` when the standard
deviation ``sigma`` is unknown, take the Bayes factor of ``y_i = x_i - mu0``::

    BF_n(mu0) = (1 + n g)^(-1/2) * (S / (S - n^2 g ybar^2 / (1 + n g)))^(n/2),   S = sum(y_i^2),

the Bayes factor of the one-sample t-test with a normal prior ``N(0, g)`` on
the standardised effect ``(mu - mu0) / sigma`` and the right-Haar prior
``1/sigma`` on the scale (Gonen et al. 2005; Rouder et al. 2009, here with a
fixed ``g``). With the right-Haar prior, ``BF_n(mu0)`` is the likelihood ratio
of the scale-free part of the data, hence a non-negative martingale with mean 1
under *every* ``sigma`` when the mean is ``mu0`` (Hendriksen, de Heide &
Grunwald 2021, Bayesian Analysis; Perez-Ortiz, Lardy, de Heide & Grunwald 2024,
Ann. Statist.). Ville's inequality then gives ``P(BF_n(mu) >= 1/alpha for some
n) <= alpha`` at the true mean ``mu``, so ``CS_n = {mu0 : BF_n(mu0) < 1/alpha}``
is a confidence sequence. It has a closed form: with ``V = sum((x_i -
xbar)^2)`` and ``q = ((1 + n g)^(1/2) / alpha)^(2/n)``::

    CS_n = xbar +/- sqrt((q - 1) V (1 + n g) / (n (1 + n g - q))),

the whole real line while ``q >= 1 + n g`` (at 95% with ``g = 1``: n < 5). A
comparison's p-value is ``min(1, 1 / BF_n(0))``, valid at whatever seed count
the sweep stopped (``p <= alpha`` exactly when ``CS_n`` excludes 0).
``g = 1`` (:data:`MIXTURE_G`) keeps the interval between 1.64 and 1.73 times the
fixed-n t interval's half-width from n = 10 to n = 200. :func:`check` reports
each seed count's own interval ``CS_n``, not the running intersection: under
skewed values the intersection keeps the misses of the first few seeds.
Its price: a half-width target takes 2.0-2.9 times the seeds of the oracle
fixed-n design, and its coverage at the stop is 0.994-0.999, far above the
level. Use it when no maximum can be named.

What is guaranteed, under which assumptions
-------------------------------------------
If a group's values are independent draws from one normal distribution (mean
and variance both unknown), its interval covers the true mean at the seed count
the sweep stopped at with probability >= ``confidence``: for the confidence
sequence and the repeated intervals **whatever rule or person decided to
stop** (the half-width rule, the comparisons, another group, max_seeds, a
crash and a resume, batches that change size); for the fixed-width interval,
whatever the stop was decided from the groups' spreads (half-width targets,
max_seeds, batches). The same holds for the paired differences ``group -
baseline``: with no true difference, a comparison is ever declared better or
worse with probability <= ``1 - confidence``; when the true difference is at
least the margin, it is ever declared equivalent with probability <= ``1 -
confidence``. With ``familywise`` (the default) each of m comparisons uses
``(1 - confidence) / m`` (Bonferroni). The group-sequential boundaries for t
statistics are an approximation (the error rate simulated at 0.038-0.052 with
Pocock-type, 0.049-0.054 with O'Brien-Fleming-type spending, for a nominal
0.05); the rest is exact for normal values. Skewed values (BENCHMARKS.md):
the fixed-width interval covers 0.92-0.97 at skewness 1.75 and down to 0.79
at skewness 6, the confidence sequence 0.97-0.99 and 0.88-0.96; decisions
err at 0.04-0.06 at skewness 0.8-1.75 and 0.12-0.20 at skewness 6. Take the
log of a heavily skewed metric (or, for moderate skew, prefer
``stop.design=confidence_sequence``). Runs that fail must fail for reasons unrelated to their
metric (their value is left out). A metric that does not move with the seed
gives a zero-width interval.

This module imports numpy (and scipy when the group-sequential design is
used), and nothing from seedexp but its errors and :mod:`seedexp.gsdesign`.

Examples
--------
>>> import numpy as np
>>> rule = StopRule(halfwidth=0.01, max_seeds=200)
>>> rule.resolved_design
'group_sequential'
>>> rng = np.random.default_rng(0)
>>> series = {"model=rf": list(0.90 + 0.01 * rng.standard_normal(40))}
>>> decision = check(rule, series)
>>> decision.stop, decision.cause, decision.n_seeds
(True, 'halfwidth', 40)
>>> decision.reason
"every group's 95% half-width <= 0.01 after 40 seeds"
>>> next_batch(rule, done=40, parallelism=4)
4
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ConfigError, RecordError
from .stoprule import (  # noqa: F401 - the rule lives in its own module; its names stay importable from here
    AUTO, CONFIDENCE_SEQUENCE, CONFIG_KEYS, DESIGNS, FIXED_WIDTH_A, FIXED_WIDTH_METHOD, FIXED_WIDTH_MIN_N,
    GROUP_SEQUENTIAL, GS_METHOD, METHOD, MIXTURE_G, SPENDING, STATES, StopRule, _is_int, next_batch,
)

__all__ = [
    "StopRule",
    "Decision",
    "GroupInterval",
    "Comparison",
    "check",
    "next_batch",
    "confidence_sequence",
    "fixed_width_halfwidth",
    "METHOD",
    "GS_METHOD",
    "FIXED_WIDTH_METHOD",
    "MIXTURE_G",
    "CONFIG_KEYS",
    "STATES",
    "DESIGNS",
]

# --------------------------------------------------------------------------- the interval

def confidence_sequence(values: Any, *, confidence: float = 0.95,
                        g: float = MIXTURE_G) -> tuple[np.ndarray, np.ndarray]:
    """The anytime-valid confidence sequence of the mean, at every prefix of ``values``.

    Parameters
    ----------
    values : array_like of float, shape (..., n)
        Finite values in the order they came (seed order); leading axes are
        independent series (vectorised simulations).
    confidence : float
        Probability that every interval of the sequence covers the mean.
    g : float
        Variance of the normal mixture over the standardised effect; keep the
        default unless you know why (see the module docstring).

    Returns
    -------
    low, high : ndarray, shape (..., n)
        ``low[..., k]``, ``high[..., k]`` bound the mean after ``k + 1`` values;
        ``-inf``/``+inf`` while the interval is unbounded.

    Examples
    --------
    >>> low, high = confidence_sequence([0.2, 0.4, 0.3, 0.5, 0.4, 0.3, 0.4, 0.35])
    >>> bool(np.isinf(low[3])), round(float(low[-1]), 3), round(float(high[-1]), 3)
    (True, 0.22, 0.492)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 0:
        raise ValueError("values must have at least one axis (one value per seed)")
    n_total = x.shape[-1]
    if n_total == 0:
        empty = np.empty(x.shape)
        return empty, empty.copy()
    alpha = 1.0 - confidence
    n = np.arange(1, n_total + 1, dtype=float)
    shift = x[..., :1]  # centring on the first value keeps the sums of squares exact enough
    cum = np.cumsum(x - shift, axis=-1)
    cum2 = np.cumsum((x - shift) ** 2, axis=-1)
    mean_c = cum / n
    var_sum = np.maximum(cum2 - cum * mean_c, 0.0)  # V = sum of squared deviations
    ng1 = 1.0 + n * g
    q = np.exp((2.0 / n) * (0.5 * np.log(ng1) - math.log(alpha)))
    bounded = (q < ng1) & (n >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.sqrt((q - 1.0) * var_sum * ng1 / (n * (ng1 - q)))
    half = np.where(bounded, half, np.inf)
    centre = mean_c + shift
    return centre - half, centre + half


def _log_bf_zero(x: np.ndarray, g: float = MIXTURE_G) -> np.ndarray:
    """log BF_k(0) of every prefix of ``x`` (last axis): the evidence that the mean is not 0."""
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    s = np.cumsum(x * x, axis=-1)
    ybar = np.cumsum(x, axis=-1) / n
    ng1 = 1.0 + n * g
    rest = s - n * n * g * ybar * ybar / ng1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(s > 0, np.log(s) - np.log(np.maximum(rest, np.finfo(float).tiny)), 0.0)
    return -0.5 * np.log(ng1) + 0.5 * n * log_ratio


def fixed_width_halfwidth(std: float, n: int, confidence: float = 0.95) -> float:
    """The half-width the fixed-width rule compares with the target: ``q_n std / sqrt(n)``.

    ``q_n = t_{n-1}(1 - alpha/2) sqrt(1 + 4 / (n - 1))`` (module docstring);
    ``inf`` below :data:`FIXED_WIDTH_MIN_N` values.

    Examples
    --------
    >>> round(fixed_width_halfwidth(1.0, 30), 4)
    0.3983
    """
    from scipy import stats

    if n < FIXED_WIDTH_MIN_N or not math.isfinite(std):
        return math.inf
    q = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(1.0 + FIXED_WIDTH_A / (n - 1))
    return q * std / math.sqrt(n)


# --------------------------------------------------------------------------- decisions

def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class GroupInterval:
    """The interval of one group's mean metric after ``n`` successful seeds.

    ``method`` names how it holds its level at the stop (anytime-valid,
    repeated or fixed-width); ``criterion`` is the half-width the stop rule
    compared with ``halfwidth`` (the interval's own, except under the
    group-sequential design, where it is :func:`fixed_width_halfwidth`).
    """

    group: str
    n: int
    mean: float
    low: float
    high: float
    method: str = "anytime-valid"
    criterion: float | None = None

    @property
    def halfwidth(self) -> float:
        """Half the interval's width (``inf`` while it is unbounded)."""
        return (self.high - self.low) / 2.0

    @property
    def rule_halfwidth(self) -> float:
        """The half-width the stop rule judges (``criterion``, else the interval's own)."""
        return self.halfwidth if self.criterion is None else self.criterion

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "n": self.n, "mean": _num(self.mean), "low": _num(self.low),
                "high": _num(self.high), "halfwidth": _num(self.halfwidth), "method": self.method,
                "rule_halfwidth": _num(self.rule_halfwidth)}


@dataclass(frozen=True)
class Comparison:
    """``group - baseline``, seed by seed: its interval, p-value and verdict.

    ``state`` is "better" or "worse" (for ``group``, given the metric's
    direction) when the interval excludes 0, else "equivalent" when it lies
    inside the equivalence margin, else "undecided". ``p_value`` is the
    anytime-valid p (confidence sequence) or the repeated p (group-sequential):
    either way ``p <= 1 - confidence`` exactly when the interval excludes 0.
    """

    group: str
    baseline: str
    n: int
    mean_diff: float
    low: float
    high: float
    p_value: float
    confidence: float
    state: str
    method: str = "anytime-valid"

    @property
    def settled(self) -> bool:
        """True once the comparison needs no more seeds."""
        return self.state != "undecided"

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "baseline": self.baseline, "n": self.n, "mean_diff": _num(self.mean_diff),
                "low": _num(self.low), "high": _num(self.high), "p_value": _num(self.p_value),
                "confidence": self.confidence, "state": self.state, "method": self.method}


@dataclass(frozen=True)
class Decision:
    """What :func:`check` concluded after ``n_seeds`` seeds.

    ``cause`` is "halfwidth", "decided" or "max_seeds" when ``stop`` is true,
    else None; ``reason`` says the same in a sentence for the summary and log.
    ``looks`` are the seed counts the design accounted for (the group-sequential
    design spends its error rate over them).
    """

    stop: bool
    cause: str | None
    reason: str
    n_seeds: int
    groups: tuple[GroupInterval, ...]
    comparisons: tuple[Comparison, ...]
    rule: StopRule
    looks: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (unbounded ends become None), for summary.json."""
        return {"stop": self.stop, "cause": self.cause, "reason": self.reason, "n_seeds": self.n_seeds,
                "method": self.rule.method, "design": self.rule.resolved_design, "confidence": self.rule.confidence,
                "looks": list(self.looks),
                "groups": [g.to_dict() for g in self.groups],
                "comparisons": [c.to_dict() for c in self.comparisons], "rule": self.rule.to_dict()}


def _as_series(series: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    if not isinstance(series, Mapping) or not series:
        raise RecordError(f"series={series!r} is not accepted: a non-empty mapping group -> metric values in seed order")
    out: dict[str, np.ndarray] = {}
    for name, values in series.items():
        try:
            arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            raise RecordError(f"series[{name!r}] has a non-numeric value: pass one number per seed "
                              "(None or NaN for a failed run)") from None
        if arr.ndim != 1:
            raise RecordError(f"series[{name!r}] is not a flat sequence: pass one number per seed")
        out[str(name)] = arr
    lengths = {len(a) for a in out.values()}
    if len(lengths) > 1:
        detail = ", ".join(f"{k!r}: {len(a)}" for k, a in out.items())
        raise RecordError(f"groups have different numbers of seeds ({detail}): pass one value per seed 0..n-1 "
                          "for every group, None or NaN for a failed run")
    return out


def _interval(values: np.ndarray, confidence: float) -> tuple[int, float, float, float]:
    x = values[np.isfinite(values)]
    if len(x) == 0:
        return 0, math.nan, -math.inf, math.inf
    low, high = confidence_sequence(x, confidence=confidence)
    return len(x), float(x.mean()), float(low[-1]), float(high[-1])


def _verdict(low: float, high: float, rule: StopRule) -> str:
    if low > 0 or high < 0:
        return "better" if (low > 0) == rule.higher_is_better else "worse"
    if rule.equivalence is not None and -rule.equivalence < low and high < rule.equivalence:
        return "equivalent"
    return "undecided"


def _compare(group: str, base: str, diff: np.ndarray, rule: StopRule, confidence: float) -> Comparison:
    d = diff[np.isfinite(diff)]
    n, mean, low, high = _interval(d, confidence)
    p = float(min(1.0, math.exp(-float(_log_bf_zero(d)[-1])))) if n else 1.0
    return Comparison(group, base, n, mean, low, high, p, confidence, _verdict(low, high, rule))


def _looks(rule: StopRule, n_seeds: int, looks: Sequence[int] | None) -> tuple[int, ...]:
    """The seed counts looked at, up to and with ``n_seeds`` (default: every count from min_seeds on)."""
    if looks is None:
        chosen = list(range(min(rule.min_seeds, n_seeds), n_seeds + 1))
    else:
        chosen = []
        for k in looks:
            if not (_is_int(k) and 1 <= k <= n_seeds):
                raise ValueError(f"looks={list(looks)!r} is not accepted: seed counts in [1, {n_seeds}] "
                                 "(the looks made so far, this one included)")
            chosen.append(int(k))
        chosen = sorted(set(chosen) | {n_seeds})
    limit = rule.max_seeds if rule.max_seeds is not None else n_seeds
    if n_seeds > limit:
        raise ValueError(f"{n_seeds} seeds is above stop.max_seeds={rule.max_seeds}")
    return tuple(k for k in chosen if k >= 1)


class _Boundaries:
    """Group-sequential z boundaries at the looks, per error rate (computed once per level)."""

    def __init__(self, rule: StopRule, looks: tuple[int, ...]) -> None:
        self.rule, self.looks = rule, looks
        self.times = np.asarray(looks, dtype=float) / float(rule.max_seeds)
        self.cache: dict[float, float] = {}

    def last_z(self, alpha: float) -> float:
        from .gsdesign import boundaries

        if alpha not in self.cache:
            self.cache[alpha] = float(boundaries(self.times, alpha, self.rule.spending)[-1])
        return self.cache[alpha]

    def t_bound(self, alpha: float, n: int) -> float:
        from .gsdesign import to_t

        return float(to_t(self.last_z(alpha), n))


def _moments(values: np.ndarray) -> tuple[int, float, float]:
    x = values[np.isfinite(values)]
    n = len(x)
    if n == 0:
        return 0, math.nan, math.nan
    constant = bool(np.all(x == x[0]))
    mean = float(x[0]) if constant else float(x.mean())
    sd = 0.0 if constant or n < 2 else float(x.std(ddof=1))
    return n, mean, sd


def _gs_group(name: str, values: np.ndarray, rule: StopRule, bounds: _Boundaries) -> GroupInterval:
    n, mean, sd = _moments(values)
    alpha = 1.0 - rule.confidence
    if n == 0:
        return GroupInterval(name, 0, math.nan, -math.inf, math.inf, "repeated", math.inf)
    criterion = fixed_width_halfwidth(sd, n, rule.confidence) if rule.halfwidth is not None else None
    if criterion is not None and criterion <= rule.halfwidth:
        return GroupInterval(name, n, mean, mean - rule.halfwidth, mean + rule.halfwidth, "fixed-width", criterion)
    b = bounds.t_bound(alpha, n)
    half = b * sd / math.sqrt(n) if math.isfinite(b) else math.inf
    return GroupInterval(name, n, mean, mean - half, mean + half, "repeated", criterion)


def _gs_compare(group: str, base: str, diff: np.ndarray, rule: StopRule, confidence: float,
                bounds: _Boundaries) -> Comparison:
    from .gsdesign import repeated_pvalue

    alpha = 1.0 - confidence
    n, mean, sd = _moments(diff)
    if n == 0:
        return Comparison(group, base, 0, math.nan, -math.inf, math.inf, 1.0, confidence, "undecided", "repeated")
    b = bounds.t_bound(alpha, n)
    half = b * sd / math.sqrt(n) if math.isfinite(b) else math.inf
    low, high = mean - half, mean + half
    state = _verdict(low, high, rule)
    if sd == 0:
        t_stat = 0.0 if mean == 0 else math.inf
    else:
        t_stat = mean / (sd / math.sqrt(n))
    decided = state in ("better", "worse")
    if decided and n >= 3 and math.isinf(t_stat):
        p = 0.0
    elif n < 3:
        p = 1.0
    else:
        p = repeated_pvalue(t_stat, bounds.times, n, rule.spending)
    # the root finder's tolerance must not contradict the boundary: p <= alpha exactly when decided
    p = min(p, alpha) if decided else max(p, math.nextafter(alpha, 1.0))
    return Comparison(group, base, n, mean, low, high, float(min(1.0, p)), confidence, state, "repeated")


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "unbounded"


def check(rule: StopRule, series: Mapping[str, Sequence[float]], looks: Sequence[int] | None = None) -> Decision:
    """Decide whether an adaptive sweep can stop, after any batch.

    Parameters
    ----------
    rule : StopRule
        The ``stop:`` settings, with the baseline and the metric's direction.
    series : mapping of str to sequence of float
        Group name -> the primary metric of seeds 0, 1, ..., n-1 in that order,
        the same n for every group (position i of two groups shares seed i).
        None or NaN marks a failed run, left out of the statistics.
    looks : sequence of int, optional
        The seed counts at which the sweep looked so far (this look, ``n``,
        included, added if missing). The group-sequential design spends its
        error rate over them; default: a look at every seed count from
        ``min_seeds`` on (the most looks a sweep can make: conservative).
        The confidence sequence does not need them.

    Returns
    -------
    Decision
        ``stop``, ``cause`` and ``reason``; each group's interval and each
        comparison with ``rule.baseline`` (when ``rule.decide``), by the design
        in force (:attr:`StopRule.resolved_design`). A pure function of its arguments.

    Raises
    ------
    seedexp.errors.ConfigError
        ``rule.decide`` with a baseline that is not a group, or a single group.
    seedexp.errors.RecordError
        ``series`` is empty, non-numeric, or its groups have different lengths.

    Examples
    --------
    >>> rule = StopRule(decide=True, baseline="lr", max_seeds=200)
    >>> rng = np.random.default_rng(1)
    >>> lr = 0.80 + 0.02 * rng.standard_normal(30)
    >>> rf = lr + 0.03 + 0.01 * rng.standard_normal(30)
    >>> decision = check(rule, {"lr": lr, "rf": rf}, looks=range(5, 31, 5))
    >>> decision.reason
    'rf vs lr decided: rf better (group-sequential p<0.05) after 30 seeds'
    >>> decision.comparisons[0].state
    'better'
    """
    data = _as_series(series)
    n_seeds = len(next(iter(data.values())))
    design = rule.resolved_design
    looked: tuple[int, ...] = ()
    bounds: _Boundaries | None = None
    if design == GROUP_SEQUENTIAL and n_seeds >= 1:
        looked = _looks(rule, n_seeds, looks)
        bounds = _Boundaries(rule, looked)
    if bounds is not None:
        groups = tuple(_gs_group(name, values, rule, bounds) for name, values in data.items())
    else:
        groups = tuple(GroupInterval(name, *_interval(values, rule.confidence)) for name, values in data.items())

    comparisons: tuple[Comparison, ...] = ()
    if rule.decide:
        if rule.baseline not in data:
            raise ConfigError(f"stop.baseline={rule.baseline!r} is not a group of this sweep; "
                              f"groups: {', '.join(repr(k) for k in data)}")
        if len(data) < 2:
            raise ConfigError(f"stop.decide=true needs two or more groups; this sweep has one ({rule.baseline!r}): "
                              "sweep another override or set stop.decide=false")
        others = [k for k in data if k != rule.baseline]
        alpha = 1.0 - rule.confidence
        level = 1.0 - (alpha / len(others) if rule.familywise else alpha)
        base = data[rule.baseline]
        if bounds is not None:
            comparisons = tuple(_gs_compare(k, rule.baseline, data[k] - base, rule, level, bounds) for k in others)
        else:
            comparisons = tuple(_compare(k, rule.baseline, data[k] - base, rule, level) for k in others)

    level = rule.level_text
    wide = [g for g in groups if rule.halfwidth is not None and not g.rule_halfwidth <= rule.halfwidth]
    open_ = [c for c in comparisons if not c.settled]
    precise = rule.halfwidth is not None and not wide
    settled = rule.decide and not open_
    kind = "anytime-valid" if bounds is None else "group-sequential"

    def verdicts() -> str:
        parts = []
        for c in comparisons:
            if c.state == "equivalent":
                parts.append(f"{c.group} vs {c.baseline} equivalent (|difference| < {rule.equivalence:g})")
            else:
                parts.append(f"{c.group} vs {c.baseline} decided: {c.group} {c.state} "
                             f"({kind} p<{1 - c.confidence:.2g})")
        return "; ".join(parts)

    def pending() -> str:
        parts = [f"{g.group}'s {level} half-width {_fmt(g.rule_halfwidth)} > {rule.halfwidth:g}" for g in wide]
        parts += [f"{c.group} vs {c.baseline} undecided (difference {_fmt(c.low)} to {_fmt(c.high)})" for c in open_]
        return "; ".join(parts)

    at_max = rule.max_seeds is not None and n_seeds >= rule.max_seeds
    if n_seeds < rule.min_seeds:
        stop, cause, reason = False, None, f"continue: {n_seeds} seeds < stop.min_seeds={rule.min_seeds}"
    elif precise:
        stop, cause = True, "halfwidth"
        reason = f"every group's {level} half-width <= {rule.halfwidth:g} after {n_seeds} seeds"
    elif settled:
        stop, cause, reason = True, "decided", f"{verdicts()} after {n_seeds} seeds"
    elif at_max:
        stop, cause, reason = True, "max_seeds", f"stop.max_seeds={rule.max_seeds} reached before the target: {pending()}"
    else:
        stop, cause, reason = False, None, f"continue after {n_seeds} seeds: {pending()}"
    return Decision(stop, cause, reason, n_seeds, groups, comparisons, rule, looked)
