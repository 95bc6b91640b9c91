"""Weights & Biases: one W&B run per seed, grouped by configuration, and a summary run of the sweep.

Logged by the driver from the files on disk, like MLflow and TensorBoard. In the
W&B project (``tracking.experiment``, by default the sweep's experiment
``_target_``, cleaned of what W&B refuses in a project name):

one run per seed (``job_type="seed"``, ``group=<configuration>``, name ``seed=N``)
    * config: ``seed``, the configuration's overrides, ``streams`` (every stream
      seed the run handed out) and ``seedexp`` (``status``, ``config_hash``,
      ``path``, ``sweep_id``);
    * history: the run's series (:mod:`seedexp.series`), each at its own step, so
      W&B's grouped chart of a configuration is drawn from the real seeds;
    * summary: the run's metrics, ``seedexp/status`` and, for a failed run,
      ``seedexp/error`` (the run ends with exit code 1).

one summary run (``job_type="summary"``, ``group="seedexp summary"``, name ``summary``)
    * summary fields, readable with the W&B API (``run.summary``):
      ``groups/<group>/<metric>/<mean|ci_low|ci_high|n|std|median>`` and the run
      counts ``groups/<group>/n_ok``...; ``comparisons/<metric>/<A> vs <B>/<number>``
      with ``verdict`` ("<group> better" or "no clear difference"); for curves
      ``curves/<metric>/<group>/<final|best|best_step|auc|steps_to_threshold>/<mean|ci_low|ci_high|n>``
      and ``curve_comparisons/<metric>/<summary>/<A> vs <B>/...`` with ``verdict``;
      ``methods/<name>``: how each number was computed;
    * tables: ``groups``, ``comparisons``, ``curve_summaries``, ``curve_comparisons``;
    * history: the stepped aggregates ``<group>/<metric>/<mean|ci_low|ci_high|band_low|band_high>``
      at every step kept, so the bands can be charted in W&B.

Run ids are derived from the sweep (a hash of its directory), the group and the
seed, so sending again addresses the same runs (``resume="allow"`` when W&B is
online; W&B keeps the first value logged at a step). ``tracking.logdir`` is W&B's
``dir`` (default: the sweep directory; W&B writes ``<dir>/wandb/``),
``tracking.uri`` its ``base_url`` (a self-hosted server). W&B's own settings
apply: ``WANDB_MODE=offline`` writes the runs to disk only (``wandb sync`` uploads
them later), ``WANDB_API_KEY`` logs in.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ._sweep import CURVE_SCALAR_STATS, STATS, Run, Sweep, curve_points

__all__ = ["send", "Sent", "project_of", "run_id", "SUMMARY_GROUP", "DEFAULT_PROJECT"]

#: The project when neither ``tracking.experiment`` nor a single experiment ``_target_`` names one.
DEFAULT_PROJECT = "seedexp"
#: The W&B group of the summary run.
SUMMARY_GROUP = "seedexp summary"


@dataclass
class Sent:
    """What one send did: the project, the run ids written, and warning lines."""

    project: str = ""
    runs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def project_of(sweep: Sweep, settings: Mapping[str, Any]) -> str:
    """The W&B project: ``tracking.experiment``, else the sweep's experiment, cleaned of ``/\\#?%:``.

    >>> from seedexp.tracking._sweep import Sweep
    >>> project_of(Sweep(Path("."), "x", "pkg.mod:run", [], None, {}, None, [], []), {})
    'pkg.mod_run'
    """
    name = settings.get("experiment") or sweep.experiment or DEFAULT_PROJECT
    return re.sub(r"[/\\#?%:]+", "_", name)[:128] or DEFAULT_PROJECT


def run_id(sweep: Sweep, *parts: Any) -> str:
    """A W&B run id that is the same at every send of this sweep (``[0-9a-f]``, 24 characters)."""
    text = "\x1f".join([sweep.sweep_id, *map(str, parts)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _finite(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _offline(settings: Mapping[str, Any]) -> bool:
    return os.environ.get("WANDB_MODE", "").strip().lower() in ("offline", "dryrun", "disabled")


def _init(wandb: Any, sweep: Sweep, settings: Mapping[str, Any], **kwargs: Any) -> Any:
    directory = Path(settings.get("logdir") or sweep.sweep_dir).expanduser().absolute()
    directory.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"silent": True, "console": "off", "x_disable_stats": True}
    if settings.get("uri"):
        options["base_url"] = settings["uri"]
    if not _offline(settings):
        kwargs["resume"] = "allow"
    return wandb.init(project=project_of(sweep, settings), dir=str(directory), reinit="create_new",
                      settings=wandb.Settings(**options), **kwargs)


def _verdict(c: Mapping[str, Any]) -> str:
    if c.get("better") is not None:
        return f"{c['better']} better"
    return "no test" if c.get("pvalue") is None else "no clear difference"


def _seed_run(wandb: Any, sweep: Sweep, settings: Mapping[str, Any], run: Run, overrides: Mapping[str, str]) -> str:
    record = run.record or {}
    ident = run_id(sweep, "seed", run.group, run.seed)
    config = {"seed": record.get("seed", run.seed), **overrides, "streams": dict(record.get("streams") or {}),
              "seedexp": {"status": run.status, "config_hash": record.get("config_hash"), "path": run.path,
                          "sweep_id": sweep.sweep_id, "group": run.group}}
    w = _init(wandb, sweep, settings, id=ident, name=f"seed={run.seed}", group=run.group, job_type="seed",
              config=config)
    try:
        rows: dict[int, dict[str, float]] = {}
        for metric, (steps, values) in run.series().items():
            for step, value in zip(steps.tolist(), values.tolist()):
                if math.isfinite(value):
                    rows.setdefault(int(step), {})[metric] = value
        for step in sorted(rows):
            w.log(rows[step], step=step)
        summary = {k: v for k, v in (record.get("metrics") or {}).items() if v is not None}
        summary["seedexp/status"] = run.status
        error = record.get("error") or {}
        if error:
            summary["seedexp/error"] = f"{error.get('type', '')}: {error.get('message', '')}"
        w.summary.update(summary)
    finally:
        w.finish(exit_code=0 if run.status == "ok" else 1)
    return ident


def _summary_run(wandb: Any, sweep: Sweep, settings: Mapping[str, Any]) -> str:
    ident = run_id(sweep, "summary")
    w = _init(wandb, sweep, settings, id=ident, name="summary", group=SUMMARY_GROUP, job_type="summary",
              config={"seedexp": {"sweep_id": sweep.sweep_id, "sweep_dir": str(sweep.sweep_dir),
                                  "confidence": sweep.confidence, "baseline": sweep.baseline,
                                  "metrics": sweep.metrics}})
    try:
        fields: dict[str, Any] = {}
        group_rows, curve_rows = [], []
        for g in sweep.groups:
            for name, value in g.counts.items():
                fields[f"groups/{g.name}/{name}"] = value
            for metric, stats in g.stats.items():
                for stat in STATS:
                    if stat in stats:
                        fields[f"groups/{g.name}/{metric}/{stat}"] = stats[stat]
                group_rows.append([g.name, metric, *(stats.get(k) for k in ("n", "mean", "ci_low", "ci_high", "std"))])
            for metric, curve in g.curves.items():
                for scalar, numbers in (curve.get("scalars") or {}).items():
                    for stat in CURVE_SCALAR_STATS:
                        if _finite(numbers.get(stat)) is not None:
                            fields[f"curves/{metric}/{g.name}/{scalar}/{stat}"] = float(numbers[stat])
                    curve_rows.append([g.name, metric, scalar, *(_finite(numbers.get(k)) for k in
                                                                 ("n", "mean", "ci_low", "ci_high"))])
        comparison_rows = []
        for g in sweep.groups:
            for c in g.comparisons:
                prefix = f"comparisons/{c['metric']}/{g.name} vs {c['b']}"
                for name, value in c["numbers"].items():
                    fields[f"{prefix}/{name}"] = value
                original = next((x for x in _summary_comparisons(sweep) if x.get("a") == g.name
                                 and x.get("b") == c["b"] and x.get("metric") == c["metric"]), {})
                fields[f"{prefix}/verdict"] = _verdict(original)
                x = c["numbers"]
                comparison_rows.append([c["metric"], g.name, c["b"], x.get("n_pairs"), x.get("mean_diff"),
                                        x.get("ci_low"), x.get("ci_high"), x.get("pvalue"), x.get("p_adjusted"),
                                        _verdict(original)])
        curve_comparison_rows = []
        for c in sweep.curve_comparisons:
            prefix = f"curve_comparisons/{c['metric']}/{c['summary']}/{c['a']} vs {c['b']}"
            for name in ("n_pairs", "mean_diff", "ci_low", "ci_high", "pvalue", "p_adjusted"):
                if _finite(c.get(name)) is not None:
                    fields[f"{prefix}/{name}"] = float(c[name])
            fields[f"{prefix}/verdict"] = _verdict(c)
            curve_comparison_rows.append([c["metric"], c["summary"], c["a"], c["b"], c.get("n_pairs"),
                                          _finite(c.get("mean_diff")), _finite(c.get("ci_low")),
                                          _finite(c.get("ci_high")), _finite(c.get("pvalue")),
                                          _finite(c.get("p_adjusted")), _verdict(c)])
        for name, text in sweep.methods.items():
            fields[f"methods/{name}"] = text
        rows: dict[int, dict[str, float]] = {}
        for g in sweep.groups:
            for metric, curve in g.curves.items():
                for step, values in curve_points(curve):
                    rows.setdefault(step, {}).update({f"{g.name}/{metric}/{k}": v for k, v in values.items()})
        for step in sorted(rows):
            w.log(rows[step], step=step)
        tables = {
            "groups": (["group", "metric", "n", "mean", "ci_low", "ci_high", "std"], group_rows),
            "comparisons": (["metric", "a", "b", "n_pairs", "mean_diff", "ci_low", "ci_high", "pvalue", "p_adjusted",
                             "verdict"], comparison_rows),
            "curve_summaries": (["group", "metric", "summary", "n", "mean", "ci_low", "ci_high"], curve_rows),
            "curve_comparisons": (["metric", "summary", "a", "b", "n_pairs", "mean_diff", "ci_low", "ci_high",
                                   "pvalue", "p_adjusted", "verdict"], curve_comparison_rows),
        }
        logged = {name: wandb.Table(columns=columns, data=data) for name, (columns, data) in tables.items() if data}
        if logged:
            w.log(logged, step=max(rows, default=-1) + 1)
        w.summary.update(fields)
    finally:
        w.finish()
    return ident


def _summary_comparisons(sweep: Sweep) -> list[Mapping[str, Any]]:
    """The summary's comparisons in full (with ``better``), from the groups' documents."""
    seen, out = set(), []
    for g in sweep.groups:
        for c in g.document.get("comparisons") or []:
            key = (c.get("metric"), c.get("a"), c.get("b"))
            if key not in seen:
                seen.add(key)
                out.append(c)
    return out


def send(sweep: Sweep, settings: Mapping[str, Any]) -> Sent:
    """Send ``sweep`` to W&B (``settings``: the checked ``tracking:`` block). Raises on failure."""
    import wandb

    sent = Sent(project=project_of(sweep, settings))
    for group in sweep.groups:
        for run in sweep.runs_of(group.name):
            if run.record is not None:
                sent.runs.append(_seed_run(wandb, sweep, settings, run, group.overrides))
    sent.runs.append(_summary_run(wandb, sweep, settings))
    return sent
