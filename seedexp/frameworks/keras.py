"""Keras 3: ``init`` / ``dropout`` streams for layers with or without ``seed=``, ``shuffle`` for ``fit``.

Keras draws every weight and dropout mask from an explicit seed; a layer or
initializer built without ``seed=`` asks Keras for a default seed, which Keras
takes from Python's ``random`` (``keras.random.SeedGenerator``, initializers).
During a run (or after :func:`seedexp.frameworks.seed_everything`) seedexp
answers those requests from the streams instead, in the order they are made:

* the k-th initializer built without ``seed=`` gets ``init/keras/<k>``;
* the k-th other unseeded seed (``Dropout``, ``GaussianNoise``, augmentation
  layers, ``keras.random.*`` without ``seed=``) gets ``dropout/keras/<k>``;

so a model written as the tutorials write it (``Dense(10)``, ``Dropout(0.2)``)
follows ``init`` and ``dropout``, and drawing from ``random`` elsewhere in the
experiment does not move its weights. Inside ``with init_scope(seeds,
"member3"):`` the paths become ``init/member3/keras/<k>`` (and
``dropout/member3/...``), and the helpers below name ``init/member3/<layer>``:
every member of an ensemble is distinct and ``pin.init`` still fixes all of them.

Data order: Keras shuffles ``fit``'s arrays with ``tf.random.shuffle``, which
follows TensorFlow's global seed; the run sets it from ``shuffle`` (see
:mod:`seedexp.frameworks.tensorflow`) and :func:`before_fit` sets it again right
before ``fit``, so the order does not depend on the random ops run before.

Other habits handled here: Keras wants Python ``int`` seeds (a NumPy int
raises), and an initializer instance seeded with an int returns the same values
on every call, so :func:`initializer` builds a fresh instance per layer.

Example
-------
>>> import keras
>>> from seedexp import SeedPlan
>>> from seedexp.frameworks import keras as sk
>>> seeds = SeedPlan(0)
>>> model = keras.Sequential([
...     keras.Input((1,)),
...     keras.layers.Dense(10, kernel_initializer=sk.initializer(seeds, "hidden")),
...     keras.layers.Dropout(0.1, seed=sk.dropout_seed(seeds, "drop")),
...     keras.layers.Dense(1, kernel_initializer=sk.initializer(seeds, "out")),
... ])
>>> with sk.init_scope(seeds, "member2"):  # unseeded layers: init/member2/keras/0, ...
...     member = keras.Sequential([keras.Input((1,)), keras.layers.Dense(10), keras.layers.Dense(1)])
>>> sk.before_fit(seeds)  # then model.fit(..., shuffle=True)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ..seeds import SeedPlan
from . import reseeds

if TYPE_CHECKING:
    from . import Run

#: Where Keras keeps the ``random`` module its default seeds come from.
_SEED_MODULE = "keras.src.random.seed_generator"
_INITIALIZERS = f"{os.sep}initializers{os.sep}"


@dataclass
class _Scope:
    seeds: SeedPlan
    name: str | int
    counts: dict[str, int] = field(default_factory=dict)


#: ``init_scope`` blocks now open, innermost last.
_SCOPES: list[_Scope] = []


class _UnseededRouter:
    """Stands in for ``random`` inside Keras' seed module: default seeds come from the streams.

    Keras asks ``random.randint(1, 10**9)`` for the seed of an initializer or a
    ``SeedGenerator`` built without ``seed=``. The caller tells which: an
    initializer -> ``init``, anything else -> ``dropout``. Outside a run and outside
    ``init_scope`` it answers as ``random`` would.
    """

    def __init__(self, original: Any, plan: SeedPlan | None, counts: dict[str, int]) -> None:
        self._original = original
        self._plan = plan
        self.counts = counts  # stream -> how many unseeded draws (outside any scope)
        self.total = {"init": 0, "dropout": 0}

    def randint(self, a: int, b: int) -> int:
        caller = sys._getframe(2).f_code.co_filename  # randint <- make_default_seed <- caller
        stream = "init" if _INITIALIZERS in caller else "dropout"
        if _SCOPES:
            scope = _SCOPES[-1]
            plan, counts = scope.seeds.child(stream).child(scope.name), scope.counts
        elif self._plan is not None:
            plan, counts = self._plan.child(stream), self.counts
        else:
            return self._original.randint(a, b)
        k = counts.get(stream, 0)
        counts[stream] = k + 1
        self.total[stream] += 1
        return a + plan.child("keras").seed(k) % (b - a + 1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def _install_router(plan: SeedPlan | None) -> tuple[_UnseededRouter, Any]:
    """Route Keras' default seeds; return the router and the undo (raises if Keras has moved it)."""
    module = sys.modules.get(_SEED_MODULE)
    current = getattr(module, "python_random", None)
    if current is None or not hasattr(current, "randint"):
        raise LookupError(f"{_SEED_MODULE}.python_random not found in Keras {_keras_version()}")
    original = current._original if isinstance(current, _UnseededRouter) else current
    router = _UnseededRouter(original, plan, {})
    module.python_random = router

    def undo() -> None:
        module.python_random = current

    return router, undo


def _keras_version() -> str:
    return getattr(sys.modules.get("keras"), "__version__", "?")


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Clear the previous job's Keras state; route unseeded layers to ``init`` / ``dropout``."""
    import keras

    if not fresh:
        keras.backend.clear_session()  # models, name counters, global SeedGenerator, set_random_seed's seed
    try:
        router, undo = _install_router(run.plan)
    except LookupError as exc:
        run.warnings.append(f"Keras layers built without seed= draw their seeds from Python's `random`: their "
                            f"weights follow the `python` stream, not `init` ({exc}); give them seeds with "
                            "seedexp.frameworks.keras.initializer / dropout_seed")
    else:
        run.on_end(undo)
        run.state["keras_router"] = router
    return {"keras_version": keras.__version__, "keras_backend": keras.backend.backend()}


def end(run: "Run") -> dict[str, Any]:
    """Report unseeded draws and a ``keras.utils.set_random_seed`` call made by the experiment."""
    import keras

    facts: dict[str, Any] = {"keras_version": keras.__version__, "keras_backend": keras.backend.backend()}
    router = run.state.get("keras_router")
    if router is not None:
        facts["keras_unseeded_draws"] = dict(router.total)
    fixed = _fixed_seed(keras)
    watch = reseeds.of(run)
    seen = watch is not None and any(e["call"] == "keras.utils.set_random_seed" for e in watch.reseeds)
    if fixed is not None and not seen:  # a call the watch could not see (e.g. `from keras.utils import ...`)
        run.warnings.append(f"the experiment called keras.utils.set_random_seed({fixed}): it reseeded `random`, "
                            "`np.random` and TensorFlow's global seed from that number, in place of the `python`, "
                            "`numpy` and `shuffle` streams (layers without seed= still follow `init` / `dropout`)")
    return facts


def _fixed_seed(keras: Any) -> Any:
    """The seed ``keras.utils.set_random_seed`` fixed in this session, or None.

    Keras 3.15 keeps it in ``keras.src.utils.rng_utils`` (``keras.utils`` no longer
    exports the getter); ``keras.backend.clear_session()`` at each run's start resets it.
    """
    getter = getattr(keras.utils, "get_random_seed", None)
    if getter is None:
        try:
            from keras.src.utils.rng_utils import get_random_seed as getter
        except ImportError:
            return None
    return getter()


@contextlib.contextmanager
def init_scope(seeds: SeedPlan, name: str | int) -> Iterator[None]:
    """Build one model of several (an ensemble member, a fold) inside this block.

    Parameters
    ----------
    seeds : SeedPlan
        The run's plan; see the "stream" entry of :mod:`seedexp.seeds`.
    name : {str, int}
        The model's name: layers built without ``seed=`` get ``init/<name>/keras/<k>``
        and ``dropout/<name>/keras/<k>``; :func:`initializer` and
        :func:`dropout_seed` called in the block give ``init/<name>/<layer>`` and
        ``dropout/<name>/<layer>``. Pins reach them: ``pin.init`` fixes every
        member's weights, each member still distinct. The same name gives the same
        model.
    """
    if isinstance(name, bool) or not isinstance(name, (str, int)) or name == "":
        raise TypeError(f"init_scope name={name!r}: give each model a str (or int) name, e.g. 'member1'")
    undo = None
    if not isinstance(getattr(sys.modules.get(_SEED_MODULE), "python_random", None), _UnseededRouter):
        import keras  # noqa: F401 - the seed module must exist

        _, undo = _install_router(None)  # no run: route the scope's draws only
    _SCOPES.append(_Scope(seeds, name))
    try:
        yield
    finally:
        _SCOPES.pop()
        if undo is not None:
            undo()


def _scoped(seeds: SeedPlan, stream: str) -> SeedPlan:
    plan = seeds.child(stream)
    return plan.child(_SCOPES[-1].name) if _SCOPES else plan


def initializer(seeds: SeedPlan, name: str, kind: str = "glorot_uniform", **kwargs: Any) -> Any:
    """A fresh Keras initializer for layer ``name``, seeded from ``init/<name>``.

    Inside ``init_scope(seeds, scope)`` the seed comes from ``init/<scope>/<name>``.
    """
    import keras

    seed = int(_scoped(seeds, "init").seed(name))
    # built from its config: ``initializers.get(kind)`` would first build an unseeded one
    return keras.initializers.deserialize({"class_name": kind, "config": {**kwargs, "seed": seed}})


def dropout_seed(seeds: SeedPlan, name: str) -> int:
    """The ``seed=`` of dropout (or noise) layer ``name``, from ``dropout/<name>`` (``dropout/<scope>/<name>``)."""
    return int(_scoped(seeds, "dropout").seed(name))


def before_fit(seeds: SeedPlan, stream: str = "shuffle") -> None:
    """Seed the data order of the next ``fit(shuffle=True)`` from the ``shuffle`` stream."""
    import tensorflow as tf

    tf.random.set_seed(int(seeds.seed(stream)))


def weights_hash(model: Any) -> str:
    """SHA-256 of a model's weights (position, dtype, shape, bytes).

    Not the weights' names: Keras numbers layers with a process-wide counter
    (``dense_3``), so the same model built twice in one process has other names.
    """
    digest = hashlib.sha256()
    for index, weight in enumerate(model.weights):
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{index}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def log_callback(every: str = "epoch", prefix: str = "") -> Any:
    """A Keras callback recording ``fit``'s logs as series: ``model.fit(..., callbacks=[log_callback()])``.

    Every value Keras reports (``loss``, ``val_loss``, ``accuracy``, ...) is
    passed to :func:`seedexp.log` at the end of each epoch (step = the epoch
    number, from 0), or of each training batch with ``every="batch"`` (step =
    the batch number, counted across epochs). ``prefix`` is put before each name.
    Outside a seedexp run the callback raises :class:`~seedexp.errors.ConfigError`.
    """
    import keras

    from ..errors import ConfigError
    from ..series import current

    if every not in ("epoch", "batch"):
        raise ConfigError(f"log_callback(every={every!r}): expected 'epoch' or 'batch'")

    class SeedexpLog(keras.callbacks.Callback):
        """Record Keras's logs with seedexp.log (see seedexp.frameworks.keras.log_callback)."""

        def __init__(self) -> None:
            super().__init__()
            self.batches = 0

        def _log(self, step: int, logs: Any) -> None:
            if logs:
                current().log(step, **{prefix + str(k): v for k, v in logs.items()})

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if every == "epoch":
                self._log(epoch, logs)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if every == "batch":
                self._log(self.batches, logs)
            self.batches += 1

    return SeedexpLog()
