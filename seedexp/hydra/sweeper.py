"""The driver side of a sweep: plan, lock, launch in batches, summarize, exit code.

Hydra's ``on_multirun_end`` receives no job results and does not fire when a
job failed, so the sweep's end belongs here: :class:`SweepDriver` runs the
batch loop of Hydra's basic sweeper itself and builds the summary in a
``finally`` block, from the records on disk, whatever happened to the jobs.

Before launching it writes ``<sweep dir>/sweep.json`` (schema
``seedexp.sweep/1``): the planned runs, ``{"group", "seed", "overrides"}`` each,
so the summary can say which planned run is ok, failed, crashed (its record is
still the ``running`` marker) or missing. One sweep writes to a directory at a
time: ``.seedexp.lock`` holds an ``flock`` that a killed sweep releases.

``seed=auto`` makes the sweep adaptive (:class:`AdaptiveSweep`): seeds 0, 1,
2, ... run in batches for every configuration, and after each batch
:func:`seedexp.sequential.check` decides from the records whether the ``stop.*``
target is met. ``sweep.json`` then lists the runs planned so far (it grows
batch by batch), and ``stopping.json`` holds the latest decision.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from hydra.errors import CompactHydraException

from ..errors import ConfigError, RecordError, SeedexpError, SweepError
from ..record import MAX_RECORD_BYTES, RECORD_NAME, group_of
from ..stats.summary import all_ok, lost_values_line
from ..lifecycle import Outcome, run_sweep
from ..supervise import FORK_LOCK
from ..sweepdir import STOPPING_NAME, load_stopping, read_json, read_record, write_plan, write_stopping
from .task import error_line, full_error, wrap_task

__all__ = ["SweepDriver", "AdaptiveSweep", "SweepStopped", "reported_to_hydra", "wrap_task", "launcher_parallelism"]

#: The value of ``seed`` that makes a sweep adaptive.
AUTO_SEED = "auto"

#: Exit codes of a sweep: every planned run ok / a planned run not ok / what was asked cannot run.
EXIT_OK, EXIT_RUNS, EXIT_USAGE = 0, 1, 2


def planned_runs(batches: Sequence[Sequence[Sequence[str]]]) -> list[dict[str, Any]]:
    """One entry per job: its overrides, group (overrides minus seed) and seed."""
    planned = []
    for batch in batches:
        for job in batch:
            seed: Any = None
            for item in job:
                key, _, value = item.partition("=")
                if key.lstrip("+~") == "seed":
                    try:
                        seed = int(value)
                    except ValueError:
                        seed = value
            planned.append({"group": group_of(job), "seed": seed, "overrides": list(job)})
    return planned


def check_plan(overrides: Sequence[Any], planned: list[dict[str, Any]]) -> None:
    """Before any run: a sweep that plans no run, or a planned seed that is not one, is one line (not half a sweep).

    ``overrides``: the parsed overrides (an empty sweep such as ``seed=range(0,0)`` is named);
    ``planned``: :func:`planned_runs`. A seed given by an interpolation is checked when its run resolves it.
    """
    from ..seeds import check_seed

    if not planned:
        empty = next((o.input_line for o in overrides if o.is_sweep_override() and not list(o.sweep_iterator())), None)
        what = f"{empty} gives no value" if empty else "the overrides give no job"
        raise ConfigError(f"{what}, so the sweep has no run; give at least one, e.g. 'seed=range(0,30)'")
    for run in planned:
        seed = run["seed"]
        if isinstance(seed, str) and "${" not in seed and seed.strip().lower() not in ("null", "none"):
            check_seed(seed, "seed")  # seed=null draws OS entropy (recorded): fine


def check_run_dirs_inside(planned: list[dict[str, Any]], default_subdir: bool = True) -> None:
    """Run dirs are named after override values: a value with ``..`` path parts could escape the sweep dir.

    An absolute value (``data.path=/data/x.csv``) stays inside under the
    default ``hydra.sweep.subdir`` (``KEY=VALUE,...``: the name starts with its
    key); with another subdir it may be the whole name, so it is refused too.
    """
    for run in planned:
        for item in run["overrides"]:
            value = item.partition("=")[2]
            if ".." in Path(value).parts or (value.startswith("/") and not default_subdir):
                raise ConfigError(f"override {item!r} would put its run directory outside hydra.sweep.dir "
                                  "(a '..' or absolute path in a swept value); use values without '/'")


def pin_sweep_dir(config: Any, sweep_dir: Path) -> None:
    """Give every job the absolute sweep dir (a job composes its config again from the overrides).

    A relative ``hydra.sweep.dir`` means another directory in a job that
    changes its cwd (``hydra.job.chdir``) or runs on another node (Ray, SLURM).
    """
    from omegaconf import open_dict, read_write

    # Hydra's quoted strings unescape only backslashes before a quote or at the end
    quoted = "'" + re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), str(sweep_dir)) + "'"
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(sweep_dir)
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir={quoted}")


class _Progress(threading.Thread):
    """A live line (done / failed / ETA) fed by the records as they appear, on a terminal only."""

    fork_safe = True  # it works under seedexp.supervise.FORK_LOCK: a worker is never forked mid-draw

    def __init__(self, sweep_dir: Path, total: int) -> None:
        super().__init__(name="seedexp-progress", daemon=True)
        self.sweep_dir, self.total = sweep_dir, total
        self.started = time.time() - 1.0
        self.stop_event = threading.Event()
        self.status: dict[Path, tuple[str, float]] = {}

    def _scan(self) -> None:
        for path in self.sweep_dir.rglob(RECORD_NAME):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if mtime < self.started or self.status.get(path, ("", 0))[1] == mtime:
                continue
            data, why = read_json(path, MAX_RECORD_BYTES)
            status = data.get("status", "?") if why is None and isinstance(data, dict) else "running"
            if status != "running":
                self.status[path] = (status, mtime)

    def run(self) -> None:
        from ..supervise import progress_bar as tqdm  # no monitor thread: the runs' workers are forked

        with tqdm(total=self.total, unit="run", desc="sweep", dynamic_ncols=True, leave=False) as bar:
            while True:
                stopping = self.stop_event.wait(0.5)
                with FORK_LOCK:
                    self._scan()
                    bar.total = self.total  # an adaptive sweep plans batch by batch
                    bar.n = len(self.status)
                    bar.set_postfix(failed=sum(1 for s, _ in self.status.values() if s != "ok"), refresh=False)
                    bar.refresh()
                if stopping:
                    break

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


class SweepDriver:
    """Runs a sweep for :class:`hydra_plugins.seedexp.sweeper.SeedexpSweeper`."""

    def __init__(self, sweeper: Any, config: Any, fast: bool = True) -> None:
        from .fast import FastPath

        self.sweeper, self.config = sweeper, config
        self.fast = FastPath.create(sweeper, config, enabled=fast)
        self.returns: list[list[Any]] = []  # every batch's JobReturns, as Hydra's sweepers return them

    def launch(self, batch: Sequence[Sequence[str]], initial_job_idx: int) -> Iterable[Any]:
        """Run a batch of jobs: the fast path where the launcher allows it (:mod:`seedexp.hydra.fast`).

        Each JobReturn is kept for :meth:`sweep` to return, its value cut to the
        run's status (the record is on disk): a fast-path return holds no config.
        """
        from .fast import _small

        if self.fast is not None:
            results: Iterable[Any] = self.fast.launch(batch, initial_job_idx)
        else:
            self.sweeper.validate_batch_is_legal(batch)
            results = self.sweeper.launcher.launch(batch, initial_job_idx=initial_job_idx)
        kept: list[Any] = []
        self.returns.append(kept)
        for r in results:
            kept.append(_small(r))
            yield r

    def _sweep_dir(self) -> Path:
        text = str(self.config.hydra.sweep.dir or "").strip()
        if not text:
            raise ConfigError("hydra.sweep.dir is empty; give the sweep a directory, e.g. hydra.sweep.dir=multirun/my_study")
        return Path(text).absolute()

    def _default_subdir(self) -> bool:
        """Is ``hydra.sweep.subdir`` seedexp's default, the job's ``override_dirname``?"""
        from omegaconf import OmegaConf

        node = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        return isinstance(node, dict) and node.get("subdir") == "${hydra.job.override_dirname}"

    def _tracking(self) -> Any:
        """The ``tracking:`` settings, checked before any run (a typo or a missing extra stops here)."""
        from omegaconf import OmegaConf

        node = self.config.get("tracking")
        if node is None:
            return None
        value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        if isinstance(value, dict) and not value.get("backend"):
            return None
        from ..tracking import check_config

        check_config(value)
        return value

    def _isolation(self) -> None:
        """``isolation``, ``timeout``, ``memory_limit``: checked before any run (seedexp.hydra.supervised)."""
        if self.fast is not None:
            self.fast.isolate()
        else:
            from .supervised import refuse_limits

            refuse_limits(self.config, "this sweep takes Hydra's per-job path (hydra.sweeper.fast=false, another "
                                       "launcher, hydra.callbacks, or hydra.launcher.timeout)")

    def _report_options(self) -> dict[str, Any]:
        from omegaconf import OmegaConf

        from ..stats.options import check_options

        options = self.config.get("report")
        given = dict(OmegaConf.to_container(options, resolve=True)) if options else {}
        return check_options(given, style="config")  # before any run: a typo here must not cost the sweep

    def sweep(self, arguments: list[str], _basic_sweep: Callable[[list[str]], Any] | None = None) -> Any:
        """Plan, launch batch by batch, then write and print the summary; exit non-zero unless all runs are ok.

        With ``seed=auto`` among the overrides the batches are those of :class:`AdaptiveSweep`.
        """
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        sw = self.sweeper
        sweep_dir = self._sweep_dir()
        parser = OverridesParser.create(config_loader=sw.hydra_context.config_loader)
        overrides = parser.parse_overrides([*sw._parse_config(), *arguments])
        auto, overrides = split_auto_seed(overrides)
        adaptive: AdaptiveSweep | None = None
        if auto:
            adaptive = AdaptiveSweep.from_config(sw, self.config, overrides, sweep_dir)  # checks stop.* now
            planned = adaptive.planned
            check_run_dirs_inside(planned_runs([adaptive.jobs(0, 1)]), self._default_subdir())
        else:
            check_stop_unused(self.config)
            sw.overrides = sw.split_arguments(overrides, sw.max_batch_size)
            planned = planned_runs(sw.overrides)
            check_plan(overrides, planned)
            check_run_dirs_inside(planned, self._default_subdir())
        report_options = self._report_options()
        tracking = self._tracking()
        self._isolation()
        pin_sweep_dir(self.config, sweep_dir)
        progress = _Progress(sweep_dir, len(planned)) if sys.stderr.isatty() else None

        def prepare() -> None:
            if adaptive is not None:
                adaptive.write_plan()
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        def launch(errors: list[str]) -> None:
            if progress is not None:
                progress.start()
            try:
                if adaptive is not None:
                    adaptive.run(errors, self.launch, progress)
                else:
                    self._launch_all(errors)
            finally:
                if progress is not None:
                    progress.stop()

        def explain(exc: Exception) -> str | None:  # a later job's overrides do not compose
            return error_line(exc) if isinstance(exc, (HydraException, OmegaConfBaseException)) else None

        try:
            outcome = run_sweep(sweep_dir, launch, options=report_options, planned=None if adaptive else planned,
                                prepare=prepare, tracking=tracking, explain=explain)
        finally:
            if self.fast is not None:
                self.fast.close()  # its workers end with the sweep
        del planned  # on disk now (sweep.json); an adaptive sweep keeps its own
        code, line = self._finish(sweep_dir, outcome)
        if adaptive is not None:
            print(adaptive.final_line())
        stopped = outcome.exception
        if isinstance(stopped, KeyboardInterrupt) or (stopped is not None and full_error()
                                                      and not isinstance(stopped, SeedexpError)):
            raise stopped
        if code == EXIT_RUNS:
            raise SweepError(line)
        if code == EXIT_USAGE:
            raise (stopped if isinstance(stopped, SeedexpError) and str(stopped) == line else ConfigError(line))
        return [batch for batch in self.returns if batch]  # as Hydra's own sweepers: every job's return, by batch

    def _launch_all(self, errors: list[str]) -> None:
        sw = self.sweeper
        initial_job_idx = 0
        while not sw.is_done():
            batch = sw.get_job_batch()
            results = self.launch(batch, initial_job_idx)
            for r in results:
                value = r.return_value  # raises the job's own exception, if it raised
                if isinstance(value, dict) and "config_error" in value:
                    if value["config_error"] not in errors:
                        errors.append(value["config_error"])
            initial_job_idx += len(batch)
            if errors:  # what was asked cannot run: stop after this batch
                break

    def _finish(self, sweep_dir: Path, outcome: Outcome) -> tuple[int, str]:
        """Say what happened (the summary, warnings); return the exit code and the line of its error.

        The line is raised (:class:`~seedexp.errors.SweepError` for exit 1, another
        :class:`~seedexp.errors.SeedexpError` for 2): Hydra prints it, the ``seedexp`` command too.
        """
        if outcome.crash is not None:  # a worker died: not a usage error; the summary names the lost runs (exit 1)
            print(f"seedexp: {outcome.crash}", file=sys.stderr)
        lines, problem, summary = list(outcome.errors), outcome.problem, outcome.summary
        if problem is not None:  # what stopped the sweep and the summary it could not write: one line
            lines[-1:] = [f"{lines[-1]}; and {problem}"] if lines else [problem]
        if summary is None:
            return EXIT_USAGE, "; ".join(lines)
        for line in outcome.tracking:  # the sweep's own files are complete: a tracker that is down is one line
            print(f"seedexp: warning: {line}", file=sys.stderr)
        if outcome.errors:  # what was asked cannot run: the runs before the error are summarized, not judged
            print(f"partial summary ({summary.get('n_ok')} ok of {summary['n_runs']} planned run(s), written before "
                  f"the error): {sweep_dir / 'summary.md'}")
            return EXIT_USAGE, "; ".join(lines)
        print_summary(summary, sweep_dir)
        return (EXIT_OK, "") if all_ok(summary) else (EXIT_RUNS, not_ok_line(summary))


def print_summary(summary: dict[str, Any], sweep_dir: Path) -> None:
    """The summary a person reads, as written (not re-read: another process may write the file)."""
    from ..report import to_markdown

    print(to_markdown(summary))
    print(f"summary: {sweep_dir / 'summary.md'} (also summary.json, summary.csv, runs.csv, summary.png)")
    for problem in summary.get("corrupt") or []:
        print(f"seedexp: warning: {problem}", file=sys.stderr)


def not_ok_line(summary: Mapping[str, Any]) -> str:
    """The one line of a sweep that is not all ok: how many runs, how, and what a re-run does."""
    parts = []
    not_ok = sum(int(summary.get(k) or 0) for k in ("n_failed", "n_crashed", "n_timed_out", "n_missing"))
    if not_ok:
        how = ", ".join(f"{summary[f'n_{s}']} {s.replace('_', ' ')}" for s in ("failed", "crashed", "timed_out",
                                                                               "missing") if summary.get(f"n_{s}"))
        parts.append(f"{not_ok} of {summary.get('n_runs')} planned runs did not finish ok ({how}; listed above); "
                     "re-run the same command to run only those")
    lost = lost_values_line(summary)
    if lost is not None:
        parts.append(lost)
    if summary.get("corrupt"):
        parts.append(f"{len(summary['corrupt'])} result.json file(s) are not readable records (warned above)")
    return "; and ".join(parts)


class SweepStopped(CompactHydraException):
    """A seedexp error leaving the sweeper, for Hydra to print as its one line (a compact exception: no traceback).

    ``error`` is the :class:`~seedexp.errors.SeedexpError` (the ``seedexp`` command exits 1 for a
    :class:`~seedexp.errors.SweepError`, 2 for the others). With ``HYDRA_FULL_ERROR=1`` Hydra shows
    the traceback, the error's included.
    """

    def __init__(self, error: SeedexpError) -> None:
        super().__init__(f"seedexp: {'' if isinstance(error, SweepError) else 'error: '}{error}")
        self.error = error


@contextmanager
def reported_to_hydra() -> Iterator[None]:
    """Around a sweeper's ``sweep``: a :class:`~seedexp.errors.SeedexpError` leaves as :class:`SweepStopped`."""
    try:
        yield
    except SeedexpError as exc:
        raise SweepStopped(exc) from exc


# --------------------------------------------------------------------------- seed=auto


def split_auto_seed(overrides: list[Any]) -> tuple[bool, list[Any]]:
    """Take a plain ``seed=auto`` out of the parsed overrides: ``(adaptive?, the other overrides)``."""
    auto = [o for o in overrides if o.key_or_group == "seed" and not o.is_sweep_override()
            and not o.is_delete() and o.value() == AUTO_SEED]
    if not auto:
        return False, overrides
    rest = [o for o in overrides if all(o is not a for a in auto)]
    other = next((o for o in rest if o.key_or_group == "seed"), None)
    if other is not None:
        raise ConfigError(f"seed=auto and {other.input_line or 'another seed'} both set the seeds; keep one: "
                          "seed=auto picks seeds 0, 1, 2, ... until the stop.* target is met")
    return True, rest


def stop_block(config: Any) -> Any:
    """The ``stop:`` block of the config as plain values ({} when the config has none)."""
    from omegaconf import OmegaConf

    block = config.get("stop")
    if block is None:
        return {}
    return OmegaConf.to_container(block, resolve=True) if OmegaConf.is_config(block) else block


def check_stop_unused(config: Any) -> None:
    """``stop.*`` settings only act with ``seed=auto``: set without it, they are a slip (ConfigError)."""
    from ..sequential import StopRule

    block = stop_block(config)
    defaults = {f.name: f.default for f in dataclasses.fields(StopRule)}
    if not isinstance(block, Mapping):
        changed = [f"stop={block!r}"]
    else:
        changed = [f"stop.{k}={v!r}" for k, v in block.items() if k not in defaults or v != defaults[k]]
    if changed:
        raise ConfigError(f"{changed[0]} has no effect without seed=auto: replace the seed list with 'seed=auto' "
                          "to stop when the target is met, or drop the stop.* settings")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def launcher_parallelism(config: Any, max_batch_size: int | None) -> int:
    """How many jobs the sweep's launcher runs at once, read from its config.

    joblib: ``hydra.launcher.n_jobs`` (negative counts back from the CPUs, as
    joblib does: -1 is every CPU); SLURM (submitit): ``array_parallelism``; Ray
    started on this machine: its CPUs / ``ray.remote.num_cpus``. Otherwise the
    sweeper's ``max_batch_size`` if set, else 1: the basic launcher runs one job
    after another (and a Ray cluster's size is not in the config: set
    ``stop.batch`` there).
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    def get(key: str) -> Any:
        try:
            return OmegaConf.select(config, key, default=None)
        except OmegaConfBaseException:  # an interpolation that does not resolve here
            return None

    n_jobs = _count(get("hydra.launcher.n_jobs"))
    if n_jobs:
        return n_jobs if n_jobs > 0 else max(1, _cpus() + 1 + n_jobs)
    array = _count(get("hydra.launcher.array_parallelism"))
    if array and array > 0:
        return array
    if get("hydra.launcher.ray") is not None and get("hydra.launcher.ray.init.address") is None:
        cpus = _count(get("hydra.launcher.ray.init.num_cpus")) or _cpus()
        per = get("hydra.launcher.ray.remote.num_cpus")
        per = per if isinstance(per, (int, float)) and not isinstance(per, bool) and per > 0 else 1
        return max(1, int(cpus // per))
    return max_batch_size if max_batch_size and max_batch_size > 0 else 1


def _chunks(batch: list[list[str]], size: int | None) -> Iterator[list[list[str]]]:
    size = size if size and size > 0 else len(batch)
    for i in range(0, len(batch), size):
        yield batch[i:i + size]


def _run_dir(job_return: Any) -> Path | None:
    fast = getattr(job_return, "seedexp_output_dir", None)  # the fast path's returns carry no hydra_cfg
    if fast is not None:
        return Path(fast)
    try:
        return Path(str(job_return.hydra_cfg.hydra.runtime.output_dir))
    except (AttributeError, TypeError):
        return None


class AdaptiveSweep:
    """The batch loop of ``seed=auto``: seeds 0, 1, 2, ... of every group until the stop rule is met.

    Each batch runs seeds ``done .. done + n - 1`` of every group (``n`` from
    :func:`seedexp.sequential.next_batch`: ``stop.batch``, else as many seeds as
    keep the launcher's parallel slots busy — :func:`launcher_parallelism` jobs
    divided among the groups, at least 1). The batch's records are read from
    their run dirs, and :func:`seedexp.sequential.check` decides on the primary
    metric of seeds ``0 .. done + n - 1``. A failed run counts as a missing value.

    The seeds are always a prefix of 0, 1, 2, ..., so the runs are those of the
    fixed sweep ``seed=range(0, N)``: a re-run of the same command finds them
    complete (the run core's resume), reaches the same decision at the same seed
    count, and goes on from there if the first one was cut short.

    Use :meth:`from_config` (it validates everything that can be checked before
    a run); :meth:`run` launches.
    """

    def __init__(self, sweeper: Any, rule: Any, groups: list[list[str]], sweep_dir: Path, *, parallelism: int,
                 primary_metric: str | None = None, directions: Mapping[str, bool] | None = None) -> None:
        self.sweeper, self.rule, self.groups, self.sweep_dir = sweeper, rule, groups, sweep_dir
        self.names = [group_of(g) for g in groups]
        self.parallelism = parallelism
        self.seeds_per_batch = max(1, parallelism // len(groups))
        self.primary_metric = primary_metric  # report.primary_metric, if set
        self.directions = dict(directions or {})  # report.higher_is_better, if set
        self.metric: str | None = None
        self.metric_source = ""
        self.planned: list[dict[str, Any]] = []
        self.done = 0
        self.metrics: dict[tuple[str, int], dict[str, Any] | None] = {}  # (group, seed) -> metrics of an ok run
        self.decision: Any = None
        self.halted: str | None = None
        self.looks: list[int] = []  # the seed counts this sweep looked at (the group-sequential design spends over them)

    @classmethod
    def from_config(cls, sweeper: Any, config: Any, overrides: list[Any], sweep_dir: Path) -> "AdaptiveSweep":
        """Check ``stop.*`` and the groups, before anything runs (one-line ConfigError)."""
        from ..stats.summary import resolve_baseline
        from ..sequential import StopRule, check

        rule = StopRule.from_config(stop_block(config))  # also: no target at all -> one line
        groups = [list(job) for batch in sweeper.split_arguments(overrides, None) for job in batch]
        names = [group_of(g) for g in groups]
        if len(set(names)) != len(names):
            raise ConfigError("two configurations of this sweep differ only in stop.* or report.* settings; "
                              "sweep those settings in separate sweeps")
        if rule.decide and len(names) < 2:  # check's own message, before the baseline's
            check(dataclasses.replace(rule, baseline=names[0]), {names[0]: []})
        if rule.baseline is not None:
            try:
                rule = dataclasses.replace(rule, baseline=resolve_baseline(rule.baseline, names))
            except ConfigError as exc:
                raise ConfigError(f"stop.{exc}") from None
        check(rule, {name: [] for name in names})  # decide=true with a single group -> one line
        report = config.get("report") or {}
        primary = report.get("primary_metric") if isinstance(report, Mapping) else None
        directions = report.get("higher_is_better") if isinstance(report, Mapping) else None
        return cls(sweeper, rule, groups, sweep_dir,
                   parallelism=launcher_parallelism(config, sweeper.max_batch_size),
                   primary_metric=str(primary) if primary else None,
                   directions=directions if isinstance(directions, Mapping) else None)

    # -- plan and state on disk

    def jobs(self, first: int, n: int) -> list[list[str]]:
        """The jobs of seeds ``first .. first + n - 1``, seed by seed, every group for each seed."""
        return [[*g, f"seed={k}"] for k in range(first, first + n) for g in self.groups]

    def write_plan(self) -> None:
        """``sweep.json``: every run planned so far (the summary counts those without a record as missing)."""
        write_plan(self.sweep_dir, self.planned, adaptive={
            "stop": self.rule.to_dict(), "groups": self.names, "seeds_per_batch": self.seeds_per_batch,
            "seeds_done": self.done})

    def stopping(self) -> dict[str, Any] | None:
        """What ``stopping.json`` holds: the latest decision, with the metric it watched."""
        if self.decision is None:
            return None
        out = {**self.decision.to_dict(), "metric": self.metric,
               "metric_source": self.metric_source, "seeds_per_batch": self.seeds_per_batch}
        if self.halted:
            out.update(stop=True, cause="failed_runs", reason=self.halted)
        return out

    # -- the loop

    def run(self, errors: list[str], launch: Callable[[Sequence[Sequence[str]], int], Iterable[Any]],
            progress: _Progress | None = None) -> None:
        """Launch batch after batch (``launch(jobs, first index)``) until the rule stops the sweep.

        Errors that stop it go to ``errors``.
        """
        from ..sequential import check, next_batch

        sw = self.sweeper
        prior = self._prior_looks()
        print(f"seedexp: seed=auto: {self._target_text()}; seeds 0, 1, 2, ... of {len(self.groups)} "
              f"configuration(s), {self.rule.batch or self.seeds_per_batch} seed(s) per batch after the first "
              f"{self.rule.min_seeds}", flush=True)
        job_idx = 0
        while True:
            n = next_batch(self.rule, self.done, self.seeds_per_batch)
            if n == 0:
                break
            batch = self.jobs(self.done, n)
            self.planned.extend(planned_runs([batch]))
            self.write_plan()
            if progress is not None:
                progress.total = len(self.planned)
            for chunk in _chunks(batch, sw.max_batch_size):
                results = launch(chunk, job_idx)
                job_idx += len(chunk)
                for r in results:
                    value = r.return_value  # raises the job's own exception, if it raised
                    if isinstance(value, dict) and "config_error" in value and value["config_error"] not in errors:
                        errors.append(value["config_error"])
                    self._read(r)
            if errors:  # what was asked cannot run: stop after this batch
                break
            self.done += n
            self._choose_metric()
            self.looks.append(self.done)
            self.decision = check(self.rule, self._series(),
                                  looks=sorted({*(k for k in prior if k <= self.done), *self.looks}))
            self._check_failures()
            self.write_plan()
            write_stopping(self.sweep_dir, self.stopping())
            print(f"seedexp: seed=auto: {self.halted or self.decision.reason}", flush=True)
            if self.decision.stop or self.halted:
                break

    def _prior_looks(self) -> list[int]:
        """Seed counts an earlier run of this same sweep (same rule) looked at, from its ``stopping.json``.

        A resumed sweep replays its batches; looks it makes differently this time
        (another batch size) are added to these, never put in their place.
        """
        old, _ = load_stopping(self.sweep_dir)
        if not isinstance(old, dict) or old.get("rule") != self.rule.to_dict() or not isinstance(old.get("looks"), list):
            return []
        return [k for k in old["looks"] if isinstance(k, int) and not isinstance(k, bool) and k > 0]

    def _read(self, job_return: Any) -> None:
        """Remember the metrics of the job's record (None when it is not ok), by its group and seed."""
        run_dir = _run_dir(job_return)
        if run_dir is None:
            return
        try:
            record = read_record(run_dir / RECORD_NAME)
        except RecordError:
            return  # no record, or a broken one: a missing value (the summary names it)
        self.metrics[(record["group"], record["seed"])] = record["metrics"] if record["status"] == "ok" else None

    def _choose_metric(self) -> None:
        """The primary metric: stop.metric, else report.primary_metric, else the first name alphabetically."""
        if self.metric is not None:
            return
        names = sorted({m for metrics in self.metrics.values() if metrics for m in metrics})
        if not names:
            return  # no run ok yet: decided after a later batch
        for wanted, source in ((self.rule.metric, "stop.metric"), (self.primary_metric, "report.primary_metric")):
            if wanted is not None:
                if wanted not in names:
                    raise ConfigError(f"{source}={wanted!r} is not a metric of these runs; they report: "
                                      f"{', '.join(names)}")
                self.metric, self.metric_source = wanted, source
                break
        else:
            self.metric, self.metric_source = names[0], "the first metric alphabetically; set stop.metric to choose"
        print(f"seedexp: seed=auto: the stop rule watches {self.metric} ({self.metric_source})", flush=True)
        self._warn_direction()

    def _warn_direction(self) -> None:
        from ..stats.options import higher_is_better_default

        if not self.rule.decide or self.metric is None:
            return
        report_says = self.directions.get(self.metric, higher_is_better_default(self.metric))
        if report_says != self.rule.higher_is_better:
            print(f"seedexp: warning: stop.higher_is_better={str(self.rule.higher_is_better).lower()} but the summary "
                  f"takes {self.metric} as {'higher' if report_says else 'lower'} is better (report.higher_is_better, "
                  "or its name); 'better' and 'worse' in the stop verdicts follow stop.higher_is_better: set it "
                  "to match", file=sys.stderr)

    def _series(self) -> dict[str, list[float | None]]:
        def value(metrics: dict[str, Any] | None) -> float | None:
            if not metrics or self.metric is None:
                return None
            v = metrics.get(self.metric)
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

        return {name: [value(self.metrics.get((name, k))) for k in range(self.done)] for name in self.names}

    def _check_failures(self) -> None:
        """A configuration with no usable value after min_seeds seeds would run to max_seeds for nothing."""
        if self.decision.stop or self.done < self.rule.min_seeds:
            return
        for g in self.decision.groups:
            if g.n == 0:
                what = self.metric or "metric"
                self.halted = (f"no run of {g.group} gave a finite {what} in seeds 0-{self.done - 1}, so no number "
                               f"of seeds can meet the target: fix the experiment (the summary lists the failures), "
                               "then re-run the same command")
                print(f"seedexp: error: {self.halted}", file=sys.stderr)
                return

    def _target_text(self) -> str:
        rule, parts = self.rule, []
        if rule.halfwidth is not None:
            parts.append(f"every configuration's {rule.level_text} half-width <= {rule.halfwidth:g}")
        if rule.decide:
            parts.append(f"every comparison with {rule.baseline} decided")
        most = f"at most {rule.max_seeds} seeds" if rule.max_seeds is not None else "no maximum"
        return f"stop when {' or '.join(parts)}, {most} ({rule.resolved_design.replace('_', '-')} design)"

    def final_line(self) -> str:
        """The last line of the sweep: why it stopped (or that it did not), after how many seeds."""
        if self.halted:
            return f"seedexp: seed=auto stopped after {self.done} seeds: {self.halted}"
        if self.decision is None:
            return (f"seedexp: seed=auto: no decision after {self.done} seeds (the sweep ended before one); "
                    "re-run the same command to go on")
        if not self.decision.stop:
            return (f"seedexp: seed=auto did not finish ({self.decision.reason}); re-run the same command to go on "
                    f"from seed {self.done}")
        return f"seedexp: seed=auto stopped: {self.decision.reason} (details: {self.sweep_dir / STOPPING_NAME})"
