"""The stop rule of ``seed=auto``: the ``stop:`` settings, checked once, and the names of its designs.

:class:`StopRule` holds what :func:`seedexp.sequential.check` decides by; the
designs themselves (confidence sequence, group-sequential) are described in
:mod:`seedexp.sequential` and :mod:`seedexp.gsdesign`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ConfigError

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
