"""A benchmark's score table: runs grouped by method and task, their pairs, and normalised scores.

The task is one swept key of the group names (``report.task``); the method is
the rest of the group. Part of a benchmark's analysis (:mod:`seedexp.stats.benchmark`).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError

__all__ = ["split_group", "check_task", "score_table", "task_pairs", "normalize"]

_OVERRIDE_START = re.compile(r",(?=[+~]{0,2}[A-Za-z_][\w./@-]*=)")


def split_group(group: str, task_key: str) -> tuple[str | None, str]:
    """``(task, method)`` of a group name: the task is the value of ``task_key``, the method the rest.

    Examples
    --------
    >>> split_group("experiment.dataset=wine,experiment.model=rf", "experiment.dataset")
    ('wine', 'experiment.model=rf')
    >>> split_group("dataset=digits", "dataset")
    ('digits', '(defaults)')
    >>> split_group("model=rf", "dataset")
    (None, 'model=rf')
    """
    parts = _OVERRIDE_START.split(group) if group != "(defaults)" else []
    task, rest = None, []
    for part in parts:
        key, _, value = part.partition("=")
        if key.lstrip("+~") == task_key:
            task = value
        else:
            rest.append(part)
    return task, ",".join(rest) if rest else "(defaults)"


def check_task(groups: Iterable[str], task_key: str) -> dict[str, list[str]]:
    """``{task: [methods]}`` of the groups; one-line errors for a key that is not swept or a task with one method.

    Raises
    ------
    ConfigError
        ``task_key`` is not a swept key of every group (the keys that are, named), or
        a task was run with one method only.

    Examples
    --------
    >>> check_task(["d=a,m=x", "d=a,m=y", "d=b,m=x", "d=b,m=y"], "d")
    {'a': ['m=x', 'm=y'], 'b': ['m=x', 'm=y']}
    >>> check_task(["d=a,m=x", "d=a,m=y"], "dataset")
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: report.task='dataset' is not a swept key of group 'd=a,m=x'; name the key whose values are the tasks, one of: d, m (e.g. report.task=d)
    """
    by_task: dict[str, set[str]] = {}
    for group in sorted(set(groups)):
        task, method = split_group(group, task_key)
        if task is None:
            keys = sorted({p.partition("=")[0].lstrip("+~") for p in _OVERRIDE_START.split(group) if "=" in p})
            raise ConfigError(f"report.task={task_key!r} is not a swept key of group {group!r}; name the key whose "
                              f"values are the tasks, one of: {', '.join(keys) or '(none: nothing is swept)'} "
                              f"(e.g. report.task={keys[0] if keys else 'experiment.dataset'})")
        by_task.setdefault(task, set()).add(method)
    for task, methods in sorted(by_task.items()):
        if len(methods) < 2:
            raise ConfigError(f"task {task_key}={task} was run with one method only ({next(iter(methods))}); a "
                              "benchmark compares methods on every task: run the other methods on it, or check that "
                              f"report.task={task_key} names the task and not the method")
    return {t: sorted(m) for t, m in sorted(by_task.items())}


def score_table(runs: Iterable[Mapping[str, Any]], task_key: str, metric: str
                ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, list[int]]], list[dict[str, Any]]]:
    """Runs -> ``scores[method][task]`` (values in seed order), their seeds, and the runs missing from it.

    Parameters
    ----------
    runs : iterable of dict
        ``{"group", "seed", "status", "metrics"}`` each (planned runs with status
        ``missing`` included: they are what makes a run count as missing).
    task_key : str
        The override that names the task, e.g. ``experiment.dataset``.
    metric : str

    Returns
    -------
    scores, seeds, missing
        ``missing``: one entry per (method, task) with runs that gave no finite
        value, ``{"method", "task", "seeds", "statuses"}``.

    Raises
    ------
    ConfigError
        As :func:`check_task`.
    """
    runs = list(runs)
    check_task((r["group"] for r in runs), task_key)
    cells: dict[tuple[str, str], dict[int, float | None]] = {}
    statuses: dict[tuple[str, str], dict[int, str]] = {}
    for r in runs:
        task, method = split_group(r["group"], task_key)
        value = None
        if r["status"] == "ok":
            v = (r.get("metrics") or {}).get(metric)
            if v is not None and math.isfinite(float(v)):
                value = float(v)
        cells.setdefault((method, task), {})[r["seed"]] = value
        statuses.setdefault((method, task), {})[r["seed"]] = r["status"]
    methods = sorted({m for m, _ in cells})
    scores: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}
    seeds: dict[str, dict[str, list[int]]] = {m: {} for m in methods}
    missing = []
    for (m, t), by_seed in sorted(cells.items()):
        ok = sorted(s for s, v in by_seed.items() if v is not None)
        scores[m][t] = np.array([by_seed[s] for s in ok], dtype=float)
        seeds[m][t] = ok
        lost = sorted(s for s, v in by_seed.items() if v is None)
        if lost:
            st = statuses[(m, t)]
            missing.append({"method": m, "task": t, "seeds": lost,
                            "statuses": [st[s] if st[s] != "ok" else "no value" for s in lost]})
    return scores, seeds, missing


def task_pairs(groups: Sequence[str], task_key: str, baseline: str | None) -> list[tuple[str, str]]:
    """The per-task paired comparisons of a benchmark: each method against ``baseline`` on each task; none without one.

    A benchmark's question is answered across tasks (the aggregates, P(X > Y),
    the ranks); per-task tests of every pair (tasks x methods^2 / 2 of them,
    corrected together) would be many weak tests of another question (Demsar
    2006). With a baseline method, its per-task comparisons stay.

    Raises
    ------
    ConfigError
        ``baseline`` names no method, or several.
    """
    if baseline is None:
        return []
    by_task: dict[str, dict[str, str]] = {}
    for g in groups:
        task, method = split_group(g, task_key)
        by_task.setdefault(str(task), {})[method] = g
    methods = sorted({m for per in by_task.values() for m in per})
    wanted = {p.strip() for p in baseline.split(",") if p.strip()}
    matches = [m for m in methods if m == baseline or wanted <= set(_OVERRIDE_START.split(m))]
    if len(matches) != 1:
        what = "matches no method" if not matches else f"matches {len(matches)} methods"
        raise ConfigError(f"baseline {baseline!r} {what} of the benchmark; its methods are: {'; '.join(methods)}. "
                          "Name one of them (e.g. report.baseline=experiment.model=lr)")
    base = matches[0]
    return [(per[m], per[base]) for t, per in sorted(by_task.items()) if base in per for m in sorted(per) if m != base]


def normalize(scores: Mapping[str, Mapping[str, np.ndarray]], how: Any, *, higher_is_better: bool = True
              ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, tuple[float, float]] | None, list[str]]:
    """Normalise each task's scores: ``(score - worst) / (best - worst)``.

    Parameters
    ----------
    scores : mapping method -> task -> array
    how : {None, "minmax", mapping task -> [worst, best]}
        None: raw scores. ``"minmax"``: worst and best over every run of every
        method on the task. A mapping: declared reference scores per task.
    higher_is_better : bool
        The metric's direction (for ``"minmax"``: which end is the worst).

    Returns
    -------
    normalised, references, notes
        ``references[task] = (worst, best)`` (None when raw); ``notes``: tasks
        whose runs all scored the same (normalised to 0).

    Raises
    ------
    ConfigError
        A reference for a task that is not in the benchmark, a task with no
        reference, or a reference whose two ends are equal.

    Examples
    --------
    >>> s = {"a": {"t": np.array([0.5, 1.0])}, "b": {"t": np.array([0.0])}}
    >>> n, ref, _ = normalize(s, "minmax")
    >>> n["a"]["t"].tolist(), ref
    ([0.5, 1.0], {'t': (0.0, 1.0)})
    >>> normalize(s, {"u": [0, 1]})
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: report.normalize names task(s) u that the benchmark does not have; its tasks are: t
    """
    tasks = sorted({t for per in scores.values() for t in per})
    notes: list[str] = []
    if how is None:
        return {m: dict(per) for m, per in scores.items()}, None, notes
    if how == "minmax":
        refs = {}
        for t in tasks:
            values = np.concatenate([per[t] for per in scores.values() if t in per])
            lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
            refs[t] = (lo, hi) if higher_is_better else (hi, lo)
    elif isinstance(how, Mapping):
        unknown = sorted(set(map(str, how)) - set(tasks))
        if unknown:
            raise ConfigError(f"report.normalize names task(s) {', '.join(unknown)} that the benchmark does not have; "
                              f"its tasks are: {', '.join(tasks)}")
        absent = [t for t in tasks if t not in {str(k) for k in how}]
        if absent:
            raise ConfigError(f"report.normalize has no reference scores for task(s) {', '.join(absent)}; give "
                              f"[worst, best] for every task, e.g. report.normalize={{{absent[0]}: [0.0, 1.0]}}, "
                              "or report.normalize=minmax")
        refs = {}
        for k, v in how.items():
            if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
                raise ConfigError(f"report.normalize.{k}={v!r}: expected [worst, best], two numbers, e.g. [0.1, 1.0]")
            if float(v[0]) == float(v[1]):
                raise ConfigError(f"report.normalize.{k}={list(v)!r}: worst and best are equal; nothing to scale by")
            refs[str(k)] = (float(v[0]), float(v[1]))
    else:
        raise ConfigError(f"report.normalize={how!r}: expected null (raw scores), minmax, or a mapping "
                          "{task: [worst, best]}")
    out: dict[str, dict[str, np.ndarray]] = {m: {} for m in scores}
    for t in tasks:
        worst, best = refs[t]
        if worst == best:
            notes.append(f"task {t}: every run scored {worst:g}; its normalised scores are 0")
        for m, per in scores.items():
            if t in per:
                out[m][t] = (per[t] - worst) / (best - worst) if worst != best else np.zeros_like(per[t])
    return out, refs, notes
