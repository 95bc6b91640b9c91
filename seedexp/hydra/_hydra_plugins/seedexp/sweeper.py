"""The ``seedexp`` sweeper: a Hydra ``Sweeper`` whose batch loop, plan and summary are seedexp's.

The work is done in :mod:`seedexp.hydra.sweeper`, imported when Hydra sets the
sweeper up; this module only holds the class Hydra discovers (plugin classes
must live under ``hydra_plugins``). It subclasses Hydra's public ``Sweeper``
interface: the batch loop is seedexp's own (plan, fast path, summary in
``finally``), so nothing of Hydra's basic sweeper is used.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from hydra.plugins.sweeper import Sweeper


class SeedexpSweeper(Sweeper):
    """Plans the runs, launches them in batches, and writes the summary at the end.

    With ``seed=auto`` it plans batch by batch, seeds 0, 1, 2, ..., until the
    ``stop.*`` target is met (:class:`seedexp.hydra.adaptive.AdaptiveSweep`).

    Parameters
    ----------
    max_batch_size : int, optional
        Jobs handed to the launcher at a time (all of them when None), as for
        Hydra's basic sweeper.
    params : dict, optional
        Overrides swept before the command line's (``hydra.sweeper.params``).
    fast : bool
        With the basic or joblib launcher, compose each configuration once, not
        each run (:mod:`seedexp.hydra.fast`); ``false`` gives Hydra's own per-job path.
    """

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[dict] = None,
                 fast: bool = True) -> None:
        super().__init__()
        self.max_batch_size = max_batch_size
        self.params = dict(params or {})
        self.hydra_context: Any = None
        self.config: Any = None
        self.launcher: Any = None
        self._fast = fast
        self._driver: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from seedexp.hydra.sweeper import SweepDriver

        self._setup_launcher(hydra_context, task_function, config)
        self._driver = SweepDriver(self, config, fast=self._fast)

    def _setup_launcher(self, hydra_context: Any, task_function: Any, config: Any) -> None:
        """The sweep's launcher, running the task through seedexp (as Hydra's basic sweeper makes it)."""
        from hydra.core.plugins import Plugins

        from seedexp.hydra.task import pin_code, wrap_task

        task = wrap_task(task_function)
        pin_code(task)  # jobs on workers (joblib, Ray, SLURM) identify the code the driver runs
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context, task_function=task,
                                                                config=config)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        # A seed sweep's jobs differ in values, not structure: composing the first job of a
        # batch catches the same errors as composing all of them (half of Hydra's per-job cost).
        if batch:
            super().validate_batch_is_legal(batch[:1])

    def sweep(self, arguments: List[str]) -> Any:
        from seedexp.hydra.sweeper import reported_to_hydra

        with reported_to_hydra():  # a seedexp error is one line for Hydra to print, not a traceback
            return self._driver.sweep(arguments)
