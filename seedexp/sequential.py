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

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import ConfigError, RecordError

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

#: Variance of the normal mixture over the standardised effect (see the module
#: docstring). Fixed: choosing it from the data would void the guarantee.
MIXTURE_G = 1.0

#: The name of the confidence-sequence method, as written in summaries.
METHOD = "anytime-valid t confidence sequence (Lai 1976 normal mixture, g=1)"
#: The group-sequential method (``{spending}`` is filled in), as written in summaries.
GS_METHOD = ("group-sequential t design, Lan-DeMets {spending} alpha spending over stop.max_seeds at the seed "
             "counts looked at (repeated confidence intervals)")
#: The interval of a group that met the half-width target under the group-sequential design.
FIXED_WIDTH_METHOD = "fixed-width sequential interval (mean +/- halfwidth)"

#: ``stop.design``: ``auto`` is group_sequential with a maximum, confidence_sequence without.
AUTO, GROUP_SEQUENTIAL, CONFIDENCE_SEQUENCE = "auto", "group_sequential", "confidence_sequence"
DESIGNS = (AUTO, GROUP_SEQUENTIAL, CONFIDENCE_SEQUENCE)
#: ``stop.spending`` (see :mod:`seedexp.gsdesign`).
SPENDING = ("pocock", "obrien_fleming")

#: The fixed-width rule's quantile is ``t_{n-1}(1 - alpha/2) * sqrt(1 + FIXED_WIDTH_A / (n - 1))``.
FIXED_WIDTH_A = 4.0
#: The fixed-width rule never stops before this many values.
FIXED_WIDTH_MIN_N = 5

#: The keys of a ``stop:`` config block, in the order of :class:`StopRule`.
CONFIG_KEYS = ("halfwidth", "max_seeds", "min_seeds", "batch", "decide", "baseline", "equivalence",
               "higher_is_better", "confidence", "familywise", "metric", "design", "spending")

#: Verdicts of a comparison; every one but "undecided" settles it.
STATES = ("better", "worse", "equivalent", "undecided")


# --------------------------------------------------------------------------- rule

def _fail(key: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"stop.{key}={value!r} is not accepted: {accepted}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class StopRule:
    """When an adaptive sweep (``seed=auto``) stops; one field per ``stop.`` config key.

    Parameters
    ----------
    halfwidth : float or None
        Stop when every group's interval of the primary metric has a half-width
        <= this (in the metric's units). None: no precision target.
    max_seeds : int or None
        Never run more seeds than this (seeds 0 .. max_seeds-1). Default 100.
        The group-sequential design spends its error rate over it; None: an
        open-ended sweep (the confidence sequence; it stops only on its target).
    min_seeds : int
        Never stop before this many seeds, >= 2. Default 5, the first n at which
        the 95% interval is finite.
    batch : int or None
        Seeds per batch; None runs as many as the launcher runs at once.
    decide : bool
        Also stop when every comparison with ``baseline`` is settled: better,
        worse, or (with ``equivalence``) equivalent.
    baseline : str or None
        The group every other group is compared with, as the summary names it
        (e.g. ``"experiment.model=lr"``). Needed by ``decide``.
    equivalence : float or None
        Margin: a comparison whose interval of the mean difference lies inside
        ``(-equivalence, +equivalence)`` is settled as "equivalent".
    higher_is_better : bool
        Direction of the primary metric: says which side of a difference is "better".
    confidence : float
        Level of every interval, in (0, 1). Default 0.95.
    familywise : bool
        Share ``1 - confidence`` among the comparisons (Bonferroni), so that all
        verdicts together hold at ``confidence``. Default True.
    metric : str or None
        The metric the rule watches; None: the sweep's primary metric. Not used
        here: the caller picks the series.
    design : {"auto", "group_sequential", "confidence_sequence"}
        How the intervals hold their level at a data-dependent stop (module
        docstring). ``auto`` (default): group_sequential when ``max_seeds`` is
        set, confidence_sequence when it is None.
    spending : {"pocock", "obrien_fleming"}
        The alpha-spending function of the group-sequential design. Pocock-type
        (default) spends evenly over the looks and decides a clear difference
        early; O'Brien-Fleming-type keeps nearly the fixed-n level for the last
        look and takes 1.5-2.6x the seeds of a fixed-n test with 90% power to
        decide a large difference (``scripts/bench_sequential.py``).

    Raises
    ------
    seedexp.errors.ConfigError
        On a value out of range or contradictory settings; the message names the
        key, the value and what is accepted.

    Examples
    --------
    >>> StopRule(halfwidth=0.01, max_seeds=200).min_seeds
    5
    >>> StopRule(halfwidth=-1)
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: stop.halfwidth=-1 is not accepted: a positive number (the half-width you need, in the metric's units), or null
    """

    halfwidth: float | None = None
    max_seeds: int = 100
    min_seeds: int = 5
    batch: int | None = None
    decide: bool = False
    baseline: str | None = None
    equivalence: float | None = None
    higher_is_better: bool = True
    confidence: float = 0.95
    familywise: bool = True
    metric: str | None = None
    design: str = AUTO
    spending: str = "pocock"

    def __post_init__(self) -> None:
        if self.halfwidth is not None and not (_is_real(self.halfwidth) and self.halfwidth > 0):
            raise _fail("halfwidth", self.halfwidth,
                        "a positive number (the half-width you need, in the metric's units), or null")
        if not (_is_int(self.min_seeds) and self.min_seeds >= 2):
            raise _fail("min_seeds", self.min_seeds, "an integer >= 2")
        if self.max_seeds is not None and not (_is_int(self.max_seeds) and self.max_seeds >= self.min_seeds):
            raise _fail("max_seeds", self.max_seeds, f"an integer >= stop.min_seeds ({self.min_seeds}), "
                                                     "or null for an open-ended sweep")
        if self.batch is not None and not (_is_int(self.batch) and self.batch >= 1):
            raise _fail("batch", self.batch, "an integer >= 1, or null to run as many seeds as the launcher runs at once")
        for key in ("decide", "higher_is_better", "familywise"):
            if not isinstance(getattr(self, key), bool):
                raise _fail(key, getattr(self, key), "true or false")
        if self.equivalence is not None and not (_is_real(self.equivalence) and self.equivalence > 0):
            raise _fail("equivalence", self.equivalence,
                        "a positive number (the difference too small to matter, in the metric's units), or null")
        if not (_is_real(self.confidence) and 0 < self.confidence < 1):
            raise _fail("confidence", self.confidence, "a number strictly between 0 and 1, e.g. 0.95")
        for key in ("baseline", "metric"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and value):
                raise _fail(key, value, "a non-empty name, or null")
        if self.design not in DESIGNS:
            raise _fail("design", self.design, f"one of {', '.join(DESIGNS)}")
        if self.spending not in SPENDING:
            raise _fail("spending", self.spending, f"one of {', '.join(SPENDING)}")
        if self.design == GROUP_SEQUENTIAL and self.max_seeds is None:
            raise ConfigError("stop.design=group_sequential needs stop.max_seeds=<N>: the maximum its error rate is "
                              "spent over (or stop.design=confidence_sequence for an open-ended sweep)")
        if self.halfwidth is None and not self.decide:
            raise ConfigError("seed=auto needs something to stop on: set stop.halfwidth=<half-width you need> "
                              "or stop.decide=true with stop.baseline=<group>")
        if self.decide and self.baseline is None:
            raise ConfigError("stop.decide=true needs stop.baseline=<group>: the group every other group is "
                              "compared with, named as in the summary")
        if self.equivalence is not None and not self.decide:
            raise ConfigError(f"stop.equivalence={self.equivalence!r} has no effect without stop.decide=true: "
                              "set stop.decide=true or drop stop.equivalence")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "StopRule":
        """Build a rule from a ``stop:`` config block (a dict or an OmegaConf DictConfig).

        Missing keys take their defaults; an unknown key is an error.

        Examples
        --------
        >>> StopRule.from_config({"halfwidth": 0.01, "max_seeds": 200}).max_seeds
        200
        >>> StopRule.from_config({"half_width": 0.01})
        Traceback (most recent call last):
        ...
        seedexp.errors.ConfigError: stop.half_width is not a stop option; accepted: halfwidth, max_seeds, min_seeds, batch, decide, baseline, equivalence, higher_is_better, confidence, familywise, metric, design, spending
        """
        if not isinstance(config, Mapping):
            raise ConfigError(f"stop={config!r} is not accepted: a mapping of stop options, "
                              f"e.g. stop.halfwidth=0.01 stop.max_seeds=200")
        unknown = [str(k) for k in config if k not in CONFIG_KEYS]
        if unknown:
            raise ConfigError(f"stop.{unknown[0]} is not a stop option; accepted: {', '.join(CONFIG_KEYS)}")
        return cls(**{str(k): config[k] for k in config})

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain JSON-able values (for summary.json)."""
        return dataclasses.asdict(self)

    @property
    def resolved_design(self) -> str:
        """The design in force: ``design``, with ``auto`` resolved by whether there is a maximum."""
        if self.design != AUTO:
            return self.design
        return GROUP_SEQUENTIAL if self.max_seeds is not None else CONFIDENCE_SEQUENCE

    @property
    def method(self) -> str:
        """The method of the design in force, as written in summaries."""
        if self.resolved_design == CONFIDENCE_SEQUENCE:
            return METHOD
        return GS_METHOD.format(spending=self.spending.replace("_", "-").replace("obrien-fleming",
                                                                                  "O'Brien-Fleming-type")
                                .replace("pocock", "Pocock-type"))

    @property
    def level_text(self) -> str:
        """The confidence as a percentage, e.g. ``"95%"``."""
        return f"{round(self.confidence * 100, 4):g}%"


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


def next_batch(rule: StopRule, done: int, parallelism: int) -> int:
    """How many seeds to run next, after seeds ``0 .. done-1``: 0 once max_seeds are done.

    The next batch is seeds ``done .. done + k - 1``: ``rule.batch`` seeds (or
    ``parallelism``, the seeds the launcher runs at once), at least enough to
    reach ``rule.min_seeds``, never past ``rule.max_seeds`` (if there is one).

    Examples
    --------
    >>> rule = StopRule(halfwidth=0.01, max_seeds=20, min_seeds=5)
    >>> next_batch(rule, 0, 2), next_batch(rule, 6, 4), next_batch(rule, 18, 4), next_batch(rule, 20, 4)
    (5, 4, 2, 0)
    """
    if not (_is_int(done) and done >= 0):
        raise ValueError(f"done={done!r} is not accepted: the number of seeds already run, an integer >= 0")
    if not (_is_int(parallelism) and parallelism >= 1):
        raise ValueError(f"parallelism={parallelism!r} is not accepted: the seeds the launcher runs at once, "
                         "an integer >= 1")
    size = max(rule.batch or parallelism, rule.min_seeds - done)
    if rule.max_seeds is None:
        return int(size)
    return int(max(0, min(size, rule.max_seeds - done)))
