"""Learning curves across seeds: bands per step, a band for the whole curve, scalar summaries and comparisons.

Data shape: for one configuration (group) and one metric, a matrix ``Y`` of
``n`` seeds x ``T`` steps on one step grid (every run of the metric aligned to
it, :func:`align`). What is computed at level ``confidence`` (0.95):

* **pointwise band**: at each step the mean with its Student t interval
  (:func:`pointwise_band`): it covers the mean *at that step* 95% of the time.
* **simultaneous band** (:func:`simultaneous_band`): ``mean ± c · sd / sqrt(n)``
  with one critical value ``c`` for every step, so that the band covers the
  *whole* mean curve at once 95% of the time (a sup-t band). ``c`` solves the
  Kac-Rice (expected Euler characteristic) approximation of the tail of the
  maximum of a t process with ``n - 1`` degrees of freedom (Worsley 1994)::

      P(max_t |T_t| > c) = 2 P(t_{n-1} > c) + (L / pi) (1 + c^2 / (n - 1))^(-(n - 2) / 2)

  where ``L`` (the curve's roughness, :func:`roughness`) is the summed root mean
  square step-to-step change of the standardized residual curves, as in
  Liebl & Reimherr's "fast and fair" bands (2023). ``c`` is capped at the
  Bonferroni critical value over the ``T`` steps, which always holds. Seeded
  Monte Carlo (tests, ``scripts/bench_curves.py``): 94-97% coverage at n = 5,
  10 and 30 on smooth Gaussian curves.
* **scalar summaries** of each seed's curve (:func:`curve_scalars`): the final
  value, the best value and its step (by the metric's direction), the area under
  the curve (trapezoid, divided by the step span: the curve's average height),
  and the first step at which a declared threshold is reached. Each gets the mean
  and its t interval across seeds, and groups are compared seed by seed with the
  summary's paired test (:func:`seedexp.stats.estimators.paired`), adjusted across the
  curve comparisons as one family.

Runs whose steps differ are aligned by a declared rule (``report.curve_align``):
``exact`` (default: the same steps in every run, else that metric's curves are
refused with one line), ``common`` (the steps every run has) or ``interpolate``
(linear interpolation onto every step logged inside the span all runs cover).
A run with a non-finite value on the grid is left out of that metric's curves
(counted in ``n_nonfinite``).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from .options import ALIGN_RULES

__all__ = ["ALIGN_RULES", "SCALARS", "CURVES_SCHEMA", "GridBuilder", "align_grid", "align", "pointwise_band", "roughness",
           "sup_t_critical", "simultaneous_band", "curve_scalars", "summarize_group", "summarize_curves",
           "methods"]

CURVES_SCHEMA = "seedexp.curves/1"
#: The scalar summaries of a curve, in the order of the tables.
SCALARS = ("final", "best", "best_step", "auc", "steps_to_threshold")


# --------------------------------------------------------------------------- alignment


def _describe_steps(steps: np.ndarray) -> str:
    if len(steps) == 0:
        return "no step"
    return f"{len(steps)} steps {int(steps[0])}..{int(steps[-1])}"


class GridBuilder:
    """The step grid of one metric, built run by run (only the grid so far is kept, not every run's steps)."""

    def __init__(self, rule: str, metric: str = "") -> None:
        if rule not in ALIGN_RULES:
            raise ConfigError(f"report.curve_align={rule!r}: expected one of {', '.join(ALIGN_RULES)}")
        self.rule, self.metric = rule, metric
        self.first: np.ndarray | None = None
        self.first_name = ""
        self.low, self.high = -math.inf, math.inf
        self.steps: np.ndarray | None = None

    def add(self, name: str, steps: np.ndarray) -> None:
        """One run's steps; raises :class:`ConfigError` under ``exact`` when they differ from the first run's."""
        steps = np.asarray(steps, dtype=np.int64)
        if self.first is None:
            self.first, self.first_name, self.steps = steps, name, steps
            if len(steps):
                self.low, self.high = int(steps[0]), int(steps[-1])
            return
        if self.rule == "exact":
            if not np.array_equal(steps, self.first):
                diff = np.setxor1d(steps, self.first)
                raise ConfigError(f"curves of {self.metric!r}: {name} logged {_describe_steps(steps)} but "
                                  f"{self.first_name} logged {_describe_steps(self.first)} (first difference at step "
                                  f"{int(diff[0])}); log the same steps in every run, or {_FIX}")
        elif self.rule == "common":
            self.steps = np.intersect1d(self.steps, steps, assume_unique=True)
        else:
            if len(steps):
                self.low, self.high = max(self.low, int(steps[0])), min(self.high, int(steps[-1]))
            self.steps = np.union1d(self.steps[(self.steps >= self.low) & (self.steps <= self.high)],
                                    steps[(steps >= self.low) & (steps <= self.high)])

    def grid(self) -> np.ndarray:
        """The grid; :class:`ConfigError` when it has fewer than 2 steps."""
        grid = np.zeros(0, dtype=np.int64) if self.steps is None else self.steps
        if self.rule == "interpolate" and len(grid):
            grid = grid[(grid >= self.low) & (grid <= self.high)]
        if len(grid) < 2:
            raise ConfigError(f"curves of {self.metric!r}: the runs share {len(grid)} step(s) under "
                              f"report.curve_align={self.rule}; a curve needs at least 2 (log more steps, or {_FIX})")
        return np.asarray(grid, dtype=np.int64)


_FIX = ("declare report.curve_align=common (the steps every run logged) or report.curve_align=interpolate "
        "(linear, over the span every run covers)")


def align_grid(step_lists: Sequence[np.ndarray], rule: str = "exact", where: Sequence[str] | None = None,
               metric: str = "") -> np.ndarray:
    """The step grid every run of a metric is put on, by ``rule`` (:data:`ALIGN_RULES`).

    Raises
    ------
    ConfigError
        ``exact`` and two runs log different steps, or no grid of at least two
        steps is left; the line names the runs and the rules to declare.

    Examples
    --------
    >>> a, b = np.array([0, 1, 2, 3]), np.array([0, 2, 3, 5])
    >>> align_grid([a, b], "common").tolist(), align_grid([a, b], "interpolate").tolist()
    ([0, 2, 3], [0, 1, 2, 3])
    >>> align_grid([a, b])
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: curves of '': run #1 logged 4 steps 0..5 but run #0 logged 4 steps 0..3 (first difference at step 1); log the same steps in every run, or declare report.curve_align=common (the steps every run logged) or report.curve_align=interpolate (linear, over the span every run covers)
    """
    names = list(where) if where is not None else [f"run #{i}" for i in range(len(step_lists))]
    builder = GridBuilder(rule, metric)
    for name, steps in zip(names, step_lists):
        builder.add(name, steps)
    return builder.grid()


def align(steps: np.ndarray, values: np.ndarray, grid: np.ndarray, rule: str = "exact") -> np.ndarray:
    """One run's values on ``grid`` (the grid's steps are among the run's, or inside its span for ``interpolate``)."""
    if rule == "interpolate":
        return np.interp(grid, steps, values)
    if len(steps) == len(grid) and (steps is grid or np.array_equal(steps, grid)):
        return values
    return values[np.searchsorted(steps, grid)]


# --------------------------------------------------------------------------- bands


def pointwise_band(Y: np.ndarray, confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Mean, standard deviation and the Student t interval of the mean at every step.

    Parameters
    ----------
    Y : ndarray, shape (n, T)
        One row per seed, one column per step (finite values).

    Returns
    -------
    dict
        ``mean``, ``sd``, ``ci_low``, ``ci_high`` (arrays of length T; NaN intervals at n < 2).

    Examples
    --------
    >>> b = pointwise_band(np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]))
    >>> b["mean"].tolist(), [round(float(x), 4) for x in b["ci_low"]]
    ([1.0, 1.0], [-1.4841, 1.0])
    """
    from scipy import stats

    Y = np.asarray(Y, dtype=float)
    n = Y.shape[0]
    mean, sd, constant = _moments(Y)
    if n < 2:
        nan = np.full(Y.shape[1], np.nan)
        return {"mean": mean, "sd": nan, "ci_low": nan, "ci_high": nan}
    half = float(stats.t.isf((1.0 - confidence) / 2.0, n - 1)) * sd / math.sqrt(n)
    low, high = np.where(constant, Y[0], mean - half), np.where(constant, Y[0], mean + half)
    return {"mean": np.where(constant, Y[0], mean), "sd": sd, "ci_low": low, "ci_high": high}


def _moments(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sd (ddof 1; 0 where a step is constant) and the constant steps, with one temporary of Y's size."""
    n = Y.shape[0]
    mean = Y.mean(axis=0)
    constant = np.ptp(Y, axis=0) == 0 if n else np.ones(Y.shape[1], dtype=bool)
    sd = np.where(constant, 0.0, Y.std(axis=0, ddof=1)) if n >= 2 else np.full(Y.shape[1], np.nan)
    return mean, sd, constant


#: Steps per block when a computation needs a temporary of the matrix's size (memory: n x block).
_BLOCK = 1024


def roughness(Y: np.ndarray) -> float:
    """``L``: the summed root mean square step-to-step change of the standardized residual curves.

    ``u_i(t) = (Y_i(t) - mean(t)) / sd(t)``; ``L = sum_t sqrt(sum_i (u_i(t+1) - u_i(t))^2 / (n - 1))``.
    A constant step (sd = 0) contributes no change. Independent of how steps are numbered.

    Examples
    --------
    >>> t = np.linspace(0.1, 1, 50)
    >>> round(roughness(np.array([t, 2 * t, 3 * t])), 6)   # every seed a scaled copy: no change in shape
    0.0
    """
    Y = np.asarray(Y, dtype=float)
    n, T = Y.shape
    if n < 2 or T < 2:
        return 0.0
    mean, sd, constant = _moments(Y)
    scale = np.where(constant, 0.0, 1.0 / np.where(constant, 1.0, sd))
    total = 0.0
    for a in range(0, T - 1, _BLOCK):  # blocks overlap by one step: every increment counted once
        b = min(T, a + _BLOCK + 1)
        u = (Y[:, a:b] - mean[a:b]) * scale[a:b]
        du = np.diff(u, axis=1)
        total += float(np.sum(np.sqrt(np.einsum("ij,ij->j", du, du) / (n - 1))))
    return total


def sup_t_critical(n: int, n_steps: int, rough: float, confidence: float = 0.95) -> tuple[float, str]:
    """The critical value of the simultaneous band, and which bound gave it (``"kac-rice"`` or ``"bonferroni"``).

    Examples
    --------
    >>> c, how = sup_t_critical(10, 100, 3.0)
    >>> round(c, 3), how
    (3.289, 'kac-rice')
    >>> sup_t_critical(10, 100, 1e6)[1]
    'bonferroni'
    """
    from scipy import optimize, stats

    nu = n - 1
    alpha = 1.0 - confidence
    bonferroni = float(stats.t.isf(alpha / (2 * n_steps), nu))
    pointwise = float(stats.t.isf(alpha / 2, nu))
    if n_steps < 2 or rough <= 0:
        return pointwise, "kac-rice"
    if nu < 2:  # the Euler characteristic term does not fall with c: no solution
        return bonferroni, "bonferroni"

    def tail(c: float) -> float:
        return 2.0 * float(stats.t.sf(c, nu)) + (rough / math.pi) * (1.0 + c * c / nu) ** (-(nu - 1) / 2.0) - alpha

    if tail(bonferroni) > 0:
        return bonferroni, "bonferroni"
    return float(optimize.brentq(tail, pointwise, bonferroni, xtol=1e-10)), "kac-rice"


def simultaneous_band(Y: np.ndarray, confidence: float = 0.95) -> dict[str, Any]:
    """A band covering the whole mean curve at ``confidence``: ``mean ± c sd / sqrt(n)``.

    Returns ``band_low``, ``band_high`` (arrays), ``crit`` (c), ``roughness``
    (L) and ``method``; NaN bands at n < 2. See the module's notes for the method.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Y = np.sin(np.linspace(0, 3, 40)) + rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(8, 40))
    >>> b = simultaneous_band(Y)
    >>> p = pointwise_band(Y)
    >>> bool(np.all(b["band_low"] <= p["ci_low"])), b["method"]
    (True, 'kac-rice')
    """
    Y = np.asarray(Y, dtype=float)
    n, T = Y.shape
    if n < 2:
        nan = np.full(T, np.nan)
        return {"band_low": nan, "band_high": nan, "crit": None, "roughness": None, "method": None}
    mean, sd, _ = _moments(Y)
    rough = roughness(Y)
    crit, method = sup_t_critical(n, T, rough, confidence)
    half = crit * sd / math.sqrt(n)
    return {"band_low": mean - half, "band_high": mean + half, "crit": crit, "roughness": rough, "method": method}


# --------------------------------------------------------------------------- scalar summaries


def curve_scalars(Y: np.ndarray, grid: np.ndarray, *, higher_is_better: bool = True,
                  threshold: float | None = None) -> dict[str, np.ndarray]:
    """Per seed (row of ``Y``): final value, best value and its step, area under the curve, steps to a threshold.

    ``auc`` is the trapezoid area divided by the step span (the curve's average
    height, in the metric's units); ``steps_to_threshold`` is the first grid step
    whose value reaches ``threshold`` (>= when higher is better, <= else), NaN
    when the curve never does (or no threshold was declared).

    Examples
    --------
    >>> Y = np.array([[0.1, 0.5, 0.9, 0.8], [0.2, 0.4, 0.6, 0.7]])
    >>> s = curve_scalars(Y, np.array([0, 10, 20, 30]), threshold=0.65)
    >>> s["final"].tolist(), s["best"].tolist(), s["best_step"].tolist(), s["steps_to_threshold"].tolist()
    ([0.8, 0.7], [0.9, 0.7], [20.0, 30.0], [20.0, 30.0])
    """
    Y = np.asarray(Y, dtype=float)
    steps = np.asarray(grid, dtype=float)
    best_at = np.argmax(Y, axis=1) if higher_is_better else np.argmin(Y, axis=1)
    span = steps[-1] - steps[0]
    gaps = np.diff(steps)
    weights = np.concatenate([gaps, [0.0]]) / 2.0 + np.concatenate([[0.0], gaps]) / 2.0
    area = Y @ weights  # the trapezoid rule, without a temporary of Y's size
    auc = area / span if span > 0 else Y[:, 0].copy()
    out = {"final": Y[:, -1].copy(), "best": Y[np.arange(len(Y)), best_at], "best_step": steps[best_at],
           "auc": auc, "steps_to_threshold": np.full(len(Y), np.nan)}
    if threshold is not None and len(Y):
        reached = Y >= threshold if higher_is_better else Y <= threshold
        first = np.argmax(reached, axis=1)
        out["steps_to_threshold"] = np.where(reached.any(axis=1), steps[first], np.nan)
    return out


def _scalar_stats(values: np.ndarray, confidence: float) -> dict[str, Any]:
    from .estimators import _num, mean_interval

    x = np.asarray(values, dtype=float)
    n = len(x)
    out: dict[str, Any] = {"n": n, "mean": None, "ci_low": None, "ci_high": None, "std": None, "median": None}
    if n:
        out.update(mean=_num(x.mean()), median=_num(np.median(x)))
    if n >= 2:
        low, high = mean_interval(x, confidence)
        out.update(std=_num(x.std(ddof=1)), ci_low=_num(low), ci_high=_num(high))
    return out


def _thin(n_steps: int, points: int) -> np.ndarray:
    """Indices of at most ``points`` evenly spread steps, the first and the last included."""
    if n_steps <= points:
        return np.arange(n_steps)
    return np.unique(np.round(np.linspace(0, n_steps - 1, points)).astype(np.int64))


def _floats(a: np.ndarray) -> list[float | None]:
    return [float(x) if math.isfinite(x) else None for x in np.asarray(a, dtype=float).tolist()]


def summarize_group(Y: np.ndarray, grid: np.ndarray, seeds: Sequence[int], *, confidence: float = 0.95,
                    higher_is_better: bool = True, threshold: float | None = None, points: int = 1000) -> dict[str, Any]:
    """Bands and scalar summaries of one group's curves (rows of ``Y``: the seeds ``seeds``)."""
    from scipy import stats

    Y = np.asarray(Y, dtype=float)
    n = Y.shape[0]
    point = pointwise_band(Y, confidence) if n else {k: np.full(len(grid), np.nan) for k in
                                                      ("mean", "sd", "ci_low", "ci_high")}
    band = simultaneous_band(Y, confidence) if n else simultaneous_band(np.zeros((0, len(grid))), confidence)
    per_seed = curve_scalars(Y, grid, higher_is_better=higher_is_better, threshold=threshold)
    scalars = {}
    for name in SCALARS:
        values = per_seed[name]
        if name == "steps_to_threshold":
            if threshold is None:
                continue
            reached = np.isfinite(values)
            k = int(reached.sum())
            entry = _scalar_stats(values, confidence) if k == n else {
                "n": n, "mean": None, "ci_low": None, "ci_high": None, "std": None,
                "median": None}
            entry.update(threshold=threshold, reached=k)
            if n:
                ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
                entry.update(reached_rate=k / n, reached_ci_low=float(ci.low), reached_ci_high=float(ci.high))
            scalars[name] = entry
        else:
            scalars[name] = _scalar_stats(values, confidence)
    keep = _thin(len(grid), points)
    return {
        "n": n, "n_steps": int(len(grid)),
        "band_crit": band["crit"], "band_method": band["method"], "roughness": band["roughness"],
        "points": {"step": [int(s) for s in grid[keep]], "mean": _floats(point["mean"][keep]),
                   "sd": _floats(point["sd"][keep]),
                   "ci_low": _floats(point["ci_low"][keep]), "ci_high": _floats(point["ci_high"][keep]),
                   "band_low": _floats(band["band_low"][keep]), "band_high": _floats(band["band_high"][keep])},
        "scalars": scalars,
        "per_seed": {str(s): {k: (None if not math.isfinite(v[i]) else float(v[i])) for k, v in per_seed.items()
                              if k != "steps_to_threshold" or threshold is not None}
                     for i, s in enumerate(seeds)},
    }


# --------------------------------------------------------------------------- a sweep's curves


def summarize_curves(runs: Iterable[Mapping[str, Any]], load: Callable[[Any, str, bool], Any],
                     metrics: Sequence[str], options: Mapping[str, Any], *, groups: Sequence[str],
                     pairs: Sequence[tuple[str, str]], direction: Mapping[str, bool]) -> dict[str, Any]:
    """The ``curves`` part of a summary: per metric and group, bands and scalar summaries; paired comparisons.

    Parameters
    ----------
    runs : iterable of dict
        The ok runs with series: ``group``, ``seed`` and ``where`` (what ``load`` takes, e.g. a path).
    load : callable
        ``load(where, metric, values)``: ``(steps, values)`` when ``values`` is true, else the steps
        only; None when the run has no such series.
    metrics : sequence of str
        The series metrics, in order.
    options : mapping
        The checked report options (``confidence``, ``test``, ``correction``,
        ``n_resamples``, ``bootstrap_seed``, ``curve_align``, ``curve_threshold``, ``curve_points``).
    groups, pairs
        Group names, and the (A, B) pairs to compare (as the summary compares them).
    direction : mapping of str to bool
        Higher is better, per metric.

    Memory: one metric at a time; the steps of every run, then one group's matrix.
    """
    runs = list(runs)
    thresholds = options.get("curve_threshold") or {}
    unknown = sorted(set(thresholds) - set(metrics))
    if unknown:
        raise ConfigError(f"curve_threshold names metric(s) {', '.join(unknown)} that no run logged as a series; "
                          f"the series are: {', '.join(metrics) or '(none)'}")
    out_metrics: dict[str, Any] = {}
    comparisons: list[dict[str, Any]] = []
    warn: list[str] = []
    for metric in metrics:
        entry = {"higher_is_better": direction[metric], "align": options["curve_align"],
                 "threshold": thresholds.get(metric), "groups": {}}
        scalars = _metric_curves(entry, metric, runs, load, groups, options, warn)
        if scalars is None:
            continue
        out_metrics[metric] = entry
        comparisons += _curve_comparisons(metric, scalars, pairs, entry, options, warn)
    _adjust(comparisons, options)
    return {"schema": CURVES_SCHEMA, "metrics": out_metrics, "comparisons": comparisons, "warnings": warn,
            "methods": methods(options)}


def _metric_curves(entry: dict[str, Any], metric: str, runs: list[Mapping[str, Any]], load: Callable[..., Any],
                   groups: Sequence[str], options: Mapping[str, Any],
                   warn: list[str]) -> dict[str, dict[int, dict[str, float]]] | None:
    """Fill ``entry`` with one metric's grid and per-group bands; the scalars per group and seed.

    None when no run logged the metric; ``{}`` when its steps were refused
    (``entry["refused"]`` says why).
    """
    rule, threshold = options["curve_align"], entry["threshold"]
    mine = []
    builder = GridBuilder(rule, metric)
    try:
        for r in runs:
            steps = load(r["where"], metric, False)
            if steps is not None:
                mine.append(r)
                builder.add(str(r["path"]) if r.get("path") else f"{r['group']} seed {r['seed']}", steps)
        if not mine:
            return None
        grid = builder.grid()
    except ConfigError as exc:
        entry["refused"] = str(exc)
        warn.append(str(exc))
        return {}
    entry["n_steps"] = int(len(grid))
    entry["grid"] = {"first": int(grid[0]), "last": int(grid[-1])}
    scalars_by_group: dict[str, dict[int, dict[str, float]]] = {}
    for group in groups:
        members = [r for r in mine if r["group"] == group]
        if not members:
            continue
        Y = np.empty((len(members), len(grid)))  # the one matrix held: this group's runs of this metric
        seeds, lost, k = [], [], 0
        for r in members:
            steps, values = load(r["where"], metric, True)
            Y[k] = align(steps, values, grid, rule)
            if np.all(np.isfinite(Y[k])):
                seeds.append(r["seed"])
                k += 1
            else:
                lost.append(r["seed"])
        Y = Y[:k]
        summary = summarize_group(Y, grid, seeds, confidence=options["confidence"],
                                  higher_is_better=entry["higher_is_better"], threshold=threshold,
                                  points=options["curve_points"])
        del Y
        summary["n_nonfinite"] = len(lost)
        if lost:
            warn.append(f"curves of {metric}, {group}: {len(lost)} seed(s) have a non-finite value on the grid "
                        f"(seeds {', '.join(map(str, lost[:5]))}{'...' if len(lost) > 5 else ''}) and are left "
                        "out of its bands and summaries")
        if 0 < summary["n"] < 5:
            warn.append(f"curves of {metric}, {group}: n={summary['n']} < 5: the bands are wide and lean on the "
                        "curves being close to normal across seeds")
        scalars_by_group[group] = {int(s): v for s, v in summary.pop("per_seed").items()}
        entry["groups"][group] = summary
    return scalars_by_group


def _curve_comparisons(metric: str, scalars_by_group: Mapping[str, dict[int, dict[str, float]]],
                       pairs: Sequence[tuple[str, str]], entry: Mapping[str, Any], options: Mapping[str, Any],
                       warn: list[str]) -> list[dict[str, Any]]:
    """Each pair of groups compared seed by seed on each scalar summary of one metric's curves."""
    from ..seeds import stream_key
    from .estimators import paired

    threshold, out = entry["threshold"], []
    for a, b in pairs:
        sa, sb = scalars_by_group.get(a, {}), scalars_by_group.get(b, {})
        common = sorted(set(sa) & set(sb))
        for name in SCALARS:
            if name == "steps_to_threshold" and threshold is None:
                continue
            xa = [sa[s].get(name) for s in common]
            xb = [sb[s].get(name) for s in common]
            if any(v is None for v in xa + xb):
                if name == "steps_to_threshold" and common:
                    warn.append(f"curves of {metric}, {a} vs {b}: steps_to_threshold not compared: some seeds "
                                f"never reached {threshold:g} (compare the reach rates)")
                continue
            if len(common) < 2:
                continue
            lower_better = name in ("best_step", "steps_to_threshold")
            hib = (not lower_better) and entry["higher_is_better"]
            res = paired(xa, xb, np.random.SeedSequence(options["bootstrap_seed"], spawn_key=tuple(
                stream_key(x) for x in ("curves", a, b, metric, name))),
                test=options["test"], n_resamples=options["n_resamples"], confidence=options["confidence"],
                higher_is_better=hib)
            out.append({"metric": metric, "summary": name, "a": a, "b": b, "higher_is_better": hib,
                        "seeds": common, **res})
    return out


def _adjust(comparisons: list[dict[str, Any]], options: Mapping[str, Any]) -> None:
    """The curve comparisons as one family: adjusted p-values, and which side is better where significant."""
    from .estimators import adjust_pvalues

    members = [c for c in comparisons if c["pvalue"] is not None]
    adjusted = adjust_pvalues([c["pvalue"] for c in members], options["correction"])
    for c, p in zip(members, adjusted):
        c["p_adjusted"] = float(p)
    alpha = 1.0 - options["confidence"]
    for c in comparisons:
        c.setdefault("p_adjusted", None)
        c["family_size"] = len(members)
        c["significant"] = c["p_adjusted"] is not None and c["p_adjusted"] < alpha
        c["better"] = ((c["a"] if (c["mean_diff"] > 0) == c["higher_is_better"] else c["b"])
                       if c["significant"] else None)


def methods(options: Mapping[str, Any]) -> dict[str, str]:
    """Each curve method in words, for ``summary.json`` and ``summary.md``."""
    level = f"{100 * options['confidence']:g}%"
    return {
        "pointwise": f"mean at each step with its {level} Student t interval (n - 1 degrees of freedom): covers the "
                     "mean at that step",
        "simultaneous": f"{level} sup-t band mean ± c·sd/√n covering the whole mean curve at once: c from the "
                        "Kac-Rice (expected Euler characteristic) tail of the maximum of a t process with n - 1 "
                        "degrees of freedom (Worsley 1994), roughness L from the standardized residual curves "
                        "(Liebl & Reimherr 2023), capped at the Bonferroni value over the steps",
        "scalars": "per seed: final value; best value and its step (by the metric's direction); area under the "
                   "curve = trapezoid area / step span (the average height); first step reaching "
                   f"report.curve_threshold. Each: mean with its {level} t interval across seeds",
        "comparisons": "each scalar compared seed by seed with the summary's paired test; best_step and "
                       "steps_to_threshold: lower is better; p-values adjusted across the curve comparisons "
                       f"({options['correction']}) as their own family",
        "align": f"report.curve_align={options['curve_align']}: exact (same steps in every run, else refused), "
                 "common (steps every run has) or interpolate (linear, inside the span every run covers)",
        "points": f"bands are computed at every grid step; summary.json, curves.csv and the figures keep at most "
                  f"{options['curve_points']} evenly spread steps (report.curve_points)",
    }
