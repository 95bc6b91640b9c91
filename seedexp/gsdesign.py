"""Group-sequential boundaries: Lan-DeMets alpha spending at the looks actually made.

A sweep that looks at its data after every batch, up to a declared maximum of
``max_seeds`` seeds, can spend its error rate ``alpha`` over those looks
instead of paying for looks that never come (what an anytime-valid confidence
sequence pays for). Look ``k`` after ``n_k`` seeds sits at information fraction
``t_k = n_k / max_seeds``; by then the design may have spent ``alpha(t_k)`` of
its ``alpha`` (Lan & DeMets 1983, Biometrika 70:659-663), with

* O'Brien-Fleming-type spending (:data:`OBRIEN_FLEMING`), on each side
  ``alpha/2 (t) = 2 - 2 Phi(z_{1-alpha/4} / sqrt(t))``: almost nothing early,
  nearly the whole fixed-n level at the end;
* Pocock-type spending (:data:`POCOCK`), ``alpha(t) = alpha log(1 + (e - 1) t)``:
  evenly over the looks.

Each side of the two-sided test spends ``alpha / 2`` by the one-sided function,
the convention of Lan & DeMets, of R's ldbounds, gsDesign and rpact, whose
published boundaries the tests reproduce.

The two-sided boundary ``c_k`` of the z-statistic at look ``k`` is the value for
which ``P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = alpha(t_k) -
alpha(t_{k-1})`` when the mean is 0, computed by the recursive numerical
integration of Armitage, McPherson & Rowe (1969) as laid out by Jennison &
Turnbull (2000, *Group Sequential Methods with Applications to Clinical
Trials*, ch. 19): the score statistic ``S_k = Z_k sqrt(t_k)`` has independent
normal increments, and its density on the continuation region is carried from
look to look on a Simpson grid. Boundaries depend only on the looks up to
``k``, so they can be computed at each look with no knowledge of the later ones.

The standard deviation is estimated, so the statistic is Student's t; each
boundary is carried to the t scale by matching tail probabilities (Jennison &
Turnbull, section 14.2), with one degree of freedom less than the statistic's
own (:func:`to_t`): the plain match overshoots the level by up to 0.008 at 5-20
seeds. The error rate that results is checked by simulation in the tests and in
``scripts/bench_sequential.py``.

Everything here is a pure function of its arguments; numpy and scipy only.

Examples
--------
>>> c = boundaries([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.05, spending=OBRIEN_FLEMING)
>>> [round(float(x), 3) for x in c]
[4.877, 3.357, 2.68, 2.29, 2.031]
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["OBRIEN_FLEMING", "POCOCK", "SPENDING", "spent", "boundaries", "crossing_probabilities", "to_t",
           "t_boundaries", "repeated_pvalue", "boundary_constant"]

OBRIEN_FLEMING = "obrien_fleming"
POCOCK = "pocock"
#: The spending functions by name, as ``stop.spending`` takes them.
SPENDING = (OBRIEN_FLEMING, POCOCK)

#: Grid points per standard deviation of the smallest increment between looks.
_PER_SD = 6
#: The density is carried out to this many standard deviations (beyond: below 1e-16).
_TAIL_SD = 8.5
#: A boundary for a look that spends (numerically) nothing: the test cannot stop there.
_NEVER = 40.0


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha={alpha!r} is not accepted: a number strictly between 0 and 1, e.g. 0.05")


def spent(t: float | np.ndarray, alpha: float, spending: str = OBRIEN_FLEMING) -> np.ndarray:
    """The error rate spent by information fraction ``t`` (in [0, 1]).

    Examples
    --------
    >>> round(float(spent(1.0, 0.05)), 12), float(spent(1.0, 0.05, POCOCK))
    (0.05, 0.05)
    >>> round(float(spent(0.5, 0.05)), 5), round(float(spent(0.5, 0.05, POCOCK)), 5)
    (0.00305, 0.03101)
    """
    from scipy import stats

    _check_alpha(alpha)
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if spending == OBRIEN_FLEMING:
        z = stats.norm.isf(alpha / 4)  # each side spends alpha/2 by the one-sided O'Brien-Fleming-type function
        with np.errstate(divide="ignore"):
            return np.where(t > 0, 4.0 * stats.norm.sf(z / np.sqrt(np.maximum(t, 1e-300))), 0.0)
    if spending == POCOCK:
        return alpha * np.log1p((math.e - 1.0) * t)
    raise ValueError(f"spending={spending!r} is not accepted: one of {', '.join(SPENDING)}")


def _check_times(times: Sequence[float]) -> np.ndarray:
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or len(t) == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0) or np.any(t > 1 + 1e-12) \
            or np.any(np.diff(t) <= 0):
        raise ValueError(f"times={list(times)!r} is not accepted: increasing information fractions in (0, 1]")
    return np.minimum(t, 1.0)


def _simpson(lo: float, hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and Simpson weights on [lo, hi], spacing at most ``step`` (an odd number of points >= 3)."""
    m = max(3, 2 * math.ceil((hi - lo) / (2 * step)) + 1)
    x = np.linspace(lo, hi, m)
    h = (hi - lo) / (m - 1)
    w = np.full(m, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return x, w * h / 3.0


class _Recursion:
    """The sub-density of the score statistic on the continuation region, carried look to look."""

    def __init__(self, times: np.ndarray, drift: float = 0.0) -> None:
        self.times, self.drift = times, drift
        self.k = -1
        self.x = np.zeros(0)  # grid at the last look
        self.wf = np.zeros(0)  # Simpson weight x density at the last look
        self.deltas = np.diff(np.concatenate([[0.0], times]))

    def _next(self) -> tuple[float, float]:
        """Mean shift and sd of the score's increment to the next look."""
        d = float(self.deltas[self.k + 1])
        return self.drift * d, math.sqrt(d)

    def _convolve(self, x: np.ndarray, shift: float, sd: float) -> np.ndarray:
        """The density at ``x`` of (last look's score) + N(shift, sd^2): a banded sum over the last grid."""
        xin, wf = self.x, self.wf
        if len(xin) < 2:
            return np.zeros(len(x))
        h = xin[1] - xin[0]
        reach = _TAIL_SD * sd
        width = min(len(xin), int(math.ceil(2 * reach / h)) + 2)
        first = np.clip(np.floor((x - shift - reach - xin[0]) / h).astype(int), 0, len(xin) - width)
        idx = first[:, None] + np.arange(width)[None, :]
        z = (x[:, None] - xin[idx] - shift) / sd
        return (np.exp(-0.5 * z * z) * wf[idx]).sum(axis=1) / (sd * math.sqrt(2 * math.pi))

    def tails(self, b: float) -> float:
        """P(continue to the last look, then |S| >= b at the next one)."""
        from scipy.special import ndtr

        shift, sd = self._next()
        if self.k < 0:
            return float(ndtr((shift - b) / sd) + ndtr((-b - shift) / sd))
        mu = self.x + shift
        return float(np.dot(self.wf, ndtr((mu - b) / sd) + ndtr((-b - mu) / sd)))

    def advance(self, b: float) -> None:
        """Move to the next look with score boundary ``b``: the density on (-b, b) there."""
        shift, sd = self._next()
        k = self.k + 1
        t = float(self.times[k])
        # the grid must resolve this increment and the next one (the kernel it is integrated against)
        scale = min(sd, math.sqrt(self.deltas[k + 1])) if k + 1 < len(self.times) else sd
        centre = self.drift * t
        lo, hi = max(-b, centre - _TAIL_SD * math.sqrt(t)), min(b, centre + _TAIL_SD * math.sqrt(t))
        if hi <= lo:  # the continuation region holds no mass (numerically)
            self.k, self.x, self.wf = k, np.zeros(1), np.zeros(1)
            return
        x, w = _simpson(lo, hi, scale / _PER_SD)
        if self.k < 0:
            dens = np.exp(-0.5 * ((x - shift) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        else:
            dens = self._convolve(x, shift, sd)
        self.k, self.x, self.wf = k, x, w * dens


def boundaries(times: Sequence[float], alpha: float = 0.05, spending: str = OBRIEN_FLEMING) -> np.ndarray:
    """Two-sided z boundaries at information fractions ``times`` by Lan-DeMets spending.

    Parameters
    ----------
    times : sequence of float
        Increasing information fractions in (0, 1] of the looks made so far
        (``n_k / max_seeds``); the last need not be 1.
    alpha : float
        The two-sided error rate the whole design spends by fraction 1.
    spending : {"obrien_fleming", "pocock"}
        The spending function (see the module docstring).

    Returns
    -------
    ndarray
        ``c_k`` per look: reject (decide) at look k when ``|Z_k| >= c_k``.
        A look that may spend nothing (numerically) gets a boundary of 40.

    Examples
    --------
    >>> [round(float(x), 3) for x in boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, POCOCK)]
    [2.438, 2.427, 2.41, 2.397, 2.386]
    """
    from scipy import optimize, stats

    t = _check_times(times)
    cum = spent(t, alpha, spending)
    rec = _Recursion(t)
    out = np.empty(len(t))
    for k in range(len(t)):
        target = float(cum[k] - (cum[k - 1] if k else 0.0))
        scale = math.sqrt(t[k])
        if k == 0:
            c = float(stats.norm.isf(target / 2)) if target > 0 else _NEVER
            c = min(c, _NEVER)
        elif target <= 1e-15:
            c = _NEVER
        else:
            f = lambda z: rec.tails(z * scale) - target  # noqa: E731 - decreasing in z
            low = 0.0
            if f(low) <= 0:  # the whole remaining mass is less than the target (numerically): decide anywhere
                c = 0.0
            else:
                c = float(optimize.brentq(f, low, _NEVER, xtol=1e-10, rtol=1e-12))
        out[k] = c
        rec.advance(c * scale)
    return out


def crossing_probabilities(times: Sequence[float], bounds: Sequence[float], drift: float = 0.0) -> np.ndarray:
    """P(the test first crosses at look k), for z boundaries ``bounds`` and a drift of the score.

    ``drift`` is ``theta * sqrt(I_max)``: with it, ``Z_k ~ N(drift sqrt(t_k), 1)``.
    Used to check boundaries and to compute power.

    Examples
    --------
    >>> t = [0.2, 0.4, 0.6, 0.8, 1.0]
    >>> round(float(crossing_probabilities(t, boundaries(t, 0.05)).sum()), 6)
    0.05
    """
    t = _check_times(times)
    b = np.asarray(bounds, dtype=float)
    rec = _Recursion(t, drift)
    out = np.empty(len(t))
    for k in range(len(t)):
        out[k] = rec.tails(b[k] * math.sqrt(t[k]))
        rec.advance(b[k] * math.sqrt(t[k]))
    return out


def to_t(z: float | np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """A z boundary carried to Student's t for a statistic of ``n`` values: same tail, ``n - 2`` df.

    Matching the tail with ``n - 1`` degrees of freedom (the t statistic's own)
    lets the error rate of a design with looks at 5-20 seeds overshoot its
    level by 0.002-0.008 in simulation (the t statistics of successive looks
    share their variance estimate); one degree of freedom less keeps it at or
    below the level in every schedule simulated (``tests/test_groupseq.py``,
    ``scripts/bench_sequential.py``), at a cost that vanishes as n grows.
    ``inf`` below 3 values: no decision there.

    Examples
    --------
    >>> round(float(to_t(1.959964, 1000)), 3), float(to_t(2.0, 2))
    (1.962, inf)
    """
    from scipy import stats

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        tb = stats.t.isf(stats.norm.sf(z), np.maximum(n - 2, 1))
    return np.where(n >= 3, tb, np.inf)


def t_boundaries(ns: Sequence[int], max_seeds: int, alpha: float = 0.05,
                 spending: str = OBRIEN_FLEMING) -> np.ndarray:
    """Boundaries of the one-sample t statistic at looks after ``ns`` values, ``max_seeds`` at most.

    The z boundaries of :func:`boundaries` at ``t_k = n_k / max_seeds``, each
    carried to Student's t by :func:`to_t`.

    Examples
    --------
    >>> [round(float(b), 3) for b in t_boundaries([10, 20], 20)]
    [4.187, 2.111]
    """
    n = np.asarray(ns, dtype=float)
    if len(n) == 0:
        return np.empty(0)
    if max_seeds < n[-1]:
        raise ValueError(f"max_seeds={max_seeds!r} is below the last look ({int(n[-1])} seeds)")
    return to_t(boundaries(n / max_seeds, alpha, spending), n)


def repeated_pvalue(t_stat: float, times: Sequence[float], n: int, spending: str = OBRIEN_FLEMING) -> float:
    """The repeated p-value at the last look: the smallest alpha whose boundary ``|t_stat|`` reaches.

    ``times`` are the information fractions of the looks so far, ``n`` the
    values behind ``t_stat``. ``p <= alpha`` when the design at level ``alpha``
    decides at this look (up to the root finder's tolerance, 1e-4 on the log
    scale), and ``P(p <= alpha at some look) <= alpha`` when the mean is 0
    (Jennison & Turnbull 2000, section 9.1).

    Examples
    --------
    >>> p = repeated_pvalue(3.0, [0.5, 1.0], 20)
    >>> bool(0.005 < p < 0.05)
    True
    """
    from scipy import optimize

    t_stat = abs(float(t_stat))
    if math.isnan(t_stat) or n < 3:
        return 1.0
    if math.isinf(t_stat):
        return 0.0

    def gap(a: float) -> float:
        return float(to_t(boundaries(times, a, spending)[-1], n)) - t_stat

    lo, hi = 1e-12, 1 - 1e-9
    if gap(hi) > 0:
        return 1.0
    if gap(lo) <= 0:
        return lo
    return math.exp(float(optimize.brentq(lambda la: gap(math.exp(la)), math.log(lo), math.log(hi), xtol=1e-4)))


def boundary_constant(times: Sequence[float], alpha: float = 0.05, shape: str = POCOCK) -> float:
    """The classical boundary constant: Pocock's ``c`` (``c_k = c``) or O'Brien-Fleming's (``c_k = c / sqrt(t_k)``).

    The original designs of Pocock (1977) and O'Brien & Fleming (1979), for
    comparison with published tables (Jennison & Turnbull 2000, tables 2.1 and 2.3).

    Examples
    --------
    >>> round(boundary_constant([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, POCOCK), 3)
    2.413
    >>> round(boundary_constant([0.2, 0.4, 0.6, 0.8, 1.0], 0.05, OBRIEN_FLEMING), 3)
    2.04
    """
    from scipy import optimize

    t = _check_times(times)
    shape_k = np.ones(len(t)) if shape == POCOCK else 1.0 / np.sqrt(t / t[-1])
    if shape not in SPENDING:
        raise ValueError(f"shape={shape!r} is not accepted: one of {', '.join(SPENDING)}")
    total = lambda c: float(crossing_probabilities(t, c * shape_k).sum()) - alpha  # noqa: E731
    return float(optimize.brentq(total, 0.5, 10.0, xtol=1e-10))
