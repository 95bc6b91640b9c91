"""The ``seedexp`` sweeper: Hydra's basic sweeper that owns the end of the sweep.

The work is done in :mod:`seedexp.hydra.sweeper`; this module only holds the
class Hydra discovers (plugin classes must live under ``hydra_plugins``).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class SeedexpSweeper(BasicSweeper):
    """Plans the runs, launches them in batches, and writes the summary at the end.

    With ``seed=auto`` it plans batch by batch, seeds 0, 1, 2, ..., until the
    ``stop.*`` target is met (:class:`seedexp.hydra.sweeper.AdaptiveSweep`).

    Parameters are those of Hydra's basic sweeper (``max_batch_size``,
    ``params``), and ``fast``: with the basic or joblib launcher, compose each
    configuration once, not each run (:mod:`seedexp.hydra.fast`); ``false``
    gives Hydra's own per-job path. See :class:`seedexp.hydra.sweeper.SweepDriver`.
    """

    def __init__(self, max_batch_size: Optional[int] = None, params: Optional[dict] = None,
                 fast: bool = True) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self._driver: Any = None
        self._fast = fast

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from seedexp.hydra.sweeper import SweepDriver, wrap_task
        from seedexp.hydra.task import pin_code

        task = wrap_task(task_function)
        pin_code(task)  # jobs on workers (joblib, Ray, SLURM) identify the code the driver runs
        super().setup(hydra_context=hydra_context, task_function=task, config=config)
        self._driver = SweepDriver(self, config, fast=self._fast)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        # A seed sweep's jobs differ in values, not structure: composing the first job of a
        # batch catches the same errors as composing all of them (half of Hydra's per-job cost).
        if batch:
            super().validate_batch_is_legal(batch[:1])

    def sweep(self, arguments: List[str]) -> Any:
        from seedexp.hydra.sweeper import reported_to_hydra

        with reported_to_hydra():  # a seedexp error is one line for Hydra to print (exit 1), not a traceback
            return self._driver.sweep(arguments, super().sweep)
