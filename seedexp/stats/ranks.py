"""Average ranks across tasks: the Friedman test, its post-hoc tests and the critical difference (Demsar 2006).

Pure functions on a tasks x methods matrix of per-task scores (part of a
benchmark's analysis, :mod:`seedexp.stats.benchmark`); checked against
autorank, scipy and scikit-posthocs in ``tests/test_benchmark_reference.py``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from .estimators import _num

__all__ = ["critical_difference", "cd_cliques", "rank_analysis"]


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks: ``q_alpha sqrt(k (k + 1) / (6 n))`` (Demsar 2006).

    ``q_alpha`` is the studentized range quantile for ``k`` means and infinite
    degrees of freedom over sqrt(2) (``scipy.stats.studentized_range``).

    Examples
    --------
    >>> round(critical_difference(4, 14), 4)  # Demsar 2006, section 3.2.2: CD = 1.25 at q_0.05 = 2.569
    1.2536
    """
    from scipy import stats

    q = float(stats.studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def cd_cliques(mean_ranks: Mapping[str, float], cd: float) -> list[list[str]]:
    """The maximal runs of methods (in rank order) whose average ranks lie within ``cd`` of each other.

    These are the bars of a critical-difference diagram: methods joined by one
    are not told apart by the Nemenyi test.

    Examples
    --------
    >>> cd_cliques({"a": 1.0, "b": 1.5, "c": 2.9, "d": 3.2}, 1.0)
    [['a', 'b'], ['c', 'd']]
    """
    order = sorted(mean_ranks, key=lambda m: (mean_ranks[m], m))
    cliques, reach = [], -1
    for i, m in enumerate(order):
        j = i
        while j + 1 < len(order) and mean_ranks[order[j + 1]] - mean_ranks[m] <= cd:
            j += 1
        if j > i and j > reach:
            cliques.append(order[i:j + 1])
            reach = j
    return cliques


def rank_analysis(matrix: np.ndarray, methods: Sequence[str], *, alpha: float = 0.05) -> dict[str, Any]:
    """Average ranks, Friedman, Nemenyi (with its critical difference) and Wilcoxon-Holm on a tasks x methods table.

    Parameters
    ----------
    matrix : (N tasks, k methods) array
        Each method's mean score on each task, higher is better.
    methods : sequence of str
    alpha : float
        Level of the critical difference and of the verdicts.

    Returns
    -------
    dict
        ``mean_ranks`` {method: rank}, ``friedman`` {statistic, pvalue,
        iman_davenport, id_pvalue} (None with fewer than 3 methods), ``cd``,
        ``cliques``, ``nemenyi`` and ``wilcoxon`` lists of pairs
        {a, b, pvalue, (p_adjusted)}.
    """
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    m = np.asarray(matrix, dtype=float)
    n, k = m.shape
    ranks = stats.rankdata(-m, axis=1, method="average")
    mean_ranks = ranks.mean(axis=0)
    out: dict[str, Any] = {"n_tasks": n, "mean_ranks": {a: float(r) for a, r in zip(methods, mean_ranks)},
                           "friedman": None, "cd": None, "cliques": [], "nemenyi": [], "wilcoxon": []}
    if k >= 3 and n >= 2:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.friedmanchisquare(*m.T)
        chi2 = _num(res.statistic)
        if chi2 is not None:
            denom = n * (k - 1) - chi2
            f = (n - 1) * chi2 / denom if denom > 0 else None
            out["friedman"] = {"statistic": chi2, "pvalue": _num(res.pvalue), "iman_davenport": _num(f),
                               "id_pvalue": _num(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if f is not None else None,
                               "df": k - 1}
    if k >= 2 and n >= 1:
        cd = critical_difference(k, n, alpha)
        out["cd"] = cd
        out["cliques"] = cd_cliques(out["mean_ranks"], cd)
        scale = math.sqrt(k * (k + 1) / (6.0 * n))
        for i, j in itertools.combinations(range(k), 2):
            q = abs(mean_ranks[i] - mean_ranks[j]) / scale
            p = float(stats.studentized_range.sf(q * math.sqrt(2.0), k, np.inf))
            out["nemenyi"].append({"a": methods[i], "b": methods[j], "rank_diff": float(mean_ranks[i] - mean_ranks[j]),
                                   "pvalue": min(1.0, p), "significant": bool(abs(mean_ranks[i] - mean_ranks[j]) > cd)})
    pvals = []
    for i, j in itertools.combinations(range(k), 2):
        d = m[:, i] - m[:, j]
        p = None
        if n >= 1 and np.any(d != 0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = _num(stats.wilcoxon(m[:, i], m[:, j]).pvalue)
        pvals.append(p)
        out["wilcoxon"].append({"a": methods[i], "b": methods[j], "wins": int(np.sum(d > 0)), "losses": int(np.sum(d < 0)),
                                "ties": int(np.sum(d == 0)), "pvalue": p})
    given = [p for p in pvals if p is not None]
    adjusted = iter(multipletests(given, method="holm")[1] if given else [])
    for row in out["wilcoxon"]:
        row["p_adjusted"] = float(next(adjusted)) if row["pvalue"] is not None else None
        row["significant"] = row["p_adjusted"] is not None and row["p_adjusted"] < alpha
    return out
