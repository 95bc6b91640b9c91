"""A sweep as the trackers see it: the summary read through ONE adapter, and the records on disk.

:func:`read_sweep` is the only place that knows the field names of
``summary.json`` (schema ``seedexp.summary/...``): the trackers read a
:class:`Sweep`, whose names (:data:`STATS`, :data:`COMPARISON`) are the ones
users see in MLflow and TensorBoard and keep in their dashboards, whatever
the summary calls them. The complete summary of a group goes along as a
document (an MLflow artifact). Curves (:mod:`seedexp.stats.curves`): each group's
stepped aggregates (:data:`CURVE_STATS`) and each run's series file.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..errors import RecordError
from ..record import RECORD_NAME, TRACEBACK_NAME
from ..sweepdir import read_record
from ..series import SERIES_NAME

#: Statistics of a group and metric that trackers get: their name -> the summary's names, first match
#: wins (a nested ``{"interval": {"low": ...}}`` reads as ``interval/low``). ``ci_low``/``ci_high``
#: bound the headline interval of the mean.
STATS = {
    "mean": ("mean",),
    "ci_low": ("ci_low", "interval/low", "headline/low", "mean_ci_low", "low"),
    "ci_high": ("ci_high", "interval/high", "headline/high", "mean_ci_high", "high"),
    "n": ("n", "n_ok"),
    "std": ("std", "sd"),
    "median": ("median",),
}
#: Numbers of a paired comparison (group A vs group B) that trackers get, the same way.
COMPARISON = {
    "mean_diff": ("mean_diff", "diff", "mean_difference"),
    "ci_low": ("ci_low", "diff_ci_low", "interval/low"),
    "ci_high": ("ci_high", "diff_ci_high", "interval/high"),
    "pvalue": ("pvalue", "p", "p_value"),
    "p_adjusted": ("p_adjusted", "p_adj", "padj"),
    "d_z": ("d_z", "effect_size"),
    "win_rate": ("win_rate",),
    "n_pairs": ("n_pairs",),
}
#: The stepped aggregates of a curve that trackers get at every step: the mean, the pointwise interval
#: (``ci_low``/``ci_high``) and the simultaneous band (``band_low``/``band_high``).
CURVE_STATS = ("mean", "ci_low", "ci_high", "band_low", "band_high")
#: Numbers of a curve's scalar summary (final, best, auc...) that trackers get.
CURVE_SCALAR_STATS = ("mean", "ci_low", "ci_high", "n")


def curve_points(curve: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, float]]]:
    """``(step, {statistic: value})`` of a group's curve, for :data:`CURVE_STATS` (None values left out)."""
    points = curve.get("points") or {}
    steps = points.get("step") or []
    for i, step in enumerate(steps):
        values = {k: points[k][i] for k in CURVE_STATS if k in points and points[k][i] is not None}
        if values:
            yield int(step), values


#: Run counts of a group: its keys ``n_<status>`` (and ``n_runs``) are passed on as they are.
COUNT_PREFIX = "n_"


@dataclass
class Group:
    """One configuration: its overrides, run counts, statistics per metric, comparisons."""

    name: str
    slug: str
    overrides: dict[str, str]
    counts: dict[str, int]
    #: metric -> {statistic: number} (names of :data:`STATS`; absent where the summary has none)
    stats: dict[str, dict[str, float]]
    #: paired comparisons where this group is A: {"metric", "b", "b_slug", "numbers": {name of
    #: :data:`COMPARISON`: number}}
    comparisons: list[dict[str, Any]]
    #: the group's part of the summary, to store next to its runs
    document: dict[str, Any]
    #: metric -> the group's curve (``summary["curves"]``, :mod:`seedexp.stats.curves`): ``n``, ``points``
    #: (``step``, ``mean``, ``ci_low``, ``ci_high``, ``band_low``, ``band_high``...) and ``scalars``
    curves: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Run:
    """One run: its entry in the summary and its record (None when there is none, e.g. missing)."""

    group: str
    seed: int
    status: str
    path: str | None
    record: dict[str, Any] | None
    record_file: Path | None
    record_sha256: str | None
    traceback_file: Path | None
    #: the run's per-step series (``series.npz``), when it logged any
    series_file: Path | None = None

    def series(self) -> dict[str, tuple[Any, Any]]:
        """The run's series, ``{metric: (steps, values)}`` (empty when it has none or its file is unreadable)."""
        from ..series import read_series

        if self.series_file is None:
            return {}
        try:
            return read_series(self.series_file)
        except RecordError:
            return {}


@dataclass
class Sweep:
    sweep_dir: Path
    #: a stable id of the sweep (of its absolute path): the tag that finds its runs again
    sweep_id: str
    experiment: str | None
    metrics: list[str]
    confidence: float | None
    methods: dict[str, str]
    baseline: str | None
    groups: list[Group]
    runs: list[Run]
    notes: list[str] = field(default_factory=list)
    #: the paired comparisons of curve summaries (``summary["curves"]["comparisons"]``)
    curve_comparisons: list[dict[str, Any]] = field(default_factory=list)

    def runs_of(self, group: str) -> Iterator[Run]:
        return (r for r in self.runs if r.group == group)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"interval": {"low": 1}}`` -> ``{"interval/low": 1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _numbers(data: Mapping[str, Any], names: Mapping[str, tuple[str, ...]]) -> dict[str, float]:
    """Our name -> the finite number the summary holds under the first of its names that it has."""
    flat = _flat(data)
    out = {}
    for ours, theirs in names.items():
        found = next((flat[n] for n in theirs if n in flat), None)
        if (x := _number(found)) is not None:
            out[ours] = x
    return out


def slug(name: str) -> str:
    """A group's name as a path part and an MLflow key part.

    >>> slug("experiment.model=rf,x=1")
    'experiment.model_rf_x_1'
    """
    text = re.sub(r"[^\w.\-]+", "_", name).strip("_") or "_"
    if len(text) > 120:
        text = text[:100] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return text


def _unique_slugs(names: list[str]) -> dict[str, str]:
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        s = slug(name)
        if s in taken:
            s = f"{s}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        taken.add(s)
        slugs[name] = s
    return slugs


def _overrides(records: list[Mapping[str, Any]], group: str) -> dict[str, str]:
    """The overrides that make the group: from a record (``overrides`` minus the seed), else its name."""
    items: list[str] | None = None
    for rec in records:
        if isinstance(rec.get("overrides"), list):
            items = [str(o) for o in rec["overrides"]]
            break
    if items is None:
        items = [] if group == "(defaults)" else group.split(",")
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.lstrip("+~")
        if sep and key != "seed":
            out[key] = value
    return out


def _load(sweep_dir: Path, entry: Mapping[str, Any]) -> Run:
    path = entry.get("path")
    record = record_file = digest = traceback_file = None
    if path is not None:
        candidate = sweep_dir / str(path) / RECORD_NAME
        if candidate.is_file():
            try:
                record = read_record(candidate)
                record_file = candidate
                digest = hashlib.sha256(candidate.read_bytes()).hexdigest()
            except (RecordError, OSError):
                record = None
        tb = sweep_dir / str(path) / TRACEBACK_NAME
        traceback_file = tb if tb.is_file() else None
    series_file = None
    if record is not None and isinstance(record.get("series"), Mapping):
        candidate = sweep_dir / str(path) / SERIES_NAME
        series_file = candidate if candidate.is_file() else None
    seed = entry.get("seed")
    return Run(group=str(entry.get("group")), seed=int(seed) if isinstance(seed, int) else seed,
               status=str(entry.get("status")), path=None if path is None else str(path), record=record,
               record_file=record_file, record_sha256=digest, traceback_file=traceback_file, series_file=series_file)


def read_sweep(sweep_dir: Path, summary: Mapping[str, Any]) -> Sweep:
    """The adapter: a summary (whatever its exact field names) and the records it points to.

    Reads ``summary["groups"]`` (``group``, counts ``n_*``, ``metrics`` ->
    statistics), ``summary["comparisons"]`` (``metric``, ``a``, ``b`` and
    numbers), ``summary["runs"]`` (``group``, ``seed``, ``status``, ``path``),
    ``options.confidence``, ``methods`` and ``baseline``; then every record
    a run's ``path`` points to (``<sweep_dir>/<path>/result.json``).
    """
    sweep_dir = Path(sweep_dir).resolve()  # where the records are now (summary["sweep_dir"] may be stale)
    sweep_id = hashlib.sha256(str(sweep_dir).encode("utf-8")).hexdigest()[:16]
    runs = [_load(sweep_dir, e) for e in summary.get("runs") or [] if isinstance(e, Mapping)]
    options = summary.get("options") or {}
    methods = {str(k): str(v) for k, v in (summary.get("methods") or {}).items() if isinstance(v, (str, int, float))}
    raw_groups = [g for g in summary.get("groups") or [] if isinstance(g, Mapping)]
    names = [str(g.get("group", g.get("name"))) for g in raw_groups]
    for r in runs:  # a group with runs but no statistics (all missing) still gets its runs sent
        if r.group not in names:
            names.append(r.group)
            raw_groups.append({"group": r.group})
    slugs = _unique_slugs(names)
    comparisons = [c for c in summary.get("comparisons") or [] if isinstance(c, Mapping)]
    curves = summary.get("curves") if isinstance(summary.get("curves"), Mapping) else {}
    curve_metrics = {str(m): e for m, e in (curves.get("metrics") or {}).items()
                     if isinstance(e, Mapping) and isinstance(e.get("groups"), Mapping)}
    groups = []
    for name, g in zip(names, raw_groups):
        metrics = g.get("metrics") if isinstance(g.get("metrics"), Mapping) else {}
        records = [r.record for r in runs if r.group == name and r.record is not None]
        mine = []
        for c in comparisons:
            a, b = c.get("a", c.get("group")), c.get("b", c.get("baseline"))
            if a == name and b is not None:
                mine.append({"metric": str(c.get("metric")), "b": str(b), "b_slug": slugs.get(str(b), slug(str(b))),
                             "numbers": _numbers(c, COMPARISON)})
        groups.append(Group(
            name=name, slug=slugs[name], overrides=_overrides(records, name),
            counts={k: int(v) for k, v in g.items() if k.startswith(COUNT_PREFIX) and _number(v) is not None},
            stats={str(m): _numbers(st, STATS) for m, st in metrics.items() if isinstance(st, Mapping)},
            comparisons=mine,
            document={"group": dict(g), "comparisons": [c for c in comparisons if name in (c.get("a"), c.get("b"))],
                      "methods": methods, "options": dict(options), "baseline": summary.get("baseline"),
                      "sweep_dir": str(sweep_dir)},
            curves={m: dict(e["groups"][name]) for m, e in curve_metrics.items() if name in e["groups"]},
        ))
    experiments = sorted({str(r.record["experiment"]) for r in runs if r.record and r.record.get("experiment")})
    confidence = _number(options.get("confidence")) if isinstance(options, Mapping) else None
    metric_names = [str(m) for m in summary.get("metrics") or []] or sorted({m for g in groups for m in g.stats})
    baseline = summary.get("baseline")
    return Sweep(sweep_dir=sweep_dir, sweep_id=sweep_id, experiment=experiments[0] if len(experiments) == 1 else None,
                 metrics=metric_names, confidence=confidence, methods=methods,
                 baseline=None if baseline is None else str(baseline), groups=groups, runs=runs,
                 curve_comparisons=[dict(c) for c in curves.get("comparisons") or [] if isinstance(c, Mapping)])


def level(sweep: Sweep) -> str:
    """The interval's level as text, ``95%``."""
    return f"{100 * sweep.confidence:g}%" if sweep.confidence else "CI"


def _fmt(x: float | None, spec: str = ".4g") -> str:
    if x is None:
        return "–"
    return format(int(x), spec) if spec == "d" else format(x, spec)


def _interval(low: float | None, high: float | None) -> str:
    return "–" if low is None or high is None else f"[{low:.4g}, {high:.4g}]"


def group_markdown(sweep: Sweep, group: Group) -> str:
    """What a person reads first about a group: a small markdown table and how it was computed."""
    counts = ", ".join(f"{k[2:]} {v}" for k, v in group.counts.items() if k != "n_runs" and v)
    lines = [f"**{group.name}**: {group.counts.get('n_runs', '?')} runs" + (f" ({counts})" if counts else ""), "",
             f"| metric | n | mean | {level(sweep)} interval |", "|---|---:|---:|---|"]
    for metric, st in group.stats.items():
        lines.append(f"| {metric} | {_fmt(st.get('n'), 'd')} | {_fmt(st.get('mean'))} | "
                     f"{_interval(st.get('ci_low'), st.get('ci_high'))} |")
    if group.comparisons:
        lines += ["", f"| metric | vs | mean difference | {level(sweep)} interval | p (adjusted) |",
                  "|---|---|---:|---|---:|"]
        for c in group.comparisons:
            x = c["numbers"]
            lines.append(f"| {c['metric']} | {c['b']} | {_fmt(x.get('mean_diff'))} | "
                         f"{_interval(x.get('ci_low'), x.get('ci_high'))} | "
                         f"{_fmt(x.get('p_adjusted', x.get('pvalue')), '.3g')} |")
    if sweep.methods.get("interval"):
        lines += ["", f"Interval: {sweep.methods['interval']}."]
    if group.comparisons and sweep.methods.get("test"):
        lines += [f"Test: {sweep.methods['test']}; correction: {sweep.methods.get('correction', '?')}."]
    return "\n".join(lines) + "\n"
