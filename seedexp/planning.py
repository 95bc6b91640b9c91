"""How many seeds: for an interval of a given half-width, and for power against a paired difference.

Both answers treat the standard deviation observed in a finished sweep as the
true one. It is itself an estimate (from n seeds: at n = 10 its 95% interval
runs from 0.69x to 1.8x the observed value), so read the answers as "about";
re-plan once the larger sweep has run.

* :func:`seeds_for_halfwidth`: the smallest n whose Student t interval of the
  mean, ``t(1 - a/2, n - 1) * std / sqrt(n)``, is no wider than ``halfwidth``
  on each side.
* :func:`seeds_for_difference`: the smallest n at which the paired t-test
  detects a mean difference ``difference`` with probability ``power``, when the
  per-seed differences have standard deviation ``sd_diff``
  (``statsmodels.stats.power.TTestPower``: the paired test is the one-sample
  test of the differences).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["halfwidth_at", "seeds_for_halfwidth", "seeds_for_difference", "plan_row"]

#: No answer above this many seeds (the target is out of reach: say so instead).
MAX_SEEDS = 1_000_000


def halfwidth_at(std: float, n: int, confidence: float = 0.95) -> float:
    """Half-width of the Student t interval of a mean of ``n`` seeds with this ``std``.

    Examples
    --------
    >>> round(halfwidth_at(0.02, 10), 5)
    0.01431
    """
    from scipy import stats

    if n < 2:
        return math.inf
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)


def seeds_for_halfwidth(std: float, halfwidth: float, confidence: float = 0.95) -> int | None:
    """Smallest n >= 2 whose t interval of the mean has at most this half-width.

    ``None`` when it would take more than :data:`MAX_SEEDS`.

    Examples
    --------
    >>> seeds_for_halfwidth(0.02, 0.01)
    18
    >>> halfwidth_at(0.02, 18) <= 0.01 < halfwidth_at(0.02, 17)
    True
    """
    import numpy as np
    from scipy import stats

    if std == 0:
        return 2
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    start = max(2, math.floor((z * std / halfwidth) ** 2))  # t > z: never fewer than this
    while start <= MAX_SEEDS:
        n = np.arange(start, start + 256)
        ok = stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n) <= halfwidth
        if ok.any():
            return int(n[np.argmax(ok)])
        start += 256
    return None


def seeds_for_difference(sd_diff: float, difference: float, *, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """Smallest n >= 2 for which the two-sided paired t-test has ``power`` against ``difference``.

    ``alpha`` is the per-comparison level: with a correction across m
    comparisons, pass ``alpha / m`` (what Holm's first step uses). ``None`` when
    it would take more than :data:`MAX_SEEDS`.

    Examples
    --------
    >>> seeds_for_difference(0.02, 0.01)    # effect size 0.5
    34
    """
    from statsmodels.stats.power import TTestPower

    if sd_diff == 0:
        return 2
    effect = abs(difference) / sd_diff
    analysis = TTestPower()
    if analysis.power(effect_size=effect, nobs=2, alpha=alpha, alternative="two-sided") >= power:
        return 2
    if analysis.power(effect_size=effect, nobs=MAX_SEEDS, alpha=alpha, alternative="two-sided") < power:
        return None
    n = analysis.solve_power(effect_size=effect, nobs=None, alpha=alpha, power=power, alternative="two-sided")
    n = math.ceil(float(n) - 1e-9)
    while analysis.power(effect_size=effect, nobs=n, alpha=alpha, alternative="two-sided") < power:
        n += 1  # the solver's root may sit a hair below the integer that reaches the power
    return max(2, n)


def plan_row(*, group: str, metric: str, n: int, std: float | None, sd_diffs: Sequence[float],
             halfwidth: float | None, difference: float | None, confidence: float = 0.95, power: float = 0.8,
             n_tests: int = 1) -> dict[str, Any]:
    """The planning answers for one group and metric, as stored in ``summary["planning"]``.

    ``sd_diffs`` are the standard deviations of the per-seed differences in the
    comparisons this group takes part in; the largest is used (the hardest
    comparison). With none, ``sqrt(2) * std`` stands in: the spread of a
    difference between two configurations whose seeds share nothing.

    Examples
    --------
    >>> r = plan_row(group="g", metric="acc", n=10, std=0.02, sd_diffs=[], halfwidth=0.01, difference=None)
    >>> r["seeds_for_halfwidth"], r["seeds_for_power"]
    (18, None)
    """
    row: dict[str, Any] = {
        "group": group, "metric": metric, "n": n, "std": std,
        "halfwidth_now": None, "target_halfwidth": halfwidth, "seeds_for_halfwidth": None,
        "target_difference": difference, "sd_diff": None, "sd_diff_basis": None, "power": power,
        "alpha": (1 - confidence) / max(1, n_tests), "n_tests": max(1, n_tests), "seeds_for_power": None,
    }
    if std is None:
        return row
    if n >= 2:
        row["halfwidth_now"] = halfwidth_at(std, n, confidence)
    if halfwidth is not None:
        row["seeds_for_halfwidth"] = seeds_for_halfwidth(std, halfwidth, confidence)
    if sd_diffs:
        row["sd_diff"], row["sd_diff_basis"] = max(sd_diffs), "paired differences (largest over its comparisons)"
    else:
        row["sd_diff"], row["sd_diff_basis"] = math.sqrt(2) * std, "sqrt(2) x std (no comparison: no pairing assumed)"
    if difference is not None:
        row["seeds_for_power"] = seeds_for_difference(row["sd_diff"], difference, power=power, alpha=row["alpha"])
    return row
