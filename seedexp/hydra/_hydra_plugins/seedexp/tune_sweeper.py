"""The ``seedexp_tune`` sweeper: a tuning study whose trials all run the same seeds.

The work is done in :mod:`seedexp.hydra.tune` and :mod:`seedexp.tuning`; this
module only holds the class Hydra discovers (plugin classes must live under
``hydra_plugins``). Its settings are in ``conf/hydra/sweeper/seedexp_tune.yaml``.
"""

from __future__ import annotations

from typing import Any, List, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class SeedexpTuneSweeper(BasicSweeper):
    """Optuna's samplers over seedexp runs: common seeds per trial, finalists re-checked on fresh seeds.

    Parameters (``hydra.sweeper.*``): ``sampler`` (``{_target_: optuna.samplers.TPESampler,
    seed: null}``; a null seed is derived from ``seed``), ``direction`` (null: from
    ``report.higher_is_better``), ``n_trials``, ``metric``, ``statistic`` (mean | bound),
    ``finalists``, ``fresh_seeds``, ``adaptive``, ``seed``, ``params`` (the search space,
    hydra-optuna-sweeper's shape), ``max_batch_size`` and ``fast`` (as the seedexp sweeper).
    See :class:`seedexp.hydra.tune.TuneDriver`.
    """

    def __init__(self, sampler: Any = None, direction: Any = None, n_trials: int = 20, metric: Any = None,
                 statistic: str = "mean", finalists: int = 3, fresh_seeds: Any = None, adaptive: Any = None,
                 seed: int = 0, params: Optional[dict] = None, max_batch_size: Optional[int] = None,
                 fast: bool = True) -> None:
        super().__init__(max_batch_size=max_batch_size, params=None)
        self._settings = {"sampler": sampler, "direction": direction, "n_trials": n_trials, "metric": metric,
                          "statistic": statistic, "finalists": finalists, "fresh_seeds": fresh_seeds,
                          "adaptive": adaptive, "seed": seed, "params": params, "fast": fast}
        self._driver: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: Any) -> None:
        from seedexp.hydra.sweeper import wrap_task
        from seedexp.hydra.task import pin_code
        from seedexp.hydra.tune import TuneDriver

        task = wrap_task(task_function)
        pin_code(task)  # jobs on workers (joblib, Ray, SLURM) identify the code the driver runs
        super().setup(hydra_context=hydra_context, task_function=task, config=config)
        self._driver = TuneDriver(self, config, self._settings)

    def validate_batch_is_legal(self, batch: Any) -> None:
        if batch:  # a trial's jobs differ in the seed only: composing one catches the same errors
            super().validate_batch_is_legal(batch[:1])

    def sweep(self, arguments: List[str]) -> Any:
        from seedexp.hydra.sweeper import reported_to_hydra

        with reported_to_hydra():  # a seedexp error is one line for Hydra to print (exit 1), not a traceback
            return self._driver.sweep(arguments)
