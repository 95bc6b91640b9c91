"""JAX and Flax: keys and Flax NNX ``Rngs`` by stream name.

JAX has no global random state to reseed: every draw takes a key, and the key
says where it comes from. seedexp hands out keys by stream *name*, from the
same seeds as every other framework (see the "stream" entry of
:mod:`seedexp.seeds`):

* :func:`key` ``(seeds, "shuffle")`` is ``jax.random.key(seeds.seed("shuffle"))``:
  the stream's seed, as recorded in the run record, is the key's seed, so
  ``jax.random.key(record["streams"]["shuffle"])`` rebuilds it;
* :func:`rngs` ``(seeds)`` is a Flax NNX ``Rngs`` whose ``params`` stream comes
  from ``init`` and whose ``dropout`` stream comes from ``dropout``
  (:data:`FLAX_STREAMS`): layers built with it (``nnx.Linear(..., rngs=rngs)``)
  draw their weights from ``init``, ``nnx.Dropout(..., rngs=rngs)`` its masks
  from ``dropout``. So ``pin.init`` moves the initial parameters and nothing
  else, ``pin.dropout`` the masks and nothing else. It is the same object as
  ``nnx.Rngs(params=seeds.seed("init"), dropout=seeds.seed("dropout"))``
  written by hand;
* ``rngs(seeds, "member3")`` draws from ``init/member3`` and
  ``dropout/member3``: each member of an ensemble is distinct and the pins
  still fix all of them; ``rngs(seeds, noise="augment")`` adds a Flax stream
  ``noise`` fed by the seedexp stream ``augment``.

For Flax Linen, pass the keys: ``model.init({"params": key(seeds, "init")}, x)``
and ``model.apply(v, x, rngs={"dropout": key(seeds, "dropout")})``.

During a run the adapter records JAX's random-number settings (version,
``jax_default_prng_impl``, ``jax_threefry_partitionable``: both change the bits
a key gives) and the backend, and ``determinism.strict`` adds
``--xla_gpu_deterministic_ops=true`` to ``XLA_FLAGS`` before JAX starts its
backend (XLA reads it once; the run warns when JAX had started already).
Importing this module does not import JAX; the helpers do.

Example
-------
>>> from seedexp import SeedPlan
>>> from seedexp.frameworks import jax as sj
>>> seeds = SeedPlan(0)
>>> import jax
>>> bool(jax.random.key_data(sj.key(seeds, "init")).tolist() == [0, seeds.seed("init")])
True
>>> from flax import nnx
>>> rngs = sj.rngs(seeds)                        # params <- init, dropout <- dropout
>>> layer = nnx.Linear(2, 3, rngs=rngs)          # weights: `init`
>>> drop = nnx.Dropout(0.5, rngs=rngs)           # masks: `dropout`
>>> sorted(name for name in seeds.used())
['dropout', 'init']
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import ConfigError
from ..seeds import SeedPlan

if TYPE_CHECKING:
    from . import Run

#: Flax stream -> the seedexp stream :func:`rngs` feeds it from.
FLAX_STREAMS: Mapping[str, str] = {"params": "init", "dropout": "dropout"}

#: The XLA flag ``determinism.strict`` sets, and the variable XLA reads it from.
XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"
XLA_VAR = "XLA_FLAGS"


def _seed(seeds: SeedPlan, stream: str, name: str | int | None) -> int:
    return seeds.seed(stream) if name is None else seeds.child(stream).seed(name)


def key(seeds: SeedPlan, stream: str, name: str | int | None = None, *, impl: str | None = None) -> Any:
    """A JAX key from stream ``stream`` (or its child ``name``).

    Parameters
    ----------
    seeds : SeedPlan
        The run's plan; see the "stream" entry of :mod:`seedexp.seeds`.
    stream : str
        The stream: ``"init"``, ``"dropout"``, ``"shuffle"``, ``"split"``... or any name.
    name : {None, str, int}, optional
        A child of the stream (``key(seeds, "init", "member3")`` is ``init/member3``).
    impl : str, optional
        JAX's PRNG implementation (``"threefry2x32"``, ``"rbg"``); JAX's default otherwise.

    Returns
    -------
    jax.Array
        ``jax.random.key(seed)``, a typed key; ``jax.random.key_data`` gives its raw
        ``uint32`` words for code that wants the older ``PRNGKey`` form.

    Examples
    --------
    >>> import jax
    >>> from seedexp import SeedPlan
    >>> seeds = SeedPlan(3)
    >>> order = jax.random.permutation(key(seeds, "shuffle"), 5)
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4]
    >>> bool((jax.random.permutation(key(SeedPlan(3), "shuffle"), 5) == order).all())
    True
    """
    import jax

    seed = _seed(seeds, stream, name)
    return jax.random.key(seed) if impl is None else jax.random.key(seed, impl=impl)


def rngs(seeds: SeedPlan, name: str | int | None = None, **streams: str) -> Any:
    """A Flax NNX ``Rngs`` whose named streams come from seedexp's streams.

    Parameters
    ----------
    seeds : SeedPlan
        The run's plan; see the "stream" entry of :mod:`seedexp.seeds`.
    name : {None, str, int}, optional
        A model of several (``"member3"``): every Flax stream draws from the child
        ``<stream>/member3`` of its seedexp stream.
    **streams : str
        More Flax streams, ``flax_name="seedexp_stream"`` (``noise="augment"``), or
        another source for ``params`` / ``dropout``. The defaults are
        :data:`FLAX_STREAMS`.

    Returns
    -------
    flax.nnx.Rngs
        ``nnx.Rngs(params=<init seed>, dropout=<dropout seed>, ...)``. A layer that
        asks for a stream it does not hold fails with Flax's own message
        (``No RngStream named 'noise'``): add it here.

    Examples
    --------
    >>> from flax import nnx
    >>> from seedexp import SeedPlan
    >>> seeds = SeedPlan(3)
    >>> by_hand = nnx.Rngs(params=seeds.seed("init"), dropout=seeds.seed("dropout"))
    >>> same = rngs(seeds)
    >>> bool((nnx.Linear(2, 2, rngs=same).kernel[...] == nnx.Linear(2, 2, rngs=by_hand).kernel[...]).all())
    True
    """
    from flax import nnx

    mapping = {**FLAX_STREAMS, **streams}
    for flax_name, stream in mapping.items():
        if not isinstance(stream, str) or not stream:
            raise ConfigError(f"rngs({flax_name}={stream!r}): name the seedexp stream that feeds Flax stream "
                              f"{flax_name!r}, e.g. rngs(seeds, {flax_name}='augment')")
    return nnx.Rngs(**{flax_name: _seed(seeds, stream, name) for flax_name, stream in mapping.items()})


# -- the run adapter ------------------------------------------------------------------------

def _jax():
    import jax

    return jax


def _backend_started() -> bool:
    """Has JAX started its backend (XLA reads ``XLA_FLAGS`` then, once)?"""
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - a JAX without that module: assume it started
        return True
    check = getattr(xla_bridge, "backends_are_initialized", None)
    return bool(check()) if callable(check) else True


def settings() -> dict[str, Any]:
    """JAX's version and the settings that change the bits a key gives."""
    jax = _jax()
    config = jax.config
    out: dict[str, Any] = {"jax_version": jax.__version__}
    for option in ("jax_default_prng_impl", "jax_threefry_partitionable", "jax_enable_x64"):
        value = getattr(config, option, None)
        if value is not None:
            out[option] = value if isinstance(value, (bool, int, float)) else str(value)
    out[XLA_VAR] = os.environ.get(XLA_VAR)
    return out


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Record JAX's settings; under ``strict``, set XLA's deterministic-ops flag if JAX has not started."""
    if run.strict and XLA_DETERMINISTIC.split("=")[0] not in os.environ.get(XLA_VAR, ""):
        if _backend_started():
            run.warnings.append(f"determinism.strict: JAX had started its backend before the run, so XLA will not "
                                f"read {XLA_DETERMINISTIC}; export {XLA_VAR}='{XLA_DETERMINISTIC}' in the job's "
                                "environment (it matters on GPUs)")
        else:
            old = os.environ.get(XLA_VAR)
            os.environ[XLA_VAR] = f"{old} {XLA_DETERMINISTIC}".strip() if old else XLA_DETERMINISTIC

            def undo() -> None:  # the backend keeps what it read; the variable goes back
                if old is None:
                    os.environ.pop(XLA_VAR, None)
                else:
                    os.environ[XLA_VAR] = old

            run.on_end(undo)
    return settings()


def end(run: "Run") -> dict[str, Any]:
    """JAX's settings and, if the run started it, its backend and devices."""
    facts = settings()
    if _backend_started():
        jax = _jax()
        facts["jax_backend"] = jax.default_backend()
        facts["jax_devices"] = sorted({d.platform for d in jax.devices()})
    return facts
