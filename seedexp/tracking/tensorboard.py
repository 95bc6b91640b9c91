"""TensorBoard: a run per seed with the hparams plugin, and a summary run per configuration.

Event files are written under ``tracking.logdir`` (default ``<sweep dir>/tensorboard``;
``tensorboard --logdir`` it)::

    <logdir>/                              the hparams experiment: the swept overrides and the metrics
    <logdir>/seeds/<group>/seed=<N>/       one run per record: hparams (the group's overrides,
                                           trial id = the group, so the HParams dashboard groups
                                           the seeds of a configuration), each metric as a scalar
                                           at step 0, the stream seeds as text
    <logdir>/summary/<group>/              the aggregated scalars: <metric>/<statistic> (mean,
                                           ci_low, ci_high, n, std, median), n_runs, n_failed...,
                                           <metric>/vs/<group B>/<number> for paired comparisons,
                                           and the group's table as text; for runs that logged
                                           series, curve/<metric>/<mean|ci_low|ci_high|band_low|
                                           band_high> at every step kept, and the curve's scalar
                                           summaries curve/<metric>/<final|best|...>/<mean|ci_low|...>

A seed's run also holds its own series, ``curve/<metric>`` at their steps.

Sending again rewrites these files: the event files seedexp wrote there
before (``*.seedexp``) are removed first, so TensorBoard shows each value
once. Written with TensorBoard's own protobufs and record writer; TensorFlow
is not needed (nor imported).
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Mapping

from ._sweep import CURVE_SCALAR_STATS, Group, Run, Sweep, curve_points, group_markdown

__all__ = ["send", "Sent", "logdir_of", "SUFFIX"]

#: Suffix of the event files seedexp writes: the ones a later send replaces.
SUFFIX = ".seedexp"


class Sent:
    """What one send did: the log dir, the runs written, and warning lines."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.runs: list[Path] = []
        self.warnings: list[str] = []


def logdir_of(sweep: Sweep, settings: Mapping[str, Any]) -> Path:
    """``tracking.logdir`` (``~`` expanded, relative to the current directory), or ``<sweep dir>/tensorboard``."""
    given = settings.get("logdir")
    return Path(given).expanduser().absolute() if given else sweep.sweep_dir / "tensorboard"


def _value(text: str) -> bool | float | str:
    """An override's value for the hparams plugin: a bool, a number, or the text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text


class _EventFile:
    """One event file (TFRecord framing of ``Event`` protobufs), written in one go."""

    def __init__(self, run_dir: Path) -> None:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        run_dir.mkdir(parents=True, exist_ok=True)
        self._old = list(run_dir.glob(f"events.out.tfevents.*{SUFFIX}"))
        self._event_pb2 = event_pb2
        self.path = run_dir / f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}.{os.getpid()}{SUFFIX}"
        self._tmp = self.path.with_name("." + self.path.name + ".tmp")
        self._handle = open(self._tmp, "wb")
        self._writer = RecordWriter(self._handle)
        self._write(self._event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event: Any) -> None:
        self._writer.write(event.SerializeToString())

    def summary(self, summary_pb: Any, step: int = 0, wall_time: float | None = None) -> None:
        self._write(self._event_pb2.Event(wall_time=wall_time or time.time(), step=step, summary=summary_pb))

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._tmp, self.path)  # TensorBoard never reads half a file
        for old in self._old:  # what an earlier send wrote here: replaced, not added to
            if old != self.path:
                old.unlink(missing_ok=True)


def _scalars(file: _EventFile, values: Mapping[str, float | None], step: int = 0) -> None:
    from tensorboard.plugins.scalar.summary_v2 import scalar_pb

    for tag, value in values.items():
        if value is not None:
            file.summary(scalar_pb(tag, float(value)), step=step)


def _experiment(logdir: Path, sweep: Sweep) -> None:
    from tensorboard.plugins.hparams import summary_v2 as hp

    names = sorted({k for g in sweep.groups for k in g.overrides})
    hparams = [hp.HParam(n) for n in names]
    metrics = [hp.Metric(m, display_name=m) for m in sweep.metrics]
    file = _EventFile(logdir)
    file.summary(hp.hparams_config_pb(hparams, metrics))
    file.close()


def _seed(logdir: Path, group: Group, run: Run) -> Path:
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.plugins.text.summary_v2 import text_pb

    record = run.record or {}
    run_dir = logdir / "seeds" / group.slug / f"seed={run.seed}"
    file = _EventFile(run_dir)
    started = record.get("started_at")
    file.summary(hp.hparams_pb({k: _value(v) for k, v in group.overrides.items()}, trial_id=group.name))
    _scalars(file, {k: v for k, v in (record.get("metrics") or {}).items()})
    for metric, (steps, values) in run.series().items():  # the seed's own curves
        for step, value in zip(steps.tolist(), values.tolist()):
            if math.isfinite(value):
                _scalars(file, {f"curve/{metric}": value}, step)
    streams = record.get("streams") or {}
    lines = [f"status **{run.status}**, master seed {record.get('seed', run.seed)}, config hash "
             f"`{str(record.get('config_hash', ''))[:12]}`, started {started or '?'}", "",
             "| stream | seed |", "|---|---:|", *(f"| {k} | {v} |" for k, v in streams.items())]
    file.summary(text_pb("seedexp/record", "\n".join(lines)))
    file.close()
    return run_dir


def _summary(logdir: Path, sweep: Sweep, group: Group) -> Path:
    from tensorboard.plugins.text.summary_v2 import text_pb

    run_dir = logdir / "summary" / group.slug
    file = _EventFile(run_dir)
    values: dict[str, float | None] = {k: float(v) for k, v in group.counts.items()}
    for metric, stats in group.stats.items():
        values.update({f"{metric}/{stat}": v for stat, v in stats.items()})
    for c in group.comparisons:
        values.update({f"{c['metric']}/vs/{c['b_slug']}/{name}": v for name, v in c["numbers"].items()})
    for metric, curve in group.curves.items():
        for stat, numbers in (curve.get("scalars") or {}).items():
            values.update({f"curve/{metric}/{stat}/{k}": float(numbers[k]) for k in CURVE_SCALAR_STATS
                           if isinstance(numbers.get(k), (int, float))})
    _scalars(file, values)
    for metric, curve in group.curves.items():  # the stepped aggregates, at their steps
        for step, stats in curve_points(curve):
            _scalars(file, {f"curve/{metric}/{stat}": v for stat, v in stats.items()}, step)
    file.summary(text_pb("seedexp/summary", group_markdown(sweep, group)))
    file.close()
    return run_dir


def send(sweep: Sweep, settings: Mapping[str, Any]) -> Sent:
    """Write ``sweep`` as TensorBoard event files (``settings``: the checked ``tracking:`` block). Raises on failure."""
    sent = Sent(logdir_of(sweep, settings))
    _experiment(sent.logdir, sweep)
    for group in sweep.groups:
        sent.runs.append(_summary(sent.logdir, sweep, group))
        for run in sweep.runs_of(group.name):
            if run.record is not None:
                sent.runs.append(_seed(sent.logdir, group, run))
    return sent
