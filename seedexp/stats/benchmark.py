"""Benchmarks: several methods on several tasks, a few seeds each. Which method is best across tasks?

Pure functions of a score table (no files, no Hydra); the summary calls
:func:`analyze` when a sweep declares which swept value is the task
(``report.task``). Data shape: ``scores[method][task]`` is a 1-D array of a
method's values on one task, one per seed (seeds in the same order for every
method; a method may lack some, see *Missing runs*).

What the numbers are (Agarwal et al. 2021, "Deep RL at the edge of the
statistical precipice"; Demsar 2006, "Statistical comparisons of classifiers
over multiple data sets"):

* **normalised scores** (:func:`normalize`): raw (``normalize=None``), per-task
  min-max over every run of every method (``"minmax"``: 0 = worst run, 1 = best
  run), or declared reference scores ``{task: [worst, best]}`` (0 = worst,
  1 = best; give ``[worst, best]`` in that order and a lower-is-better metric
  needs no other care). Normalised scores are higher-is-better.
* **aggregates per method** (:func:`aggregates`): the mean and the median of the
  per-task means, the interquartile mean (IQM, the 25% trimmed mean of every
  run) and the optimality gap ``gamma - mean(min(score, gamma))`` (``gamma=1``,
  the normalised best; raw lower-is-better scores have none), each with a
  **stratified bootstrap** percentile interval: the seeds of each task are
  resampled with replacement, task by task, tasks held fixed
  (:func:`stratified_draws`). The interval is about re-running the seeds on the
  same tasks, not about other tasks.
* **performance profiles** (:func:`profile`): the fraction of runs scoring above
  each threshold, with pointwise bands from the same resamples.
* **probability of improvement** (:func:`improvement`): ``P(X > Y)`` averaged
  over tasks, ``P(X_t > Y_t)`` the Mann-Whitney U of task ``t`` over
  ``n_x n_y`` (ties count one half), with an interval from resampling the
  seeds of X and of Y independently (as rliable does; with seeds shared by the
  methods and scores correlated through them, this is conservative).
* **ranks** (:func:`rank_analysis`): per task, methods ranked on their mean
  score (1 = best, ties share the average rank); average ranks; the Friedman
  test (``scipy.stats.friedmanchisquare``) and its Iman-Davenport F; the
  Nemenyi post-hoc (p-values as ``scikit_posthocs.posthoc_nemenyi_friedman``)
  with its critical difference
  ``q_alpha * sqrt(k (k + 1) / (6 N))``, ``q_alpha`` the studentized range
  quantile (``scipy.stats.studentized_range``, df = inf) over sqrt(2); and
  pairwise Wilcoxon signed-rank tests on the per-task means, Holm-adjusted
  (Benavoli et al. 2016 prefer these to tests on mean ranks).

Missing runs: a (method, task) with fewer seeds uses the seeds it has (its task
mean over them; its runs in the pooled statistics). A task where some method has
no finite value at all is left out of every statistic of the benchmark (so
every method is measured on the same tasks), and named.

Reproducibility: every resample is drawn from a generator built on
``SeedSequence(seed, spawn_key=(stream_key("benchmark"), stream_key(metric),
stream_key(method)))``: the same scores and seed give the same intervals, bit
for bit, whatever the order of methods and whatever the global NumPy state.

Honesty at small n: the percentile bootstrap's interval is too narrow with few
seeds (the bootstrap variance of a mean is ``(n - 1) / n`` of the plug-in one).
:data:`COVERAGE` holds the coverage measured by ``scripts/bench_benchmark_coverage.py``
(BENCHMARKS.md); :func:`coverage_caveat` turns it into the report's warning.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..seeds import check_seed, stream_key
from .ranks import cd_cliques, critical_difference, rank_analysis
from .tasks import check_task, normalize, score_table, split_group, task_pairs

__all__ = [
    "AGGREGATES", "COVERAGE", "COVERAGE_SLACK", "split_group", "check_task", "task_pairs", "check_normalize", "section", "BENCHMARK_DEFAULTS", "check_benchmark_options", "normalize", "aggregates", "stratified_draws",
    "aggregates_bootstrap", "percentile_interval", "profile", "profile_bootstrap", "improvement",
    "improvement_bootstrap", "rank_analysis", "critical_difference", "cd_cliques", "coverage_caveat",
    "score_table", "analyze",
]

#: The aggregates of normalised scores, in the order of the tables.
AGGREGATES = ("mean", "median", "iqm", "optimality_gap")

#: Coverage (%) of the stratified bootstrap's 95% percentile interval in Monte Carlo:
#: ``COVERAGE[statistic][(seeds, tasks)] = (normal scores, skewed scores)``.
#: Written by ``scripts/bench_benchmark_coverage.py`` (BENCHMARKS.md has the table and the set-up).
COVERAGE: dict[str, dict[tuple[int, int], tuple[float, float]]] = {
    'mean': {(3, 5): (84.8, 83.6), (3, 10): (85.3, 84.1), (3, 20): (88.6, 89.3), (5, 5): (89.1, 87.9), (5, 10): (91.3, 91.2), (5, 20): (92.8, 91.5), (10, 5): (92.2, 92.2), (10, 10): (94.3, 92.8), (10, 20): (93.5, 92.9)},
    'median': {(3, 5): (84.3, 77.6), (3, 10): (79.4, 72.9), (3, 20): (89.8, 84.2), (5, 5): (92.3, 88.7), (5, 10): (86.7, 79.4), (5, 20): (91.1, 89.0), (10, 5): (97.0, 93.6), (10, 10): (93.3, 86.0), (10, 20): (93.1, 89.8)},
    'iqm': {(3, 5): (81.6, 81.9), (3, 10): (86.2, 83.3), (3, 20): (89.0, 87.6), (5, 5): (91.7, 89.9), (5, 10): (90.3, 89.6), (5, 20): (90.9, 91.6), (10, 5): (93.6, 93.2), (10, 10): (93.8, 91.9), (10, 20): (92.7, 91.6)},
    'optimality_gap': {(3, 5): (84.7, 83.7), (3, 10): (85.0, 84.1), (3, 20): (88.5, 89.4), (5, 5): (89.1, 87.8), (5, 10): (91.9, 91.2), (5, 20): (92.8, 91.6), (10, 5): (92.3, 92.2), (10, 10): (94.2, 92.8), (10, 20): (93.8, 92.7)},
}

#: An interval is flagged when its measured coverage is below ``level - COVERAGE_SLACK`` (93% at 95%).
COVERAGE_SLACK = 0.02

#: Thresholds of a performance profile.
N_THRESHOLDS = 101



def _rng(seed: int, *names: str) -> np.random.Generator:
    seq = np.random.SeedSequence(entropy=seed, spawn_key=tuple(stream_key(n) for n in ("benchmark", *names)))
    return np.random.Generator(np.random.PCG64(seq))


# --------------------------------------------------------------------------- aggregates


def aggregates(columns: Sequence[np.ndarray], *, gamma: float | None = 1.0) -> dict[str, float | None]:
    """Mean and median of the per-task means, IQM and optimality gap of all runs.

    Parameters
    ----------
    columns : sequence of 1-D arrays
        One method's scores, one array per task (lengths may differ).
    gamma : float or None
        The optimality gap's target; None: no gap.

    Examples
    --------
    >>> a = aggregates([np.array([0.2, 0.4]), np.array([0.6, 0.8]), np.array([1.0, 1.2])])
    >>> {k: round(v, 4) for k, v in a.items()}
    {'mean': 0.7, 'median': 0.7, 'iqm': 0.7, 'optimality_gap': 0.3333}
    """
    from scipy import stats

    means = np.array([np.mean(c) for c in columns])
    pooled = np.concatenate(columns)
    return {"mean": float(np.mean(means)), "median": float(np.median(means)),
            "iqm": float(stats.trim_mean(pooled, proportiontocut=0.25, axis=None)),
            "optimality_gap": None if gamma is None else float(gamma - np.mean(np.minimum(pooled, gamma)))}


def stratified_draws(sizes: Sequence[int], rng: np.random.Generator, n_resamples: int) -> list[np.ndarray]:
    """Resample indices, task by task: ``draws[t][b]`` are the ``sizes[t]`` runs of task ``t`` in resample ``b``.

    Examples
    --------
    >>> d = stratified_draws([3, 2], np.random.default_rng(0), 4)
    >>> [x.shape for x in d]
    [(4, 3), (4, 2)]
    """
    return [rng.integers(0, n, size=(n_resamples, n)) for n in sizes]


def _gather(columns: Sequence[np.ndarray], draws: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per resample: the task means (B, T) and the pooled runs (B, N)."""
    taken = [c[d] for c, d in zip(columns, draws)]
    return np.stack([x.mean(axis=1) for x in taken], axis=1), np.concatenate(taken, axis=1)


def aggregates_bootstrap(columns: Sequence[np.ndarray], draws: Sequence[np.ndarray], *,
                         gamma: float | None = 1.0) -> dict[str, np.ndarray | None]:
    """The :func:`aggregates` of every resample (arrays of length B)."""
    means, pooled = _gather(columns, draws)
    n = pooled.shape[1]
    low = int(0.25 * n)  # scipy.stats.trim_mean's cut: int(proportion * n) each side
    high = n - low
    part = np.partition(pooled, (low, high - 1), axis=1) if high - 1 > low else np.sort(pooled, axis=1)
    return {"mean": means.mean(axis=1), "median": np.median(means, axis=1),
            "iqm": part[:, low:high].mean(axis=1),
            "optimality_gap": None if gamma is None else gamma - np.minimum(pooled, gamma).mean(axis=1)}


def percentile_interval(boot: np.ndarray, confidence: float) -> tuple[Any, Any, Any]:
    """Percentile interval (linear interpolation, as ``numpy.percentile``) along axis 0, and its Monte Carlo error.

    The error of an endpoint is ``sd(boot) * sqrt(a (1 - a) / B) / phi(z_a)``
    (a normal approximation of the density at the quantile), ``a = (1 - confidence) / 2``.
    """
    from scipy import stats

    boot = np.asarray(boot, dtype=float)
    a = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [a, 1.0 - a], axis=0)
    se = boot.std(axis=0) * math.sqrt(a * (1 - a) / boot.shape[0]) / stats.norm.pdf(stats.norm.ppf(a))
    return low, high, se


def thresholds(columns_by_method: Iterable[Sequence[np.ndarray]], n: int = N_THRESHOLDS) -> np.ndarray:
    """``n`` evenly spaced thresholds over the range of every score of every method."""
    values = np.concatenate([np.concatenate(cols) for cols in columns_by_method])
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n)


def profile(columns: Sequence[np.ndarray], taus: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Fraction of all runs scoring above each threshold (below, for lower-is-better scores)."""
    pooled = np.concatenate(columns)
    cmp = pooled[:, None] > taus[None, :] if higher_is_better else pooled[:, None] < taus[None, :]
    return cmp.mean(axis=0)


def profile_bootstrap(columns: Sequence[np.ndarray], draws: Sequence[np.ndarray], taus: np.ndarray, *,
                      higher_is_better: bool = True) -> np.ndarray:
    """The :func:`profile` of every resample, (B, len(taus)), in O(B (N + K)) memory and time."""
    pooled = np.concatenate(columns)
    offsets = np.cumsum([0, *[len(c) for c in columns[:-1]]])
    idx = np.concatenate([d + o for d, o in zip(draws, offsets)], axis=1)  # (B, N) into pooled
    b, n = idx.shape
    k = len(taus)
    side = "left" if higher_is_better else "right"
    bins = np.searchsorted(taus, pooled, side=side)[idx]  # thresholds below (or at) each drawn run
    hist = np.bincount((bins + (k + 1) * np.arange(b)[:, None]).ravel(), minlength=b * (k + 1)).reshape(b, k + 1)
    if higher_is_better:  # x > tau_k  <=>  k < bins
        above = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
    else:  # x < tau_k  <=>  bins <= k
        above = np.cumsum(hist, axis=1)[:, :k]
    return above / n


# --------------------------------------------------------------------------- probability of improvement


def _wins(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``W[i, j] = 1 if x_i > y_j, 1/2 if equal, 0 else``."""
    return (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])


def improvement(x_columns: Sequence[np.ndarray], y_columns: Sequence[np.ndarray]) -> float:
    """``P(X > Y)``: per task the Mann-Whitney U over ``n_x n_y`` (ties 1/2), averaged over tasks.

    Examples
    --------
    >>> improvement([np.array([1.0, 2.0])], [np.array([0.0, 2.0])])
    0.625
    """
    return float(np.mean([_wins(x, y).mean() for x, y in zip(x_columns, y_columns)]))


def _counts(draws: np.ndarray, n: int) -> np.ndarray:
    """How often each run appears in each resample, (B, n), in the smallest unsigned integer type that holds n."""
    b = draws.shape[0]
    counts = np.bincount((draws + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)
    return counts.astype(np.uint8 if n < 256 else np.uint16 if n < 65536 else np.uint32)


def improvement_bootstrap(x_columns: Sequence[np.ndarray], y_columns: Sequence[np.ndarray],
                          x_counts: Sequence[np.ndarray], y_counts: Sequence[np.ndarray]) -> np.ndarray:
    """:func:`improvement` of every resample, from each method's own resample counts (:func:`_counts`).

    Per task, ``P_b = c_x,b W c_y,b / (n_x n_y)`` with ``W`` the win matrix of
    the original runs and ``c`` how often each run was drawn: tasks of one shape
    go through one batched matrix product.
    """
    shapes: dict[tuple[int, int], list[int]] = {}
    for t, (x, y) in enumerate(zip(x_columns, y_columns)):
        shapes.setdefault((len(x), len(y)), []).append(t)
    total = np.zeros(x_counts[0].shape[0])
    for (nx, ny), ts in shapes.items():
        # float32 is exact here: every product and partial sum is a multiple of 1/2 below n_x n_y max(n_x, n_y) <= 2**22
        dtype = np.float32 if nx * ny * max(nx, ny) <= 2 ** 22 else np.float64
        w = np.stack([_wins(x_columns[t], y_columns[t]) for t in ts]).astype(dtype)  # (G, nx, ny)
        cx = np.stack([x_counts[t] for t in ts]).astype(dtype)  # (G, B, nx)
        cy = np.stack([y_counts[t] for t in ts]).astype(dtype)
        total += np.einsum("gbj,gbj->b", np.matmul(cx, w), cy, dtype=np.float64) / (nx * ny)
    return total / len(x_columns)


# --------------------------------------------------------------------------- honesty at small n


def _coverage(statistic: str, seeds: int, tasks: int,
              table: Mapping[str, Mapping[tuple[int, int], tuple[float, float]]] | None = None
              ) -> tuple[int, int, float] | None:
    """``(seeds, tasks, coverage %)`` of the table's cell for this benchmark (see :func:`coverage_caveat`)."""
    table = COVERAGE if table is None else table
    cells = table.get(statistic) or {}
    if not cells:
        return None
    seed_counts = sorted({s for s, _ in cells})
    below = [s for s in seed_counts if s <= seeds]
    s = below[-1] if below else seed_counts[0]
    t = min({t for _, t in cells}, key=lambda x: (abs(x - tasks), x))
    return s, t, min(cells[(s, t)])


def coverage_caveat(statistic: str, seeds: int, tasks: int, confidence: float = 0.95,
                    table: Mapping[str, Mapping[tuple[int, int], tuple[float, float]]] | None = None) -> str | None:
    """A warning when :data:`COVERAGE` says the interval under-covers at this many seeds and tasks, else None.

    The cell used is the one with the most seeds not above ``seeds`` and the
    task count nearest ``tasks``; below the smallest seed count of the table,
    the smallest one (coverage there is no better). Flagged when the worse of
    the normal and the skewed coverage is below ``95 - 100 * COVERAGE_SLACK``.
    """
    found = _coverage(statistic, seeds, tasks, table)
    if found is None or found[2] >= 100 * (0.95 - COVERAGE_SLACK):
        return None
    s, t, cover = found
    what = "at" if (s, t) == (seeds, tasks) else "near"
    return (f"{statistic}: with {seeds} seed(s) x {tasks} task(s) the stratified bootstrap interval is too narrow: "
            f"{what} {s} seeds x {t} tasks its 95% interval covered {cover:.0f}% in Monte Carlo (BENCHMARKS.md); "
            f"run more seeds")


# --------------------------------------------------------------------------- the analysis


def _resampled(columns: Mapping[str, list[np.ndarray]], taus: np.ndarray, *, seed: int, metric: str,
               n_resamples: int, confidence: float, gamma: float | None, hib: bool) -> tuple[dict, dict, dict]:
    """Per method: its aggregates with intervals, its profile with a band, and its resample counts (for P(X > Y)).

    One method's resamples at a time: memory ~ resamples x (runs of one method).
    """
    agg: dict[str, Any] = {}
    prof: dict[str, Any] = {}
    counts: dict[str, list[np.ndarray]] = {}
    for m in sorted(columns):
        draws = stratified_draws([len(c) for c in columns[m]], _rng(seed, metric, m), n_resamples)
        point = aggregates(columns[m], gamma=gamma)
        boot = aggregates_bootstrap(columns[m], draws, gamma=gamma)
        agg[m] = {}
        for name in AGGREGATES:
            if point[name] is None:
                agg[m][name] = None
                continue
            low, high, se = percentile_interval(boot[name], confidence)
            agg[m][name] = {"estimate": point[name], "ci_low": float(low), "ci_high": float(high), "mc_se": float(se)}
        pb = profile_bootstrap(columns[m], draws, taus, higher_is_better=hib)
        low, high, _ = percentile_interval(pb, confidence)
        prof[m] = {"fraction": profile(columns[m], taus, higher_is_better=hib).tolist(),
                   "ci_low": low.tolist(), "ci_high": high.tolist()}
        counts[m] = [_counts(d, len(c)) for d, c in zip(draws, columns[m])]
        del draws, boot, pb
    return agg, prof, counts


def _coverage_warning(agg: Mapping[str, Any], methods: Sequence[str], min_seeds: int, n_tasks: int) -> str | None:
    """The caveat when the stratified bootstrap's measured coverage near this design is under the slack."""
    flagged = [(name, _coverage(name, min_seeds, n_tasks)) for name in AGGREGATES
               if any(agg[m][name] is not None for m in methods)]
    flagged = [(name, c) for name, c in flagged if c is not None and c[2] < 100 * (0.95 - COVERAGE_SLACK)]
    if flagged:
        (s_, t_, _), exact = flagged[0][1], flagged[0][1][:2] == (min_seeds, n_tasks)
        return (f"the stratified bootstrap intervals are too narrow at {min_seeds} seed(s) x {n_tasks} task(s): "
                f"{'at' if exact else 'near'} {s_} seeds x {t_} tasks their 95% intervals covered "
                + ", ".join(f"{name.replace('_', ' ')} {c[2]:.0f}%" for name, c in flagged)
                + " in Monte Carlo (BENCHMARKS.md); read them as too short, and run more seeds")
    return None


def analyze(scores: Mapping[str, Mapping[str, np.ndarray]], *, metric: str = "score", higher_is_better: bool = True,
            normalization: Any = None, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
            seeds: Mapping[str, Mapping[str, Sequence[int]]] | None = None,
            missing: Sequence[Mapping[str, Any]] = (), task_key: str | None = None) -> dict[str, Any]:
    """The benchmark section of a summary for one metric.

    Parameters
    ----------
    scores : mapping method -> task -> 1-D array
        Finite values, one per seed (see :func:`score_table`).
    metric : str
        Its name (also a part of the resampling's stream names).
    higher_is_better : bool
    normalization : {None, "minmax", mapping task -> [worst, best]}
        See :func:`normalize`.
    confidence : float
    n_resamples : int
        Bootstrap resamples (shared by the aggregates, profiles and P(X > Y) of a method).
    seed : int
        The resampling's seed (:func:`seedexp.seeds.check_seed`).
    seeds, missing, task_key
        From :func:`score_table`: the seeds behind each cell, the runs that gave no value.

    Returns
    -------
    dict
        JSON-ready: ``methods``, ``tasks`` (used) and ``tasks_dropped``,
        ``n_seeds`` per (method, task), ``normalization``, ``aggregates`` (per
        method and statistic: estimate, ci_low, ci_high, mc_se),
        ``profiles`` (thresholds, per method fraction and band),
        ``improvement`` (per ordered pair, P and interval), ``ranks``
        (:func:`rank_analysis`), ``missing``, ``warnings``, ``method``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = {m: {t: rng.normal(mu + 0.1 * i, 0.05, 5) for i, t in enumerate("abcde")}
    ...      for m, mu in (("good", 0.8), ("bad", 0.5))}
    >>> out = analyze(s, n_resamples=500)
    >>> out["ranks"]["mean_ranks"]
    {'bad': 2.0, 'good': 1.0}
    >>> out["improvement"][0]["a"], round(out["improvement"][0]["p"], 2)
    ('bad', 0.0)
    """
    seed = check_seed(seed, "report.bootstrap_seed")
    methods = sorted(scores)
    all_tasks = sorted({t for per in scores.values() for t in per})
    dropped = []
    for t in all_tasks:
        lacking = [m for m in methods if t not in scores[m] or len(scores[m][t]) == 0]
        if lacking:
            dropped.append({"task": t, "methods_without_value": lacking})
    tasks = [t for t in all_tasks if t not in {d["task"] for d in dropped}]
    warn: list[str] = []
    for d in dropped:
        warn.append(f"task {d['task']} is left out of the benchmark: {', '.join(d['methods_without_value'])} has no "
                    "finite value on it (every method must be measured on the same tasks)")
    out: dict[str, Any] = {"metric": metric, "task_key": task_key, "methods": methods, "tasks": tasks,
                           "tasks_dropped": dropped, "higher_is_better": higher_is_better,
                           "missing": [dict(x) for x in missing], "warnings": warn}
    if len(methods) < 2 or not tasks:
        warn.append("no benchmark statistic: it needs two methods measured on at least one common task")
        out.update(normalization=None, aggregates={}, profiles=None, improvement=[], ranks=None, n_seeds={})
        return out
    used = {m: {t: np.asarray(scores[m][t], dtype=float) for t in tasks} for m in methods}
    if isinstance(normalization, Mapping):
        normalization = {k: v for k, v in normalization.items()}  # references for dropped tasks are fine
        for d in dropped:
            normalization.pop(d["task"], None)
    normed, refs, notes = normalize(used, normalization, higher_is_better=higher_is_better)
    warn.extend(notes)
    hib = True if refs is not None else higher_is_better
    gamma = 1.0 if hib else None
    n_seeds = {m: {t: int(len(used[m][t])) for t in tasks} for m in methods}
    min_seeds = min(min(per.values()) for per in n_seeds.values())
    out["n_seeds"] = n_seeds
    out["normalization"] = {"kind": "raw" if refs is None else ("minmax" if normalization == "minmax" else "reference"),
                            "references": None if refs is None else {t: list(v) for t, v in refs.items()},
                            "gamma": gamma}

    columns = {m: [normed[m][t] for t in tasks] for m in methods}
    taus = thresholds(columns.values())
    agg, prof, counts = _resampled(columns, taus, seed=seed, metric=metric, n_resamples=n_resamples,
                                   confidence=confidence, gamma=gamma, hib=hib)
    caveat = _coverage_warning(agg, methods, min_seeds, len(tasks))
    if caveat is not None:
        warn.append(caveat)

    oriented = {m: [c if hib else -c for c in columns[m]] for m in methods}
    pairs = []
    for a, b in itertools.combinations(methods, 2):
        p = improvement(oriented[a], oriented[b])
        boot = improvement_bootstrap(oriented[a], oriented[b], counts[a], counts[b])
        low, high, se = percentile_interval(boot, confidence)
        pairs.append({"a": a, "b": b, "p": p, "ci_low": float(low), "ci_high": float(high), "mc_se": float(se)})
    del counts

    matrix = np.array([[float(np.mean(normed[m][t])) * (1 if hib else -1) for m in methods] for t in tasks])
    ranks = rank_analysis(matrix, methods, alpha=1.0 - confidence)
    if len(tasks) < 5 and len(methods) >= 3:
        warn.append(f"{len(tasks)} task(s): the Friedman test and the Nemenyi critical difference lean on many tasks "
                    "(Demsar 2006 uses them from about 10); read the ranks as a description")

    out.update(aggregates=agg, improvement=pairs, ranks=ranks,
               profiles={"thresholds": taus.tolist(), "higher_is_better": hib, "methods": prof})
    out["method"] = (f"{len(methods)} methods x {len(tasks)} tasks x {min_seeds}"
                     + (f"-{max(max(p.values()) for p in n_seeds.values())}" if
                        max(max(p.values()) for p in n_seeds.values()) != min_seeds else "")
                     + f" seeds; stratified bootstrap ({n_resamples} resamples, percentile, seed {seed}), "
                     f"{100 * confidence:g}% intervals")
    return out


# --------------------------------------------------------------------------- options and the summary's section

#: The benchmark's report options (``report.task``, ``report.normalize``), part of the summary's options.
BENCHMARK_DEFAULTS: dict[str, Any] = {"task": None, "normalize": None}


def check_benchmark_options(out: dict[str, Any], label: Any) -> None:
    """Check and normalise ``task`` and ``normalize`` in ``out`` in place; ``label(name)`` spells an option."""
    task = out["task"]
    if task is not None and (not isinstance(task, str) or not task.strip()):
        raise ConfigError(f"{label('task')}={task!r}: expected the swept key whose values are the tasks "
                          "(e.g. experiment.dataset), or null")
    out["normalize"] = check_normalize(out["normalize"], label("normalize"))



def check_normalize(value: Any, label: str = "report.normalize") -> Any:
    """``None``, ``"minmax"`` or ``{task: (worst, best)}``, from a Python value or command-line text.

    Text: ``minmax``, ``none``, or ``TASK=WORST:BEST,...`` (e.g. ``digits=0.1:1,wine=0.4:1``).
    Which tasks the mapping must name is checked against the sweep (:func:`normalize`).

    Examples
    --------
    >>> check_normalize("digits=0.1:1,wine=0.4:1")
    {'digits': (0.1, 1.0), 'wine': (0.4, 1.0)}
    >>> check_normalize("zscore")
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: report.normalize='zscore': expected null (raw scores), minmax, or {task: [worst, best]} (text: task=worst:best,...)
    """
    fix = "expected null (raw scores), minmax, or {task: [worst, best]} (text: task=worst:best,...)"
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("none", "null", "raw", ""):
            return None
        if text.lower() == "minmax":
            return "minmax"
        if "=" not in text:
            raise ConfigError(f"{label}={value!r}: {fix}")
        pairs = {}
        for item in (i for i in text.split(",") if i.strip()):
            task, _, ends = item.partition("=")
            worst, sep, best = ends.partition(":")
            if not sep:
                raise ConfigError(f"{label}={value!r}: {task.strip()}={ends!r} is not worst:best; {fix}")
            pairs[task.strip()] = [worst.strip(), best.strip()]
        value = pairs
    if not isinstance(value, Mapping):
        raise ConfigError(f"{label}={value!r}: {fix}")
    out = {}
    for task, ends in value.items():
        try:
            worst, best = (float(x) for x in ends)
        except (TypeError, ValueError):
            raise ConfigError(f"{label}.{task}={ends!r}: expected [worst, best], two numbers, e.g. [0.1, 1.0]") from None
        if not (math.isfinite(worst) and math.isfinite(best)) or worst == best:
            raise ConfigError(f"{label}.{task}={ends!r}: expected two different finite numbers [worst, best]")
        out[str(task)] = (worst, best)
    return out


def section(runs: Sequence[Mapping[str, Any]], options: Mapping[str, Any], metrics: Sequence[str],
            higher_is_better: Mapping[str, bool]) -> dict[str, Any]:
    """The ``benchmark`` section of a summary: :func:`analyze` per metric (the primary one, if declared).

    ``options`` are the checked report options (``task``, ``normalize``,
    ``confidence``, ``n_resamples``, ``bootstrap_seed``, ``primary_metric``).
    """
    task_key = options["task"]
    by_task = check_task((r["group"] for r in runs), task_key)
    chosen = [options["primary_metric"]] if options.get("primary_metric") else list(metrics)
    out: dict[str, Any] = {"task_key": task_key, "tasks": sorted(by_task),
                           "methods": sorted({m for ms in by_task.values() for m in ms}), "metrics": {}}
    for metric in chosen:
        scores, seeds, missing = score_table(runs, task_key, metric)
        out["metrics"][metric] = analyze(
            scores, metric=metric, higher_is_better=higher_is_better.get(metric, True),
            normalization=options.get("normalize"), confidence=options["confidence"],
            n_resamples=options["n_resamples"], seed=options["bootstrap_seed"], seeds=seeds, missing=missing,
            task_key=task_key)
    return out
