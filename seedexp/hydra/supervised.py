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

from typing import Any, Callable

from ..console import log as console
from ..errors import ConfigError
from ..redact import redact_overrides, redact_text
from ..supervise import RunInfo, Supervisor, Task, check_limits, death_line
from . import _compat
from .task import config_error, small_return

__all__ = ["SupervisedRuns", "limits_of", "refuse_limits", "SETUP", "TEMPLATES"]

#: What the workers share (:meth:`seedexp.supervise.Supervisor.share`): the sweep's setup, its composed
#: configurations, and the call that runs a job (:func:`seedexp.hydra.fast.run_in_worker`).
SETUP, TEMPLATES, _JOB = "seedexp.fast.setup", "seedexp.fast.templates", "seedexp.fast.job"


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

    def __init__(self, fast: Any, workers: int, isolation: str, timeout: float | None, memory: int | None,
                 run_job: Callable[[Any], Any]) -> None:
        from .._start import HASH_SEED

        self.fast, self.run_job = fast, run_job
        self.pool = Supervisor(workers, isolation=isolation, timeout=timeout, memory_limit=memory,
                               env={"PYTHONHASHSEED": HASH_SEED})
        self._shared_templates = 0
        self._setup = False

    def _share(self) -> None:
        from hydra.core.singleton import Singleton

        fast = self.fast
        if not self._setup:
            self.pool.share(SETUP, (fast.token, fast.runner.task_function, fast.runner.job_id, Singleton.get_state(),
                                     fast.config))
            self.pool.share(_JOB, self.run_job)
            self._setup = True
        if len(fast.composed) != self._shared_templates:  # a new configuration: the workers get it before its jobs
            self.pool.share(TEMPLATES, dict(fast.composed))
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
                    results.append(small_return(ret))
                    stop = config_error(_compat.job_value(ret)) is not None
                    continue
                seed = dict(job.values).get("seed")
                info = RunInfo(ret.seedexp_output_dir, seed, group_of(job.overrides), redact_overrides(job.overrides))
                yield Task(_JOB, (job,), info, tag=ret)

        def died(task: Task, death: Any) -> None:
            console.error(redact_text(f"seedexp: {death_line(task.run, death)}"))

        try:
            for task, result in self.pool.map(tasks(), on_death=died):
                if isinstance(result, JobReturn):
                    results.append(result)
                    stop = stop or config_error(_compat.job_value(result)) is not None
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
