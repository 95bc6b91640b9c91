"""How many seeds: for an interval of a given half-width, and for power against a paired difference.

A plan starts from the standard deviation of a finished sweep (the pilot), and
that is itself an estimate: from 10 seeds its 95% interval runs from 0.69x to
1.8x the observed value. A plan that treats it as the true one keeps its
promise about half the time: planned for 80% power from a 10-seed pilot, the
power achieved averages 0.75; planned for a half-width, the sweep meets it in
51-72% of cases (``scripts/bench_planning.py``). So plans here carry an
**assurance** (default :data:`ASSURANCE`, 0.8), the probability, over what the
pilot could have shown, that the plan keeps its promise:

* :func:`seeds_for_halfwidth` with ``n_pilot``: the smallest N at which the
  t interval of seeds 0..N-1 (the pilot's seeds and N - n_pilot more, as a
  re-run of the sweep with more seeds makes them) has a half-width <= the
  target with probability ``assurance``. The sample variance of the N seeds
  is the pilot's plus an independent chi-square part, so that probability is
  an F probability given the pilot's sd: the Kupper & Hafner (1989)
  "probability of achieving the half-width", with the sd's uncertainty
  carried by its fiducial distribution (``sigma^2 = nu s^2 / chi2_nu``).
* :func:`seeds_for_difference` with ``n_pilot``: the seeds for ``power`` at the
  one-sided ``assurance`` upper confidence bound of the sd,
  ``s sqrt(nu / chi2_{nu, 1 - assurance})`` (Browne 1995): the power reached is
  at least ``power`` with probability ``assurance``, and 0.89 on average
  from a 10-seed pilot for a promised 0.8. The power itself is the paired
  t-test's (``statsmodels.stats.power.TTestPower``: the one-sample test of the
  differences).

Without ``n_pilot`` both answer for a known standard deviation (the oracle
plan), as before: ``seeds_for_halfwidth`` the smallest n whose t interval
``t(1 - a/2, n - 1) * std / sqrt(n)`` is no wider than ``halfwidth``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

__all__ = ["halfwidth_at", "sd_upper_bound", "halfwidth_assurance", "seeds_for_halfwidth", "seeds_for_difference",
           "plan_row", "ASSURANCE"]

#: No answer above this many seeds (the target is out of reach: say so instead).
MAX_SEEDS = 1_000_000
#: The probability a plan keeps its promise, over the uncertainty of the pilot's sd.
ASSURANCE = 0.8


def _check_assurance(assurance: float) -> None:
    if not (isinstance(assurance, (int, float)) and not isinstance(assurance, bool) and 0 < assurance < 1):
        raise ValueError(f"assurance={assurance!r} is not accepted: a probability strictly between 0 and 1, e.g. 0.8")


def sd_upper_bound(std: float, n: int, assurance: float = ASSURANCE) -> float:
    """One-sided ``assurance`` upper confidence bound of a normal sd estimated as ``std`` from ``n`` values.

    Examples
    --------
    >>> round(sd_upper_bound(1.0, 10), 3)   # 80%: 1.29x the estimate from 10 values
    1.293
    """
    from scipy import stats

    _check_assurance(assurance)
    if n < 2:
        return math.inf
    df = n - 1
    return std * math.sqrt(df / float(stats.chi2.ppf(1 - assurance, df)))


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


def halfwidth_assurance(std: float, n_pilot: int, n: Any, halfwidth: float, confidence: float = 0.95) -> Any:
    """P(the t interval of seeds 0..n-1 has half-width <= ``halfwidth``), given a pilot of the first ``n_pilot``.

    The pilot's values (sd ``std``, ``nu = n_pilot - 1`` df) are among the n;
    the other ``n - n_pilot`` add an independent ``sigma^2 chi2_{n - n_pilot}``
    to the sum of squares, and ``sigma^2`` is uncertain as ``nu std^2 / chi2_nu``:
    the half-width is met when ``F_{n - n_pilot, nu} <= (c - 1) nu / (n - n_pilot)``,
    ``c = (n - 1) n halfwidth^2 / (t^2 nu std^2)``. Vectorised over ``n``.

    Examples
    --------
    >>> round(float(halfwidth_assurance(0.02, 10, 30, 0.01)), 3)
    0.881
    """
    import numpy as np
    from scipy import stats

    n = np.asarray(n, dtype=float)
    nu = n_pilot - 1
    t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (n - 1) * n * halfwidth ** 2 / (t ** 2 * nu * std ** 2)
        extra = n - n_pilot
        prob = stats.f.cdf((c - 1) * nu / np.maximum(extra, 1), np.maximum(extra, 1), nu)
    now = (c >= 1).astype(float)  # n == n_pilot: the pilot's own interval, met or not
    return np.where(extra > 0, np.where(c > 1, prob, 0.0), now)


def seeds_for_halfwidth(std: float, halfwidth: float, confidence: float = 0.95, *, n_pilot: int | None = None,
                        assurance: float = ASSURANCE) -> int | None:
    """Smallest n whose t interval of the mean has at most this half-width (with ``assurance``, given a pilot).

    Without ``n_pilot``: the smallest n >= 2 for a known sd ``std``. With it:
    the smallest n >= ``n_pilot`` at which seeds 0..n-1 meet the half-width
    with probability ``assurance`` (:func:`halfwidth_assurance`). ``None`` when
    it would take more than :data:`MAX_SEEDS`.

    Examples
    --------
    >>> seeds_for_halfwidth(0.02, 0.01)
    18
    >>> halfwidth_at(0.02, 18) <= 0.01 < halfwidth_at(0.02, 17)
    True
    >>> seeds_for_halfwidth(0.02, 0.01, n_pilot=10)   # an sd seen in 10 seeds: met in 80% of sweeps
    26
    """
    import numpy as np
    from scipy import stats

    if std == 0:
        return 2 if n_pilot is None else max(2, n_pilot)
    if n_pilot is not None:
        _check_assurance(assurance)
        if n_pilot < 2:
            return None
        start = n_pilot
        while start <= MAX_SEEDS:
            n = np.arange(start, start + 256)
            ok = halfwidth_assurance(std, n_pilot, n, halfwidth, confidence) >= assurance
            if ok.any():
                return int(n[np.argmax(ok)])
            start += 256
        return None
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    start = max(2, math.floor((z * std / halfwidth) ** 2))  # t > z: never fewer than this
    while start <= MAX_SEEDS:
        n = np.arange(start, start + 256)
        ok = stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n) <= halfwidth
        if ok.any():
            return int(n[np.argmax(ok)])
        start += 256
    return None


def seeds_for_difference(sd_diff: float, difference: float, *, power: float = 0.8, alpha: float = 0.05,
                         n_pilot: int | None = None, assurance: float = ASSURANCE) -> int | None:
    """Smallest n >= 2 for which the two-sided paired t-test has ``power`` against ``difference``.

    ``alpha`` is the per-comparison level: with a correction across m
    comparisons, pass ``alpha / m`` (what Holm's first step uses). With
    ``n_pilot`` (the differences ``sd_diff`` was estimated from), the sd is
    taken at its ``assurance`` upper confidence bound (:func:`sd_upper_bound`):
    the power reached is >= ``power`` with probability ``assurance``. ``None``
    when it would take more than :data:`MAX_SEEDS`.

    Examples
    --------
    >>> seeds_for_difference(0.02, 0.01)    # effect size 0.5, the sd known
    34
    >>> seeds_for_difference(0.02, 0.01, n_pilot=10)   # the sd seen in 10 seeds: 80% power with 80% assurance
    55
    """
    import numpy as np
    from scipy import stats
    from statsmodels.stats.power import TTestPower

    if n_pilot is not None:
        sd_diff = sd_upper_bound(sd_diff, n_pilot, assurance)
        if not math.isfinite(sd_diff):
            return None
    if sd_diff == 0:
        return 2
    effect = abs(difference) / sd_diff
    analysis = TTestPower()

    def reaches(k: int) -> bool:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            p = float(analysis.power(effect_size=effect, nobs=k, alpha=alpha, alternative="two-sided"))
        if not math.isfinite(p):  # statsmodels gives nan far in the tail: the noncentral t itself, then the limit
            crit, nc = float(stats.t.isf(alpha / 2, k - 1)), effect * math.sqrt(k)
            with np.errstate(all="ignore"):  # the far tail (the wrong sign) is the one that comes back nan: ~0
                p = float(np.nan_to_num(stats.nct.sf(crit, k - 1, nc))
                          + np.nan_to_num(stats.nct.cdf(-crit, k - 1, nc)))
            if not math.isfinite(p):
                p = 1.0 if nc > crit + 10 else 0.0
        return p >= power

    if reaches(2):
        return 2
    if effect == 0 or not reaches(MAX_SEEDS):
        return None
    z = float(stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power))
    n = max(2, math.ceil((z / effect) ** 2) - 2)  # the z plan; the t plan is a few seeds above it
    while not reaches(n):
        n += 1
    while n > 2 and reaches(n - 1):
        n -= 1
    return n


def plan_row(*, group: str, metric: str, n: int, std: float | None, sd_diffs: Sequence[float],
             halfwidth: float | None, difference: float | None, confidence: float = 0.95, power: float = 0.8,
             n_tests: int = 1, assurance: float = ASSURANCE) -> dict[str, Any]:
    """The planning answers for one group and metric, as stored in ``summary["planning"]``.

    ``sd_diffs`` are the standard deviations of the per-seed differences in the
    comparisons this group takes part in; the largest is used (the hardest
    comparison). With none, ``sqrt(2) * std`` stands in: the spread of a
    difference between two configurations whose seeds share nothing. The
    sweep of ``n`` seeds is the pilot: both answers hold with ``assurance``
    (module docstring); ``seeds_for_halfwidth_known_sd`` is the answer had
    its sd been the true one.

    Examples
    --------
    >>> r = plan_row(group="g", metric="acc", n=10, std=0.02, sd_diffs=[], halfwidth=0.01, difference=None)
    >>> r["seeds_for_halfwidth"], r["seeds_for_halfwidth_known_sd"], r["seeds_for_power"]
    (26, 18, None)
    """
    row: dict[str, Any] = {
        "group": group, "metric": metric, "n": n, "std": std,
        "halfwidth_now": None, "target_halfwidth": halfwidth, "seeds_for_halfwidth": None,
        "seeds_for_halfwidth_known_sd": None,
        "target_difference": difference, "sd_diff": None, "sd_diff_basis": None, "power": power,
        "alpha": (1 - confidence) / max(1, n_tests), "n_tests": max(1, n_tests), "seeds_for_power": None,
        "assurance": assurance, "sd_diff_planned": None,
    }
    if std is None or n < 2:
        return row
    row["halfwidth_now"] = halfwidth_at(std, n, confidence)
    if halfwidth is not None:
        row["seeds_for_halfwidth"] = seeds_for_halfwidth(std, halfwidth, confidence, n_pilot=n, assurance=assurance)
        row["seeds_for_halfwidth_known_sd"] = seeds_for_halfwidth(std, halfwidth, confidence)
    if sd_diffs:
        row["sd_diff"], row["sd_diff_basis"] = max(sd_diffs), "paired differences (largest over its comparisons)"
    else:
        row["sd_diff"], row["sd_diff_basis"] = math.sqrt(2) * std, "sqrt(2) x std (no comparison: no pairing assumed)"
    row["sd_diff_planned"] = sd_upper_bound(row["sd_diff"], n, assurance)
    if difference is not None:
        row["seeds_for_power"] = seeds_for_difference(row["sd_diff"], difference, power=power, alpha=row["alpha"],
                                                      n_pilot=n, assurance=assurance)
    return row
