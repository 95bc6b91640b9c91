"""MLflow: one parent run per configuration holding its summary, one nested child run per seed.

Logged by the driver from the files on disk (``summary.json`` and every
``result.json``), so it works the same under every launcher and after
``seedexp report``. In the MLflow experiment (``tracking.experiment``, by
default the sweep's experiment ``_target_``):

parent run, one per group (run name: the group, e.g. ``experiment.model=rf``)
    * params: the group's overrides (``experiment.model = rf``);
    * metrics ``<metric>/<statistic>``: ``mean``, the headline interval's bounds
      ``ci_low``/``ci_high``, ``n``, ``std``, ``median``
      (:data:`~seedexp.tracking._sweep.STATS`); the run counts ``n_runs``,
      ``n_ok``, ``n_failed``, ``n_crashed``, ``n_timed_out``, ``n_missing``; and, for each
      paired comparison where the group is A (every group against the
      baseline, when there is one), ``<metric>/vs/<group B>/<number>``:
      ``mean_diff``, its ``ci_low``/``ci_high``, ``pvalue``, ``p_adjusted``,
      ``d_z``, ``win_rate``, ``n_pairs``;
    * tags: ``seedexp.method`` (how the interval was computed),
      ``seedexp.test``, ``seedexp.correction``, ``seedexp.baseline``,
      ``seedexp.confidence``, and a markdown table as the run's description
      (``mlflow.note.content``);
    * artifact ``seedexp/group_summary.json``: the group's part of the summary,
      every statistic and comparison in full;
    * curves (runs that logged series, :mod:`seedexp.stats.curves`): the stepped
      aggregates ``curve/<metric>/<statistic>`` at every step kept (``mean``, the
      pointwise interval ``ci_low``/``ci_high``, the simultaneous band
      ``band_low``/``band_high``; MLflow's chart of that key is the curve), the
      scalar summaries ``curve/<metric>/<final|best|best_step|auc|steps_to_threshold>/<mean|ci_low|ci_high|n>``
      and their comparisons ``curve/<metric>/<summary>/vs/<group B>/<number>``.

child run, one per run record (run name ``seed=N``, nested under its parent)
    * params: ``seed`` (the master seed), the overrides, and every stream
      seed the run handed out as ``stream.<name>`` (``stream.split``, ``stream.cv/0``...);
    * metrics: the run's metrics (a NaN/inf metric, stored as null, is left out),
      and its series as ``curve/<metric>`` at their steps;
    * tags: ``seedexp.status``, ``seedexp.config_hash``, ``seedexp.path``,
      ``seedexp.error`` when it failed; MLflow status FINISHED, FAILED, or
      KILLED for a run whose process died;
    * artifacts ``seedexp/result.json`` (and ``seedexp/traceback.txt``).

Sending again never duplicates: every run carries ``seedexp.sweep_id`` (a hash
of the sweep directory's absolute path), ``seedexp.kind`` (``group``/``seed``),
``seedexp.group`` and ``seedexp.seed``; one search finds the runs a previous
send made, and only what changed is logged (``seedexp.content_sha256``). A
metric that no longer has a value is logged as NaN. MLflow params cannot
change: a changed value is reported in a warning and kept. A curve whose values
changed is logged again at its steps (MLflow keeps a metric's history: the
latest timestamp at a step is the current value).

Before anything else, an ``http(s)`` tracking URI is probed (``/health``, a
few seconds): a server that is down costs one warning line, not MLflow's
retries with back-off.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..redact import redact_url
from ._sweep import CURVE_SCALAR_STATS, Group, Run, Sweep, curve_points, group_markdown, slug

__all__ = ["send", "Sent", "PROBE_TIMEOUT_S", "DEFAULT_EXPERIMENT"]

#: Seconds to wait for ``<uri>/health`` before calling the server down.
PROBE_TIMEOUT_S = 5.0
#: The experiment when neither ``tracking.experiment`` nor a single experiment ``_target_`` names one.
DEFAULT_EXPERIMENT = "seedexp"
#: MLflow's limits (``mlflow.utils.validation``).
_KEY_MAX, _PARAM_MAX, _TAG_MAX = 250, 6000, 8000
#: Metric values per ``log_batch`` request (MLflow's limit).
_BATCH = 1000
#: MLflow status of a child run, by seedexp status.
_STATUS = {"ok": "FINISHED", "failed": "FAILED", "crashed": "KILLED", "timed_out": "KILLED"}
TAG = "seedexp."


@dataclass
class Sent:
    """What one send did: run counts by what happened to them, and warning lines."""

    experiment_id: str = ""
    tracking_uri: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)


def _part(text: str) -> str:
    part = re.sub(r"[^\w.\- ]+", "_", str(text)).strip() or "_"
    return "_" if part in (".", "..") else part


def key(*parts: str) -> str:
    """An MLflow metric/param name from parts joined by ``/``, each piece cleaned of what MLflow refuses.

    >>> key("acc", "vs", "experiment.model=rf"), key("stream.cv/0")
    ('acc/vs/experiment.model_rf', 'stream.cv/0')
    """
    name = "/".join(_part(piece) for p in parts for piece in str(p).split("/"))
    if len(name) > _KEY_MAX:
        name = name[: _KEY_MAX - 13] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


def _cut(text: Any, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def probe(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise ``ConnectionError`` when an ``http(s)`` tracking server does not answer at all.

    Any HTTP answer (even 401 or 404: a proxy, a server without ``/health``)
    counts as up; other URIs (``sqlite:``, ``file:``, ``databricks``) are not probed.
    """
    if not uri.startswith(("http://", "https://")):
        return
    parts = urllib.parse.urlsplit(uri)
    # user:password@ is MLflow's to send (as basic auth); urllib would take it for the host
    url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl().rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - the user's own tracking URI
            pass
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"the MLflow server at {redact_url(uri, tagged=False)} does not answer "
                              f"({reason})") from None


def _ms(iso: Any) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _span(record: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """When a run started and ended (ms since the epoch), from its record; None where unknown."""
    start = _ms(record.get("started_at"))
    duration = record.get("duration_s")
    if start is None or isinstance(duration, bool) or not isinstance(duration, (int, float)):
        return start, None
    return start, start + int(1000 * duration)


def _experiment_id(client: Any, name: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name)
        except MlflowException:  # created meanwhile by another sender
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if found.lifecycle_stage != "active":
        raise RuntimeError(f"the MLflow experiment {name!r} is deleted; restore it in MLflow, "
                           "or set tracking.experiment to another name")
    return found.experiment_id


def _existing(client: Any, experiment_id: str, sweep_id: str) -> dict[tuple[str, str, str], Any]:
    """The runs an earlier send of this sweep made, by (kind, group, seed); the oldest wins."""
    found: dict[tuple[str, str, str], Any] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.`{TAG}sweep_id` = '{sweep_id}'",
                                  max_results=1000, order_by=["attributes.start_time ASC"], page_token=token)
        for run in page:
            tags = run.data.tags
            found.setdefault((tags.get(TAG + "kind", ""), tags.get(TAG + "group", ""), tags.get(TAG + "seed", "")), run)
        token = page.token
        if not token:
            return found


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@contextmanager
def _quiet() -> Iterator[None]:
    """No "View run ... at" line on stdout per run (MLflow's own switch, unless the user set it)."""
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    if name in os.environ:
        yield
        return
    os.environ[name] = "true"
    try:
        yield
    finally:
        os.environ.pop(name, None)


class _Sender:
    def __init__(self, client: Any, experiment_id: str, sweep: Sweep, existing: dict, sent: Sent) -> None:
        self.client, self.experiment_id, self.sweep = client, experiment_id, sweep
        self.existing, self.sent = existing, sent
        self.param_conflicts: list[str] = []

    def upsert(self, ident: tuple[str, str, str], *, run_name: str, content: str, start_ms: int | None,
               params: Mapping[str, str], metrics: Mapping[str, float | None], tags: Mapping[str, str],
               artifacts: Mapping[str, Path | str], status: str, end_ms: int | None,
               history: Sequence[tuple[str, float, int]] = ()) -> str:
        """Create the run, or bring the existing one up to date; return its id.

        ``artifacts`` maps an artifact file name (``seedexp/result.json``) to a
        file to upload, or to the text to store there.
        """
        from mlflow.entities import Metric, Param, RunTag

        tags = {**tags, TAG + "kind": ident[0], TAG + "group": ident[1], TAG + "seed": ident[2],
                TAG + "sweep_id": self.sweep.sweep_id, TAG + "sweep_dir": str(self.sweep.sweep_dir),
                TAG + "content_sha256": content}
        tags = {k: _cut(v, _TAG_MAX) for k, v in tags.items() if v != ""}
        params = {k: _cut(v, _PARAM_MAX) for k, v in params.items()}
        old = self.existing.get(ident)
        if old is not None and old.data.tags.get(TAG + "content_sha256") == content:
            self.sent.unchanged += 1
            return old.info.run_id
        if old is None:
            run = self.client.create_run(self.experiment_id, start_time=start_ms, run_name=run_name)
            run_id, old_params, old_metrics, old_tags = run.info.run_id, {}, {}, {}
            self.sent.created += 1
        else:
            run_id = old.info.run_id
            old_params, old_metrics, old_tags = old.data.params, old.data.metrics, old.data.tags
            self.sent.updated += 1
        for k, v in params.items():
            if k in old_params and old_params[k] != v:
                self.param_conflicts.append(f"{run_name}: {k} {old_params[k]!r} -> {v!r}")
        now = int(time.time() * 1000)  # a later send's value is the latest (MLflow ranks step, then time)
        metric_list = []
        for k, v in metrics.items():
            if v is None:
                if k in old_metrics and not math.isnan(old_metrics[k]):
                    metric_list.append(Metric(k, math.nan, now, 0))  # it had a value; now it has none
            elif old_metrics.get(k) != v:
                metric_list.append(Metric(k, float(v), now, 0))
        self.client.log_batch(
            run_id,
            metrics=metric_list,
            params=[Param(k, v) for k, v in params.items() if k not in old_params],
            tags=[RunTag(k, v) for k, v in tags.items() if old_tags.get(k) != v],
        )
        for i in range(0, len(history), _BATCH):  # stepped values (curves): MLflow takes 1,000 a request
            self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, step) for k, v, step in
                                                   history[i:i + _BATCH]])
        for stale in sorted(k for k in old_tags if k.startswith(TAG) and k not in tags):
            self.client.delete_tag(run_id, stale)
        for name, source in artifacts.items():
            if isinstance(source, Path):
                self.client.log_artifact(run_id, str(source), posixpath.dirname(name) or None)
            else:
                self.client.log_text(run_id, source, name)
        self.client.set_terminated(run_id, status=status, end_time=end_ms or now)
        return run_id

    def group(self, group: Group) -> str:
        sweep = self.sweep
        spans = [_span(r.record) for r in sweep.runs_of(group.name) if r.record]
        starts, ends = [a for a, _ in spans if a is not None], [b for _, b in spans if b is not None]
        metrics: dict[str, float | None] = {key(k): float(v) for k, v in group.counts.items()}
        for metric, stats in group.stats.items():
            for stat, value in stats.items():
                metrics[key(metric, stat)] = value
        for c in group.comparisons:
            for name, value in c["numbers"].items():
                metrics[key(c["metric"], "vs", c["b_slug"], name)] = value
        history = []
        for metric, curve in group.curves.items():
            for step, values in curve_points(curve):
                history += [(key("curve", metric, stat), value, step) for stat, value in values.items()]
            for scalar, numbers in (curve.get("scalars") or {}).items():
                for stat in CURVE_SCALAR_STATS:
                    if isinstance(numbers.get(stat), (int, float)):
                        metrics[key("curve", metric, scalar, stat)] = float(numbers[stat])
        for c in self.sweep.curve_comparisons:
            if c.get("a") == group.name:
                prefix = ("curve", c["metric"], c["summary"], "vs", slug(str(c["b"])))
                for name in ("mean_diff", "ci_low", "ci_high", "pvalue", "p_adjusted"):
                    if isinstance(c.get(name), (int, float)):
                        metrics[key(*prefix, name)] = float(c[name])
        stepped = {k for k, _, _ in history}
        # statistics the summary no longer gives (e.g. an interval at n < 2) become NaN
        old = self.existing.get(("group", group.name, ""))
        if old is not None:
            for k in old.data.metrics:
                if k not in stepped:
                    metrics.setdefault(k, None)
        document = json.dumps(group.document, indent=2, sort_keys=True, default=str) + "\n"
        tags = {"mlflow.note.content": group_markdown(sweep, group),
                TAG + "method": sweep.methods.get("interval", ""),
                TAG + "test": sweep.methods.get("test", ""),
                TAG + "correction": sweep.methods.get("correction", ""),
                TAG + "baseline": sweep.baseline or "",
                TAG + "confidence": "" if sweep.confidence is None else f"{sweep.confidence:g}"}
        return self.upsert(
            ("group", group.name, ""), run_name=group.name, content=_sha([document, metrics, tags, history]),
            params={key(k): v for k, v in group.overrides.items()}, metrics=metrics, tags=tags,
            artifacts={"seedexp/group_summary.json": document}, status="FINISHED",
            start_ms=min(starts, default=None), end_ms=max(ends, default=None), history=history)

    def seed(self, run: Run, group: Group, parent_id: str) -> str:
        record = run.record or {}
        params = {"seed": str(record.get("seed", run.seed))}
        params.update({key(k): v for k, v in group.overrides.items()})
        params.update({key("stream." + str(name)): str(value) for name, value in (record.get("streams") or {}).items()})
        metrics = {key(k): (None if v is None else float(v)) for k, v in (record.get("metrics") or {}).items()}
        error = record.get("error") or {}
        tags = {"mlflow.parentRunId": parent_id, TAG + "status": run.status,
                TAG + "config_hash": str(record.get("config_hash", "")), TAG + "path": run.path or "",
                TAG + "experiment": str(record.get("experiment", ""))}
        if error:
            tags[TAG + "error"] = f"{error.get('type', '')}: {error.get('message', '')}"
        start, end = _span(record)
        artifacts: dict[str, Path | str] = {}
        for path in (run.record_file, run.traceback_file):
            if path is not None:
                artifacts[f"seedexp/{path.name}"] = path
        return self.upsert(
            ("seed", run.group, str(run.seed)), run_name=f"seed={run.seed}",
            content=_sha([run.record_sha256, parent_id, run.status,
                          None if run.traceback_file is None else run.traceback_file.stat().st_mtime_ns]),
            start_ms=start, params=params, metrics={k: v for k, v in metrics.items() if v is not None},
            tags=tags, artifacts=artifacts, status=_STATUS.get(run.status, "FAILED"), end_ms=end,
            history=[(key("curve", metric), float(v), int(step)) for metric, (steps, values) in run.series().items()
                     for step, v in zip(steps.tolist(), values.tolist()) if math.isfinite(v)])


def send(sweep: Sweep, settings: Mapping[str, Any]) -> Sent:
    """Send ``sweep`` to MLflow (``settings``: the checked ``tracking:`` block). Raises on failure."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.get("uri") or mlflow.get_tracking_uri()
    probe(uri)
    client = MlflowClient(tracking_uri=uri)
    sent = Sent(tracking_uri=uri)
    with _quiet():
        name = settings.get("experiment") or sweep.experiment or DEFAULT_EXPERIMENT
        sent.experiment_id = _experiment_id(client, name)
        sender = _Sender(client, sent.experiment_id, sweep, _existing(client, sent.experiment_id, sweep.sweep_id), sent)
        for group in sweep.groups:
            parent = sender.group(group)
            for run in sweep.runs_of(group.name):
                if run.record is not None:
                    sender.seed(run, group, parent)
    if sender.param_conflicts:
        sent.warnings.append(f"tracking: mlflow: {len(sender.param_conflicts)} param(s) changed since the last send "
                             f"and MLflow keeps the first value (e.g. {sender.param_conflicts[0]})")
    return sent
