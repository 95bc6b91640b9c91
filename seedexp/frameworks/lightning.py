"""Lightning: the plan's streams for a ``lightning.Trainer``, in one line, with or without DDP.

.. code-block:: python

    import lightning as L
    from seedexp.frameworks.lightning import SeedStreams

    trainer = L.Trainer(max_epochs=3, callbacks=[SeedStreams(seeds)])
    trainer.fit(model, datamodule)
    return trainer.callback_metrics      # 0-d tensors are recorded as numbers

What each stream drives (``r`` is the global rank, ``e`` the epoch):

=================  =========================================================================
stream             what follows it
=================  =========================================================================
``init``           the weights of a model built before ``trainer.fit`` (torch's global
                   generator is seeded from ``init`` at the start of the run)
``dropout``        torch's global generator from ``fit`` on: dropout masks and every other
                   draw in training; with several processes ``dropout/rank<r>``, one per rank
``shuffle``        the training order: ``shuffle/order`` seeds the ``RandomSampler`` (one
                   process) or the ``DistributedSampler`` (the same permutation on every
                   rank, as it requires, a new one each epoch); and the DataLoader workers:
                   each epoch's base seed comes from ``shuffle/workers/<r>/<stage>/<e>``, so every
                   worker of every rank gets a seed of its own in every epoch (torch gives
                   worker ``w`` ``base + w`` for torch and ``random``, a mix of both for NumPy)
``python``,        ``random`` and NumPy's global state: seeded at the start of the run; in a
``numpy``          DDP process also from ``python/rank<r>`` / ``numpy/rank<r>`` at ``fit``
``gpu``            CUDA's generator: ``gpu`` (``gpu/rank<r>`` with several processes)
=================  =========================================================================

``determinism.strict=true`` turns on torch's deterministic algorithms (and the
cuDNN switches) in every process, whatever ``Trainer(deterministic=...)`` says; with
``strict=false`` the Trainer's own setting stands, and the record reads back what
was in force at the end of the run.

Under DDP the record of the run (written by the process that called
``trainer.fit``, or by rank 0) lists every rank's streams. The other ranks of a
``strategy="ddp"`` launch re-run the script: they train and write no record.

Metrics: return ``trainer.callback_metrics`` (or a dict built from it); the final
value of each metric is recorded. Curves: at the end of every training epoch (after
its validation) rank 0 logs each metric Lightning holds to the run's series
(``seedexp.log(epoch, ...)``: ``series.npz``, the summary's learning curves), when
that rank is the run's own process (one device, or ``strategy="ddp"``); also kept in
:attr:`SeedStreams.series`. ``SeedStreams(seeds, series=False)`` logs nothing.

Not covered: ``pytorch_lightning`` (the older package name: use ``lightning``),
persistent DataLoader workers (their seeds are set once, when they start), and
randomness a ``LightningDataModule`` draws in ``setup`` (use ``seeds`` there).
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import numpy as np

from ..seeds import SeedPlan
from . import reseeds

if TYPE_CHECKING:
    from . import Run

__all__ = ["SeedStreams"]


def _unrecorded(plan: SeedPlan) -> SeedPlan:
    from . import _unrecorded as copy

    return copy(plan)


class SeedStreams(pl.Callback):
    """A ``lightning.Trainer`` callback that gives training the run's streams.

    Parameters
    ----------
    seeds : SeedPlan, optional
        The run's plan (the ``seeds`` argument of the experiment); default: the
        plan of the run in progress (:func:`seedexp.current_seeds`). See the
        "stream" entry of :mod:`seedexp.seeds`.
    strict : bool, optional
        Deterministic algorithms; default: the run's ``determinism.strict``.
    series : bool
        Log every metric at the end of each training epoch to the run's series
        (learning curves; :func:`seedexp.log`).

    Examples
    --------
    >>> import lightning as L
    >>> from seedexp import SeedPlan
    >>> from seedexp.frameworks.lightning import SeedStreams
    >>> trainer = L.Trainer(max_epochs=1, callbacks=[SeedStreams(SeedPlan(0))], logger=False,
    ...                     enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    """

    def __init__(self, seeds: SeedPlan | None = None, strict: bool | None = None, series: bool = True) -> None:
        from . import active_run

        run = active_run()
        if seeds is None:
            from ..core import current_seeds

            seeds = current_seeds()
        if strict is None:
            strict = bool(run.strict) if run is not None and run.plan is seeds else False
        self.seeds = seeds
        self.strict = bool(strict)
        #: ``{metric: [(epoch, value), ...]}`` at the end of each training epoch, on rank 0.
        self.series: dict[str, list[tuple[int, float]]] = {}
        self.log_series = bool(series)
        self._shadow = _unrecorded(seeds)
        self._samplers: set[int] = set()

    # -- the streams -------------------------------------------------------------------
    def streams(self, world_size: int) -> dict[str, int]:
        """Record (in the plan) and return the streams training uses with ``world_size`` processes."""
        plan = self.seeds
        out = {"shuffle/order": plan.child("shuffle").seed("order")}
        workers = plan.child("shuffle").child("workers")
        if world_size <= 1:
            out["dropout"] = plan.seed("dropout")
            out["shuffle/workers/0"] = workers.seed(0)
        else:
            for rank in range(world_size):
                for stream in ("dropout", "python", "numpy"):
                    out[f"{stream}/rank{rank}"] = plan.child(stream).seed(f"rank{rank}")
                out[f"shuffle/workers/{rank}"] = workers.seed(rank)
        return out

    def _seed(self, *path: str | int) -> int:
        plan = self._shadow
        for name in path[:-1]:
            plan = plan.child(name)
        return plan.seed(path[-1])

    def _apply_determinism(self) -> None:
        if not self.strict:
            return
        import torch

        from .torch import CUBLAS_VAR, CUBLAS_WORKSPACE

        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault(CUBLAS_VAR, CUBLAS_WORKSPACE)

    def _bind(self, trainer: Any) -> None:
        """The Trainer was just built in the run's process: record every rank's streams, apply strict."""
        self.streams(int(trainer.world_size))
        self._apply_determinism()

    # -- Lightning hooks -------------------------------------------------------------------
    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """In every process: strict switches, and seeded samplers/workers for each DataLoader Lightning prepares."""
        from . import active_run

        run = active_run()
        if run is not None and run.plan is self.seeds and os.getpid() == _run_pid(run):
            self.streams(int(trainer.world_size))
        self._apply_determinism()
        strategy = trainer.strategy
        if getattr(strategy.process_dataloader, "_seedexp", False):
            return
        original = strategy.process_dataloader

        def process_dataloader(dataloader: Any) -> Any:
            dataloader = original(dataloader)
            self._seed_loader(trainer, dataloader)
            return dataloader

        process_dataloader._seedexp = True  # type: ignore[attr-defined]
        process_dataloader._seedexp_original = original  # type: ignore[attr-defined]
        strategy.process_dataloader = process_dataloader

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        current = trainer.strategy.__dict__.get("process_dataloader")
        if current is not None and getattr(current, "_seedexp", False):
            del trainer.strategy.process_dataloader

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """torch's global generator (and CUDA's) from ``dropout`` / ``gpu``; per rank under DDP."""
        import torch

        rank, world = int(trainer.global_rank), int(trainer.world_size)
        many = world > 1
        torch.default_generator.manual_seed(self._seed("dropout", f"rank{rank}") if many else self._seed("dropout"))
        if many:
            random.seed(self._seed("python", f"rank{rank}"))
            np.random.seed(self._seed("numpy", f"rank{rank}"))
        if torch.cuda.is_available():
            torch.cuda.manual_seed(self._seed("gpu", f"rank{rank}") if many else self._seed("gpu"))
        watch = reseeds.of(_run_here())
        if watch is not None:
            watch.establish("dropout")
            if many:
                watch.establish("python")
                watch.establish("numpy")

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.record_step(trainer)

    def record_step(self, trainer: Any) -> None:
        """Rank 0: keep the epoch's metrics in :attr:`series` and log them to the run's series."""
        if trainer.global_rank != 0 or not self.log_series:
            return
        from ..core import as_number

        epoch = int(trainer.current_epoch)
        values = {}
        for name, value in trainer.callback_metrics.items():
            number = as_number(value)
            if number is not None:
                self.series.setdefault(str(name), []).append((epoch, number))
                values[str(name)] = number
        if values and _run_here() is not None:
            try:
                from ..series import log
            except ImportError:  # a seedexp without learning curves
                return
            log(epoch, **values)

    # -- DataLoaders ---------------------------------------------------------------------
    def _seed_loader(self, trainer: Any, loader: Any) -> None:
        """Order from ``shuffle/order``; each iterator's worker base seed from ``shuffle/workers/<r>/<stage>/<e>``."""
        import torch
        from torch.utils.data import DataLoader, DistributedSampler

        if not isinstance(loader, DataLoader):
            return
        order = self._seed("shuffle", "order")
        sampler = loader.sampler
        if isinstance(sampler, DistributedSampler):
            sampler.seed = order  # the same on every rank: each takes its slice of one permutation per epoch
        elif hasattr(sampler, "generator") and id(sampler) not in self._samplers:
            sampler.generator = torch.Generator()
            sampler.generator.manual_seed(order)
            self._samplers.add(id(sampler))  # a loader processed again keeps its sampler's position
        rank = int(trainer.global_rank)
        stage = getattr(getattr(trainer.state, "stage", None), "value", None) or "fit"
        get_iterator = loader._get_iterator

        def _get_iterator() -> Any:
            generator = torch.Generator()
            generator.manual_seed(self._seed("shuffle", "workers", rank, f"{stage}/{int(trainer.current_epoch)}"))
            loader.generator = generator
            return get_iterator()

        loader._get_iterator = _get_iterator


def _run_pid(run: "Run") -> int | None:
    watch = reseeds.of(run)
    return watch.pid if watch is not None else os.getpid()


def _run_here() -> "Run | None":
    from . import active_run

    run = active_run()
    return run if run is not None and _run_pid(run) == os.getpid() else None


# -- the adapter (begun when a run imports lightning) ----------------------------------------

def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Bind :class:`SeedStreams` to every Trainer built in the run; mark the model built at ``fit``."""
    trainer_cls = pl.Trainer
    init, fit = trainer_cls.__dict__["__init__"], trainer_cls.__dict__["fit"]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - wraps the method
        init(self, *args, **kwargs)
        if _run_here() is run:
            for callback in self.callbacks:
                if isinstance(callback, SeedStreams):
                    callback._bind(self)

    def fit_(self: Any, *args: Any, **kwargs: Any) -> Any:
        watch = reseeds.of(run)
        if watch is not None and _run_here() is run:
            watch.settle("init")  # the model exists: a reseed from here on voids training draws, not its weights
        return fit(self, *args, **kwargs)

    # seed_everything leaves its seed in the environment, where the next job of this process (and
    # DistributedSampler's default seed, and DataLoader worker seeding) would find it: each run starts without
    for var in ("PL_GLOBAL_SEED", "PL_SEED_WORKERS"):
        run.on_end(lambda var=var, value=os.environ.get(var): _restore_env(var, value))
        os.environ.pop(var, None)
    for name, new, old in (("__init__", __init__, init), ("fit", fit_, fit)):
        new.__wrapped__ = old  # type: ignore[attr-defined]
        new.__name__, new.__qualname__, new.__doc__ = old.__name__, old.__qualname__, old.__doc__
        setattr(trainer_cls, name, new)
        run.on_end(lambda name=name, old=old: setattr(trainer_cls, name, old))
    return {"lightning_version": pl.__version__}


def _restore_env(var: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(var, None)
    else:
        os.environ[var] = value


def end(run: "Run") -> dict[str, Any]:
    return {"lightning_version": pl.__version__}
