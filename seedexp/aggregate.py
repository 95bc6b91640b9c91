"""Sweep records -> statistics per configuration and metric; paired comparisons.

:func:`aggregate` is a pure function of a directory of ``result.json``
records (and the bootstrap seed): the same records give the same summary,
bit for bit, every time. Runs are grouped by their overrides minus the seed
(:func:`seedexp.record.group_of`): one group per configuration.

Data shape: for each group and metric, a 1-D array of the finite values of
its successful runs, one per seed.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import RecordError
from .record import RECORD_NAME, read_record
from .seeds import stream_key

SUMMARY_SCHEMA = "seedexp.summary/1"

#: Statistics computed per group and metric, in the order of summary.csv.
STAT_NAMES = (
    "n", "n_failed", "mean", "std", "sem", "median", "iqm", "min", "max",
    "ci_low", "ci_high", "t_ci_low", "t_ci_high",
)


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _rng(bootstrap_seed: int, *names: str) -> np.random.Generator:
    """A generator per (group, metric): independent of the order groups come in."""
    seq = np.random.SeedSequence(entropy=bootstrap_seed, spawn_key=tuple(stream_key(n) for n in names))
    return np.random.Generator(np.random.PCG64(seq))


def bootstrap_mean_ci(
    values: np.ndarray, rng: np.random.Generator, n_resamples: int = 2000, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of ``values``."""
    n = len(values)
    if n < 2:
        return (float(values[0]), float(values[0])) if n else (math.nan, math.nan)
    idx = rng.integers(0, n, size=(n_resamples, n))
    means = values[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def describe(values: Sequence[float], rng: np.random.Generator, *, n_resamples: int = 2000,
             confidence: float = 0.95) -> dict[str, float | None]:
    """The statistics of one group and metric (see :data:`STAT_NAMES`)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    n = len(x)
    out: dict[str, float | None] = {"n": n}
    if n == 0:
        return out | {k: None for k in STAT_NAMES[2:]}
    constant = bool(np.all(x == x[0]))  # exactly 0, not the 1e-16 rounding of the mean leaves
    std = (0.0 if constant else float(x.std(ddof=1))) if n > 1 else math.nan
    sem = std / math.sqrt(n) if n > 1 else math.nan
    mean = float(x[0]) if constant else float(x.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * sem if n > 1 else math.nan
    low, high = bootstrap_mean_ci(x, rng, n_resamples, confidence)
    out.update(
        mean=mean, std=_num(std), sem=_num(sem), median=float(np.median(x)),
        iqm=float(stats.trim_mean(x, 0.25)), min=float(x.min()), max=float(x.max()),
        ci_low=_num(low), ci_high=_num(high), t_ci_low=_num(mean - half), t_ci_high=_num(mean + half),
    )
    return out


def paired(a: Sequence[float], b: Sequence[float], rng: np.random.Generator, *, n_resamples: int = 2000,
           confidence: float = 0.95) -> dict[str, float | None]:
    """Compare two configurations seed by seed: ``a[i]`` and ``b[i]`` share a seed.

    Returns the mean difference ``a - b`` with its bootstrap CI, the paired
    t-test and Wilcoxon signed-rank p-values, and P(A > B), the probability
    that A beats B on a seed (ties count half).
    """
    from scipy import stats

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = xa - xb
    low, high = bootstrap_mean_ci(d, rng, n_resamples, confidence)
    t_p = wil_p = math.nan
    if len(d) > 1 and np.any(d != d[0]):
        t_p = float(stats.ttest_rel(xa, xb).pvalue)
    if np.any(d != 0):
        try:
            wil_p = float(stats.wilcoxon(xa, xb).pvalue)
        except ValueError:
            pass
    elif len(d):
        wil_p = 1.0
    return {
        "n_pairs": len(d),
        "mean_diff": _num(d.mean()) if len(d) else None,
        "ci_low": _num(low), "ci_high": _num(high),
        "t_pvalue": _num(t_p), "wilcoxon_pvalue": _num(wil_p),
        "p_a_gt_b": _num(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if len(d) else None,
    }


def load_records(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every record under ``sweep_dir``, and a message per unreadable one."""
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
        record["path"] = str(path.parent.relative_to(sweep_dir))
        records.append(record)
    if not records and not problems:
        raise RecordError(f"no {RECORD_NAME} under {str(sweep_dir)!r}; is it a seedexp sweep dir (hydra.sweep.dir)?")
    return records, problems


def summarize(records: Iterable[Mapping[str, Any]], *, bootstrap_seed: int = 0, n_resamples: int = 2000,
              confidence: float = 0.95) -> dict[str, Any]:
    """Statistics per group and metric, failures, and paired comparisons."""
    groups: dict[str, dict[str, Any]] = {}
    runs = []
    for rec in records:
        g = groups.setdefault(rec["group"], {"ok": {}, "failed": []})
        seed = rec["seed"]
        runs.append({"group": rec["group"], "seed": seed, "status": rec["status"], "path": rec.get("path"),
                     "metrics": rec.get("metrics", {})})
        if rec["status"] == "ok":
            g["ok"][seed] = rec.get("metrics", {})
        else:
            g["failed"].append({"group": rec["group"], "seed": seed, "path": rec.get("path"), **rec.get("error", {})})
    runs.sort(key=lambda r: (r["group"], str(r["seed"])))
    metric_names = sorted({m for g in groups.values() for ms in g["ok"].values() for m in ms})
    out_groups = []
    series: dict[tuple[str, str], dict[Any, float]] = {}
    for name in sorted(groups):
        g = groups[name]
        seeds = sorted(g["ok"], key=lambda s: (len(str(s)), str(s)))
        stats_by_metric = {}
        for metric in metric_names:
            by_seed = {s: g["ok"][s][metric] for s in seeds if g["ok"][s].get(metric) is not None}
            series[(name, metric)] = by_seed
            stats_by_metric[metric] = describe(
                list(by_seed.values()), _rng(bootstrap_seed, name, metric),
                n_resamples=n_resamples, confidence=confidence,
            ) | {"n_failed": len(g["failed"])}
        out_groups.append({
            "group": name, "n_runs": len(seeds) + len(g["failed"]), "n_ok": len(seeds),
            "n_failed": len(g["failed"]), "seeds": seeds, "metrics": stats_by_metric,
        })
    comparisons = []
    for metric in metric_names:
        for a, b in itertools.combinations(sorted(groups), 2):
            sa, sb = series[(a, metric)], series[(b, metric)]
            common = [s for s in sa if s in sb]
            if len(common) < 2:
                continue
            res = paired([sa[s] for s in common], [sb[s] for s in common], _rng(bootstrap_seed, a, b, metric),
                         n_resamples=n_resamples, confidence=confidence)
            comparisons.append({"metric": metric, "a": a, "b": b, **res})
    failures = [f for name in sorted(groups) for f in groups[name]["failed"]]
    return {
        "schema": SUMMARY_SCHEMA,
        "n_runs": len(runs),
        "n_ok": sum(1 for r in runs if r["status"] == "ok"),
        "n_failed": len(failures),
        "metrics": metric_names,
        "groups": out_groups,
        "comparisons": comparisons,
        "failures": failures,
        "bootstrap": {"seed": bootstrap_seed, "n_resamples": n_resamples, "confidence": confidence},
        "runs": runs,
    }


def aggregate(sweep_dir: Path, *, bootstrap_seed: int = 0, n_resamples: int = 2000,
              confidence: float = 0.95) -> dict[str, Any]:
    """Read every record under ``sweep_dir`` and summarize it (see :func:`summarize`).

    Unreadable records are listed under ``"corrupt"`` (and left on disk untouched).
    """
    from .seeds import check_seed

    check_seed(bootstrap_seed, "bootstrap_seed")
    records, problems = load_records(sweep_dir)
    summary = summarize(records, bootstrap_seed=bootstrap_seed, n_resamples=n_resamples, confidence=confidence)
    summary["sweep_dir"] = str(Path(sweep_dir))
    summary["corrupt"] = problems
    return summary
