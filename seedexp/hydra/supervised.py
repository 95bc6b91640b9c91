"""The sweeper's fast path on supervised workers: a run that kills its process costs that run only.

With the basic launcher (one worker) and the joblib launcher (``hydra.launcher.n_jobs``
workers), the fast path's jobs run in warm worker processes of a
:class:`seedexp.supervise.Supervisor`, each a :class:`~seedexp.hydra.fast.Runner`
as in the sweep's own process. This process decides first what a job is (its run
dir, a configuration error, a complete record to resume), so a finished job never
wakes a worker; a job whose worker dies gets a ``crashed`` or ``timed_out`` record
and a line on stderr, and the sweep goes on. The settings are the config's
``isolation``, ``timeout`` and ``memory_limit`` (``seedexp.yaml``).
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import ConfigError
from ..supervise import RunInfo, Supervisor, Task, check_limits, death_line, shared

__all__ = ["SupervisedRuns", "limits_of", "refuse_limits"]

_SETUP, _TEMPLATES, _JOB = "seedexp.fast.setup", "seedexp.fast.templates", "seedexp.fast.job"


def limits_of(config: Any) -> tuple[str, float | None, int | None]:
    """``(isolation, timeout, memory bytes)`` from the sweep's config (checked: one line naming a bad value)."""
    from omegaconf import OmegaConf

    def get(key: str, default: Any = None) -> Any:
        value = OmegaConf.select(config, key, default=default)
        return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value

    return check_limits(get("isolation", "process"), get("timeout"), get("memory_limit"))


def refuse_limits(config: Any, why: str) -> None:
    """Hydra's per-job path runs jobs where its launcher puts them: a timeout or memory limit would not apply."""
    _, timeout, memory = limits_of(config)
    if timeout is not None or memory is not None:
        what = "timeout" if timeout is not None else "memory_limit"
        raise ConfigError(f"{what} applies to seedexp's supervised runs (the basic and joblib launchers with "
                          f"hydra.sweeper.fast=true), and {why}; drop {what}, or use the launcher's own limit "
                          "(e.g. hydra.launcher.timeout_min on SLURM)")


class SupervisedRuns:
    """The fast path's runs of one sweep on ``workers`` supervised worker processes."""

    def __init__(self, fast: Any, workers: int, isolation: str, timeout: float | None, memory: int | None) -> None:
        from .._start import HASH_SEED

        self.fast = fast
        self.pool = Supervisor(workers, isolation=isolation, timeout=timeout, memory_limit=memory,
                               env={"PYTHONHASHSEED": HASH_SEED})
        self._shared_templates = 0
        self._setup = False

    def _share(self) -> None:
        from hydra.core.singleton import Singleton

        fast = self.fast
        if not self._setup:
            self.pool.share(_SETUP, (fast.token, fast.runner.task_function, fast.runner.job_id, Singleton.get_state(),
                                     fast.config))
            self.pool.share(_JOB, _run_job)
            self._setup = True
        if len(fast.composed) != self._shared_templates:  # a new configuration: the workers get it before its jobs
            self.pool.share(_TEMPLATES, dict(fast.composed))
            self._shared_templates = len(fast.composed)

    def run(self, jobs: list[Any]) -> list[Any]:
        """Run ``jobs`` (the fast path's :class:`~seedexp.hydra.fast.Job`); their JobReturns, in any order.

        Jobs after one that found a configuration error are not started (the sweep stops after the batch).
        """
        from hydra.core.utils import JobReturn, JobStatus

        from ..record import group_of

        runner = self.fast.runner
        runner.add_templates(self.fast.composed, self.fast.config)
        self._share()
        results: list[Any] = []
        stop = False

        def tasks() -> Any:
            nonlocal stop
            for job in jobs:
                if stop:
                    return
                ret, finished = runner.begin(job)  # here: resume and errors wake no worker
                if finished:
                    results.append(_small(ret))
                    stop = isinstance(ret._return_value, dict) and "config_error" in ret._return_value
                    continue
                seed = dict(job.values).get("seed")
                info = RunInfo(ret.seedexp_output_dir, seed, group_of(job.overrides), list(job.overrides))
                yield Task(_JOB, (job,), info, tag=ret)

        def died(task: Task, death: Any) -> None:
            print(f"seedexp: {death_line(task.run, death)}", file=sys.stderr, flush=True)

        try:
            for task, result in self.pool.map(tasks(), on_death=died):
                if isinstance(result, JobReturn):
                    results.append(result)
                    value = result._return_value
                    stop = stop or (isinstance(value, dict) and "config_error" in value)
                else:  # the worker died: its record says how (seedexp.supervise.record_death)
                    ret = task.tag
                    ret.status = JobStatus.COMPLETED
                    ret.return_value = {"status": result.status, "seed": task.run.seed, "group": task.run.group}
                    results.append(ret)
        except KeyboardInterrupt:
            self.pool.close(interrupt=True)
            raise
        return results

    def close(self) -> None:
        """Stop the workers (the sweep's end): nothing of the sweep outlives it."""
        self.pool.close()


def _small(ret: Any) -> Any:
    from .fast import _small as small

    return small(ret)


_WORKER: dict[str, Any] = {}


def _run_job(job: Any) -> Any:
    """In a worker: run one fast-path job on this worker's warm :class:`~seedexp.hydra.fast.Runner`."""
    from .fast import Runner

    token, task_function, job_id, singleton_state, master = shared(_SETUP)
    if _WORKER.get("token") != token:
        from hydra.core.singleton import Singleton
        from hydra.core.utils import setup_globals

        setup_globals()
        Singleton.set_state(singleton_state)  # a spawned worker has none; a forked one has the sweep's already
        _WORKER.clear()
        _WORKER.update(token=token, runner=Runner(task_function, job_id))
    runner = _WORKER["runner"]
    runner.add_templates(shared(_TEMPLATES), master)
    return _small(runner.run(job))
