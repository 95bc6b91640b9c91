"""The fast path of a sweep: one Hydra composition per configuration, not one per run.

A seed sweep's jobs differ in values (``seed=3``, ``experiment.C=0.1``), not in
structure. Hydra's launchers compose every job's config from the YAML files
again (40-80 ms a job); here the jobs that share a structure - the same config
group choices and the same ``+``/``~``/``hydra.*`` overrides - share one
composed config, the *template*, and each job sets its own values on it with
``OmegaConf.update``, as Hydra applies a value override. The per-job fields of
``hydra.*`` (``job.num``, ``job.id``, ``job.override_dirname``,
``overrides.task``, ``runtime.output_dir``) are set as Hydra sets them, so run
dirs, records and ``HydraConfig.get()`` in the task are those of Hydra's path.

A job whose record is already complete is skipped before its config is copied
(resume costs a record read, not a composition). The task function gets its
own copy of the config; logging (``hydra.job_logging``: the run dir's
``<job name>.log``), ``hydra.job.chdir`` and ``hydra.job.env_set`` are as in
Hydra's ``run_job``. Hydra's per-run ``.hydra/*.yaml`` files are not written:
``result.json`` holds the resolved config and the overrides (and the sweep's
``multirun.yaml`` the Hydra settings); ``hydra.sweeper.fast=false`` brings
Hydra's own per-job path back, files included.

Used with Hydra's basic launcher (one worker) and the joblib launcher
(``hydra.launcher.n_jobs`` workers): the runs go to warm worker processes that the
sweep supervises (:mod:`seedexp.hydra.supervised`), so a run that kills its process
(``os._exit``, a segfault, the OOM killer) or passes its ``timeout`` /
``memory_limit`` costs that run only; ``isolation=none`` runs them in the sweep's
own process (basic launcher), as a debugger needs. Other launchers (Ray, SLURM)
and apps with ``hydra.callbacks`` keep Hydra's per-job path; so does any job whose
overrides cannot be split into structure and values (a key given twice).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import uuid
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

from ..redact import is_default_subdir, redact_dirname, redact_overrides, redact_text
from . import _compat
from .plan import launcher_parallelism
from .task import config_error, full_error, small_return

log = logging.getLogger(__name__)

__all__ = ["FastPath", "Job", "Runner", "run_in_worker"]

_PRIMITIVE = (str, int, float, bool, type(None))
#: Jobs planned and run at a time (the joblib path: four times as many).
_SLICE = 512
_JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@dataclass
class Job:
    """One job of the fast path: its index, overrides, the values it sets and its structure."""

    idx: int
    overrides: list[str]
    values: list[tuple[str, Any]]  # (key, parsed value) of the plain value overrides
    dirname_items: list[tuple[str, str]]  # (key, line) of the app overrides, for hydra.job.override_dirname
    structure: tuple[str, ...]  # the overrides that are not plain values, verbatim


class Planner:
    """Splits a job's overrides into structure and values (Hydra's own parser and config repository)."""

    def __init__(self, config_loader: Any, choices: Sequence[str] = ()) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create(config_loader=config_loader)
        self._parse = lru_cache(maxsize=512)(lambda line: parser.parse_overrides([line])[0])
        self._loader = config_loader
        # the sweep's defaults-list choices: also the groups only hydra.searchpath holds (the
        # loader's own repository does not see those)
        self._groups: dict[str, bool] = {str(k): True for k in choices}

    def _is_group(self, key: str) -> bool:
        if key not in self._groups:
            self._groups[key] = _compat.group_exists(self._loader, key)
        return self._groups[key]

    def job(self, idx: int, overrides: Sequence[str]) -> Job | None:
        """The job, or None when it must go through Hydra's full composition."""
        from hydra.core.override_parser.types import OverrideType, ValueType

        try:
            parsed = [self._parse(line) for line in overrides]
        except Exception:  # noqa: BLE001 - Hydra's own path reports a bad override
            return None
        keys = [o.key_or_group for o in parsed]
        if len(set(keys)) != len(keys):
            return None
        values, structure, items = [], [], []
        for line, o in zip(overrides, parsed):
            if not o.is_hydra_override():
                items.append((o.key_or_group, o.input_line or line))
            value = o.value() if o.value_type == ValueType.ELEMENT else None
            if (o.type == OverrideType.CHANGE and o.package is None and o.value_type == ValueType.ELEMENT
                    and not o.is_hydra_override() and isinstance(value, _PRIMITIVE)
                    and not self._is_group(o.key_or_group)):
                values.append((o.key_or_group, value))
            else:
                structure.append(line)
        return Job(idx, list(overrides), values, items, (*structure, "|", *sorted(k for k, _ in values)))


@dataclass
class _Template:
    """A composed config shared by the jobs of one structure; each job sets its values on it in turn."""

    full: Any  # the composed config, hydra node included: HydraConfig.get() reads it
    task: Any = None  # the same without the hydra node: copied for each job's task function
    sweep_dir: str = ""
    chdir: bool = False
    exclude: frozenset[str] = frozenset()
    kv_sep: str = "="
    item_sep: str = ","
    log_movable: bool | None = None  # see _JobLogging
    default_subdir: bool = True  # hydra.sweep.subdir is the override dirname (seedexp's default masks secrets)
    task_reads_hydra: bool = False  # the task config interpolates ${hydra:...}
    master: Any = None  # the sweep's config: its resolver cache is where every job starts
    has_env: bool = False  # hydra.job.env_set is set (it may interpolate the per-job fields)

    @classmethod
    def of(cls, full: Any, master: Any = None) -> "_Template":
        from omegaconf import OmegaConf, open_dict, read_write

        task = copy.deepcopy(full)
        with read_write(task), open_dict(task):
            del task["hydra"]
        hydra = full.hydra
        chdir = hydra.job.chdir
        if chdir is None:  # as Hydra's run_job decides it
            chdir = _compat.chdir_by_default()
        dirname = hydra.job.config.override_dirname
        OmegaConf.set_readonly(hydra, True)  # as HydraConfig holds it; apply() opens it for the per-job fields
        subdir = OmegaConf.to_container(hydra.sweep, resolve=False).get("subdir")  # type: ignore[union-attr]
        return cls(full=full, task=task, sweep_dir=str(OmegaConf.select(full, "hydra.sweep.dir")), chdir=bool(chdir),
                   exclude=frozenset(str(k) for k in dirname.exclude_keys), kv_sep=str(dirname.kv_sep),
                   item_sep=str(dirname.item_sep), default_subdir=is_default_subdir(subdir),
                   task_reads_hydra="${hydra:" in repr(OmegaConf.to_container(task, resolve=False)), master=master,
                   has_env=bool(hydra.job.env_set))

    def set_values(self, job: Job) -> str | None:
        """Set the job's values; return its output dir when it is known without Hydra's fields, else None.

        Under the default ``hydra.sweep.subdir`` (the override dirname) the run
        dir is known at once, so that resume can skip a complete run before
        :meth:`set_fields` (unless the task config reads ``${hydra:...}``).
        """
        from omegaconf import OmegaConf

        start = OmegaConf.get_cache(self.master) if self.master is not None else {}
        for cfg in (self.full, self.task):  # cached resolver values (${now:...}) are the sweep's, not a job's
            if OmegaConf.get_cache(cfg) != start:
                OmegaConf.clear_cache(cfg)
                if self.master is not None:
                    OmegaConf.copy_cache(from_config=self.master, to_config=cfg)
        for key, value in job.values:
            OmegaConf.update(self.full, key, value, merge=True)
            OmegaConf.update(self.task, key, value, merge=True)
        if self.default_subdir and not self.task_reads_hydra and not self.has_env:
            return os.path.abspath(os.path.join(self.sweep_dir, self.run_dirname(job)))
        return None

    def dirname(self, job: Job) -> str:
        """``hydra.job.override_dirname`` of the job, as Hydra computes it."""
        lines = sorted(line for key, line in job.dirname_items if key not in self.exclude)
        return self.item_sep.join(lines).replace("=", self.kv_sep)

    def run_dirname(self, job: Job) -> str:
        """The run dir's name under the default subdir: the override dirname, secrets masked (seedexp.redact)."""
        return redact_dirname(self.dirname(job), job.overrides, self.kv_sep)

    def set_fields(self, job: Job, job_id: Any) -> str:
        """Set Hydra's per-job fields (``HydraConfig.get()`` reads them); return the output dir (absolute)."""
        from omegaconf import OmegaConf, open_dict, read_write

        hydra = self.full.hydra
        dirname = self.dirname(job)
        with read_write(hydra), open_dict(hydra):
            hydra.job.num = job.idx
            hydra.job.id = job_id
            hydra.job.override_dirname = dirname
            hydra.overrides.task = list(job.overrides)
            subdir = self.run_dirname(job) if self.default_subdir else str(OmegaConf.select(self.full, "hydra.sweep.subdir"))
            output_dir = os.path.abspath(os.path.join(self.sweep_dir, subdir))
            hydra.runtime.output_dir = output_dir
        return output_dir

    def env_set(self) -> dict[str, str]:
        """``hydra.job.env_set``, resolved for the current job (it may interpolate the job's values)."""
        from omegaconf import OmegaConf

        env = self.full.hydra.job.env_set
        return {str(k): str(v) for k, v in OmegaConf.to_container(env, resolve=True).items()} if env else {}


#: What ``hydra.job_logging`` may interpolate for its files to be moved from run dir to run dir.
_LOG_KEYS = {"${hydra.runtime.output_dir}", "${hydra:runtime.output_dir}", "${hydra.job.name}", "${hydra:job.name}"}


class _JobLogging:
    """``hydra.job_logging`` for each job: Hydra's ``configure_log`` once per configuration, then cheaper.

    Between the jobs of one template the logging config differs only in the run
    dir its files go to (when it interpolates nothing else): the file handlers
    Hydra configured are pointed at the next run dir instead of configuring
    everything again. Whenever the root logger's handlers are not the ones
    configured (the task added or removed one), Hydra configures it all again,
    as it would for every job.
    """

    def __init__(self) -> None:
        self.template: Any = None
        self.output_dir = ""
        self.handlers: tuple = ()
        self.files: list[logging.FileHandler] = []

    @staticmethod
    def _movable(template: Any) -> bool:
        from omegaconf import OmegaConf

        if getattr(template, "log_movable", None) is None:
            text = repr(OmegaConf.to_container(template.full.hydra.job_logging, resolve=False))
            template.log_movable = set(re.findall(r"\$\{[^}]*\}", text)) <= _LOG_KEYS
        return template.log_movable

    def configure(self, template: Any, output_dir: str) -> None:
        from hydra.core.utils import configure_log

        root = logging.getLogger()
        if template is self.template and tuple(root.handlers) == self.handlers and self._movable(template):
            self._move(self.output_dir, output_dir)
        else:
            configure_log(template.full.hydra.job_logging, template.full.hydra.verbose)
            self.template, self.handlers = template, tuple(root.handlers)
            loggers = [root, *(x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger))]
            self.files = [h for h in {h for x in loggers for h in x.handlers} if isinstance(h, logging.FileHandler)]
        self.output_dir = output_dir

    def _move(self, old: str, new: str) -> None:
        prefix = os.path.join(old, "")
        for handler in self.files:  # those configure_log made, not the task's own
            if handler.baseFilename.startswith(prefix):
                path = os.path.join(new, handler.baseFilename[len(prefix):])
                if os.path.dirname(path) != new:  # the run dir itself exists already
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                stream = open(path, handler.mode, encoding=handler.encoding, errors=handler.errors)
                old_stream = handler.setStream(stream)
                handler.baseFilename = path
                if old_stream is not None:
                    old_stream.close()


class Runner:
    """Runs fast-path jobs in this process: the sweep's own (``isolation=none``) or a supervised worker's."""

    def __init__(self, task_function: Callable[[Any], Any], job_id: str) -> None:
        self.task_function = task_function
        self.templates: dict[tuple, _Template] = {}
        self.job_id = job_id  # "num" (basic launcher) or "name_num" (joblib launcher)
        self._logging = _JobLogging()

    def add_templates(self, composed: dict[tuple, Any], master: Any) -> None:
        """Take the composed configs this runner does not hold yet."""
        for key, full in composed.items():
            if key not in self.templates:
                self.templates[key] = _Template.of(full, master)

    def begin(self, job: Job) -> tuple[Any, bool]:
        """Set the job's values and Hydra's fields: ``(its JobReturn, finished)``.

        Finished: a configuration error, or a complete record of it (resume);
        then the JobReturn says so and nothing is to run. The sweep's process
        calls this before it hands a job to a supervised worker.
        """
        from hydra.core.utils import JobReturn, JobStatus, env_override

        from ..errors import ConfigError
        from .task import check_inside, completed_record_of

        template = self.templates[job.structure]
        full = template.full
        job_id = job.idx if self.job_id == "num" else f"{full.hydra.job.name}_{job.idx}"
        early = template.set_values(job)
        output_dir = early or template.set_fields(job, job_id)
        _compat.set_job_config(full)  # what HydraConfig.get() reads, without set_config's copy
        ret = JobReturn(overrides=list(job.overrides), task_name=str(full.hydra.job.name), working_dir=os.getcwd())
        ret.seedexp_output_dir = output_dir  # type: ignore[attr-defined]
        ret.seedexp_job = job.idx  # type: ignore[attr-defined]
        try:
            check_inside(Path(output_dir), Path(template.sweep_dir))  # before a directory is made out there
        except ConfigError as exc:
            ret.status, ret.return_value = JobStatus.COMPLETED, {"config_error": str(exc)}
            return ret, True
        env = template.env_set() if template.has_env else {}
        with env_override(env):  # the config may read ${oc.env:...} of hydra.job.env_set
            done = completed_record_of(self.task_function, template.task, job.overrides, output_dir,
                                       template.sweep_dir)
        if done is not None:  # resume: nothing to copy, configure or run
            ret.status, ret.return_value = JobStatus.COMPLETED, done
            return ret, True
        if early is not None:
            template.set_fields(job, job_id)
        self._begun = (template, output_dir, env)
        return ret, False

    def run(self, job: Job) -> Any:
        """Run one job here: its JobReturn (a configuration error or a resumed record runs nothing)."""
        from hydra.core.utils import JobStatus, env_override

        from .task import cli_task

        ret, finished = self.begin(job)
        if finished:
            return ret
        template, output_dir, env = self._begun
        os.makedirs(output_dir, exist_ok=True)
        # the user's task gets its own copy, as from Hydra; the seedexp command's only reads it
        task_cfg = template.task if self.task_function is cli_task else copy.deepcopy(template.task)
        old_cwd = os.getcwd()
        try:
            if template.chdir:
                os.chdir(output_dir)
                ret.working_dir = output_dir
            try:
                self._logging.configure(template, output_dir)  # after the chdir, as Hydra: a relative log file
            except ValueError as exc:  # a log file that cannot open: one line, said here (its cause does not travel)
                from .app import logging_error_line

                line = None if full_error() else logging_error_line(exc)
                if line is None:
                    raise
                ret.status, ret.return_value = JobStatus.COMPLETED, {"config_error": redact_text(line)}
                return ret
            log.info("\t#%d : %s", job.idx, " ".join(redact_overrides(job.overrides)))
            with env_override(env):
                try:
                    ret.return_value = self.task_function(task_cfg)
                    ret.status = JobStatus.COMPLETED
                except Exception as exc:  # noqa: BLE001 - as Hydra's run_job: raised again by .return_value
                    ret.return_value, ret.status = exc, JobStatus.FAILED
        finally:
            if template.chdir:
                os.chdir(old_cwd)
        return ret


class FastPath:
    """The fast path of one sweep; :meth:`create` says whether the sweep's launcher allows it."""

    def __init__(self, sweeper: Any, config: Any, n_jobs: int | None) -> None:
        self.sweeper, self.config, self.n_jobs = sweeper, config, n_jobs
        from omegaconf import OmegaConf

        choices = OmegaConf.select(config, "hydra.runtime.choices", default=None)
        self.planner = Planner(sweeper.hydra_context.config_loader, list(choices.keys()) if choices else [])
        self.composed: dict[tuple, Any] = {}
        self.runner = Runner(sweeper.launcher.task_function, "num" if n_jobs is None else "name_num")
        self.token = uuid.uuid4().hex
        self.skipped = 0
        self.limits: tuple[str, float | None, int | None] | None = None  # isolation, timeout, memory (isolate())
        self.supervised: Any = None  # seedexp.hydra.supervised.SupervisedRuns, made at the first run

    def isolate(self) -> None:
        """Read and check ``isolation``, ``timeout`` and ``memory_limit`` (one line naming a bad value), before any run."""
        from ..errors import ConfigError
        from .supervised import limits_of

        self.limits = limits_of(self.config)
        if self.n_jobs is not None:
            from omegaconf import OmegaConf

            given = OmegaConf.select(self.config, "hydra.launcher.n_jobs", default=None)
            if isinstance(given, bool) or not isinstance(given, int) or given == 0:
                raise ConfigError(f"hydra.launcher.n_jobs={given!r}: joblib runs jobs on that many workers; give a "
                                  "number >= 1, or -1 for one per CPU (-2: all but one...)")
        if self.limits[0] == "none" and self.n_jobs is not None:
            raise ConfigError(f"isolation=none runs every run in the sweep's own process, one at a time, and the "
                              f"joblib launcher asks for {self.n_jobs} worker processes; drop one of them")

    def close(self) -> None:
        """The sweep's end: stop its workers (no pool outlives the sweep)."""
        if self.supervised is not None:
            self.supervised.close()
            self.supervised = None

    @classmethod
    def create(cls, sweeper: Any, config: Any, enabled: bool = True) -> "FastPath | None":
        """The fast path for this sweep, or None (disabled, another launcher, ``hydra.callbacks`` set)."""
        from omegaconf import OmegaConf

        launcher = getattr(sweeper, "launcher", None)
        kind = f"{type(launcher).__module__}.{type(launcher).__qualname__}"
        if not enabled or kind not in (_compat.BASIC_LAUNCHER, _JOBLIB) or getattr(launcher, "task_function", None) is None:
            return None
        if OmegaConf.select(config, "hydra.callbacks", default=None):
            return None
        n_jobs = None
        if kind == _JOBLIB:
            settings = getattr(launcher, "joblib", None) or {}
            if settings.get("timeout") is not None:  # a limit the fast path's workers do not apply
                return None
            n_jobs = launcher_parallelism(config, None)  # hydra.launcher.n_jobs, as joblib counts it
        return cls(sweeper, config, n_jobs)

    def _template(self, job: Job) -> Any:
        if job.structure not in self.composed:  # the one full composition of this structure
            loader = self.sweeper.hydra_context.config_loader
            self.composed[job.structure] = loader.load_sweep_config(self.config, list(job.overrides))
            log.info("seedexp fast path: composed configuration %d: %s", len(self.composed),
                     " ".join(job.structure[:job.structure.index("|")]) or "(no structural overrides)")
        return self.composed[job.structure]

    def launch(self, batch: Sequence[Sequence[str]], initial_job_idx: int) -> Iterator[Any]:
        """Run a batch, slice by slice (memory stays flat in the batch's size); yield each job's return.

        Jobs that need Hydra's full path go to the sweep's launcher, in order.
        After a slice in which a job found a configuration error, it stops.
        """
        from hydra.core.utils import configure_log, setup_globals

        setup_globals()
        hydra = self.config.hydra
        configure_log(hydra.hydra_logging, hydra.verbose)
        mode = "locally" if self.n_jobs is None else f"on {self.n_jobs} joblib worker(s)"
        log.info("Launching %d jobs %s (seedexp fast path: one Hydra composition per configuration)", len(batch), mode)
        size = _SLICE if self.n_jobs is None else _SLICE * 4
        for first in range(0, len(batch), size):
            results = self._slice(batch[first:first + size], initial_job_idx + first)
            stop = False
            for r in results:
                stop = stop or config_error(_compat.job_value(r)) is not None
                yield r
            if stop:
                return

    def _slice(self, batch: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        from hydra.core.utils import configure_log

        jobs = [self.planner.job(initial_job_idx + i, list(o)) for i, o in enumerate(batch)]
        for job in jobs:
            if job is not None:
                self._template(job)  # composition errors surface here, before any run of the slice
        fast = [j for j in jobs if j is not None]
        out: dict[int, Any] = {}
        if fast:
            try:
                results = self._run(fast)
            finally:
                hydra = self.config.hydra
                configure_log(hydra.hydra_logging, hydra.verbose)
            out.update((r.seedexp_job, r) for r in results)  # a slice cut short by a config error is shorter
        i = 0
        while i < len(jobs):  # runs of jobs that Hydra composes itself, with their own indices
            if jobs[i] is not None:
                i += 1
                continue
            start = i
            while i < len(jobs) and jobs[i] is None:
                i += 1
            for k, r in enumerate(self.sweeper.launcher.launch(batch[start:i], initial_job_idx=initial_job_idx + start)):
                out[initial_job_idx + start + k] = r
        return [out[k] for k in sorted(out)]

    def _run(self, jobs: list[Job]) -> list[Any]:
        """In this process (``isolation=none``), else on supervised workers: a run that kills its process costs it only."""
        if self.limits is None:
            self.isolate()
        mode, timeout, memory = self.limits  # type: ignore[misc]
        if mode == "none":
            return self._run_here(jobs)
        if self.supervised is None:
            from .supervised import SupervisedRuns

            self.supervised = SupervisedRuns(self, self.n_jobs or 1, mode, timeout, memory, run_in_worker)
        return self.supervised.run(jobs)

    def _run_here(self, jobs: list[Job]) -> list[Any]:
        self.runner.add_templates(self.composed, self.config)
        results = []
        for job in jobs:
            results.append(small_return(self.runner.run(job)))  # the record is on disk: a slice holds only statuses
            if config_error(_compat.job_value(results[-1])) is not None:
                break  # what was asked cannot run: the sweep stops after this batch
        return results


_WORKER: dict[str, Any] = {}


def run_in_worker(job: Job) -> Any:
    """In a supervised worker: run one job on this worker's warm :class:`Runner` (:mod:`seedexp.hydra.supervised`)."""
    from ..supervise import shared
    from .supervised import SETUP, TEMPLATES

    token, task_function, job_id, singleton_state, master = shared(SETUP)
    if _WORKER.get("token") != token:
        from hydra.core.singleton import Singleton
        from hydra.core.utils import setup_globals

        setup_globals()
        Singleton.set_state(singleton_state)  # a spawned worker has none; a forked one has the sweep's already
        _WORKER.clear()
        _WORKER.update(token=token, runner=Runner(task_function, job_id))
    runner = _WORKER["runner"]
    runner.add_templates(shared(TEMPLATES), master)
    return small_return(runner.run(job))
