"""Seed plans: one master seed, one independent named child seed per stream.

Glossary
--------
stream
    A named source of randomness in an experiment: ``"split"`` (train/test
    split), ``"cv"`` (cross-validation folds), ``"init"`` (weight
    initialisation)... Each stream gets its own child seed, derived from the
    master seed and the stream's *name* only. Asking for streams in another
    order, asking for more streams, or running in another process or on another
    platform never changes a stream's seed. Streams nest: ``plan.child("cv")``
    is a plan whose streams (``0``, ``1``, ... or any name) are derived from the
    ``cv`` stream. The canonical names are listed in :data:`STREAMS`; any other
    name works too.

This module imports numpy and nothing else from outside the standard library.
"""

from __future__ import annotations

import hashlib
import numbers
from typing import Mapping

import numpy as np

from .errors import SeedError

__all__ = ["SeedPlan", "STREAMS", "MAX_SEED", "check_seed", "stream_key"]

#: Largest seed handed to a library: scikit-learn rejects anything above it.
MAX_SEED = 2**32 - 1

#: First word of every spawn key seedexp uses. Children that user code spawns
#: from the same master with ``SeedSequence.spawn`` have spawn keys (0,), (1,),
#: ...; this constant keeps seedexp's streams out of their way.
NAMESPACE = 0x5EED_E4B0

#: The canonical streams and what each one drives. Any other name also works.
STREAMS: Mapping[str, str] = {
    "split": "train / validation / test splitting of the data",
    "cv": "cross-validation folds (a shuffled KFold, StratifiedKFold, ...)",
    "resample": "class-imbalance resampling (over/under-sampling, SMOTE)",
    "init": "weight initialisation of a neural network",
    "dropout": "training-time randomness of a network (dropout, noise layers)",
    "shuffle": "order of the training data (DataLoader shuffling, fit(shuffle=True))",
    "gpu": "randomness drawn on a GPU (CUDA generators)",
    "model": "random_state of scikit-learn estimators (forests, boosting, ...)",
    "python": "Python's global `random` module, reseeded at the start of every run",
    "numpy": "NumPy's legacy global state (np.random.*), reseeded at every run",
}


def stream_key(name: str | int) -> int:
    """Return the spawn-key word of a stream name (or of a fold/repeat index).

    Parameters
    ----------
    name : {str, int}
        A stream name, hashed with the first 4 bytes (little-endian) of the
        SHA-256 of its UTF-8 encoding, or a non-negative index used as is.

    Returns
    -------
    int
        A word in [0, 2**32 - 1], the same in every process and on every platform.

    Examples
    --------
    >>> stream_key("split")
    90446509
    >>> stream_key(3)
    3
    """
    if isinstance(name, bool):
        raise SeedError(f"stream name {name!r} is a bool; use a str or a non-negative int")
    if isinstance(name, numbers.Integral):
        if not 0 <= int(name) <= MAX_SEED:
            raise SeedError(f"stream index {name!r} must lie in [0, {MAX_SEED}]")
        return int(name)
    if not isinstance(name, str) or not name:
        raise SeedError(f"stream name {name!r} must be a non-empty str or a non-negative int")
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


def check_seed(value: object, what: str = "seed", *, upper: int | None = None) -> int:
    """Validate a seed and return it as a Python ``int``.

    The one place that decides what a seed may be; every seed error of seedexp
    comes from here.

    Parameters
    ----------
    value : int
        Any int >= 0 (NumPy integers too). Bools, floats, strings, None and
        containers are rejected, even ``3.0`` or ``"3"``: a seed that silently
        changes type is a seed nobody can trust.
    what : str
        The name of the parameter, used in the error message (``"seed"``,
        ``"pin.init"``).
    upper : int, optional
        Largest accepted value (inclusive); no limit by default.

    Raises
    ------
    SeedError
        (a ``ValueError``) naming the parameter, the value and what is accepted.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok and int(value) >= 0 and (upper is None or int(value) <= upper):
        return int(value)
    accepted = f"an integer in [0, {upper}]" if upper is not None else "an integer >= 0"
    shown = repr(value) if not isinstance(value, str) else repr(value)
    raise SeedError(
        f"{what}={shown} cannot be used as a seed: expected {accepted}"
        f" (got {type(value).__name__}); e.g. {what}=12321"
    )


class SeedPlan:
    """A master seed and the named child seeds derived from it.

    Parameters
    ----------
    master : {None, int}
        The master seed, any int >= 0. ``None`` draws 128 bits of fresh OS
        entropy and keeps it in :attr:`master` (and in every run record), so the
        run can be reproduced afterwards by passing that number back.
    pins : mapping of str to int, optional
        ``{stream: seed}`` overrides: a pinned stream's seed is the given int
        (in [0, 2**32 - 1]) and everything derived from it (its children,
        its generator) depends on the pin alone. No other stream changes.

    Notes
    -----
    A stream's :class:`numpy.random.SeedSequence` is
    ``SeedSequence(entropy=master, spawn_key=(NAMESPACE, *path))`` where
    ``path`` holds :func:`stream_key` of each name from the root down. Never
    derived from call order or from Python's salted ``hash()``. Log
    :attr:`master`: it is all you need to reproduce every stream.

    Examples
    --------
    >>> plan = SeedPlan(12321)
    >>> plan.seed("split") == SeedPlan(12321).seed("split")
    True
    >>> SeedPlan(12321, pins={"init": 7}).seed("init")
    7
    >>> fold_seeds = plan.seeds("cv", 5)
    >>> len(set(fold_seeds))
    5
    >>> rng = plan.generator("resample")
    >>> sorted(plan.used())
    ['cv/0', 'cv/1', 'cv/2', 'cv/3', 'cv/4', 'resample', 'split']
    """

    __slots__ = ("_entropy", "_key", "_path", "_pins", "_used", "master", "drawn")

    def __init__(self, master: int | None, pins: Mapping[str, int] | None = None) -> None:
        self.drawn = master is None
        if master is None:
            master = int(np.random.SeedSequence().entropy)
        self.master: int = check_seed(master, "seed")
        self._pins = {
            str(name): check_seed(value, f"pin.{name}", upper=MAX_SEED)
            for name, value in dict(pins or {}).items()
        }
        self._entropy = self.master
        self._key: tuple[int, ...] = (NAMESPACE,)
        self._path: tuple[str, ...] = ()
        self._used: dict[str, int] = {}

    # -- internals -------------------------------------------------------
    def _name(self, name: str | int) -> str:
        return "/".join((*self._path, str(name)))

    def _sequence(self, name: str | int) -> np.random.SeedSequence:
        key = (*self._key, stream_key(name))
        pinned = self._pins.get(name) if isinstance(name, str) else None
        entropy = self._entropy if pinned is None else pinned
        return np.random.SeedSequence(entropy=entropy, spawn_key=key)

    # -- public ----------------------------------------------------------
    @property
    def pins(self) -> dict[str, int]:
        """The pinned streams of this plan, ``{name: seed}``."""
        return dict(self._pins)

    def seed(self, name: str | int) -> int:
        """Return the seed of stream ``name``: a Python int in [0, 2**32 - 1].

        The value to hand to libraries (``random_state=``, ``torch.manual_seed``,
        ``keras.utils.set_random_seed``). A pinned stream returns its pin.
        """
        pinned = self._pins.get(name) if isinstance(name, str) else None
        value = pinned if pinned is not None else int(self._sequence(name).generate_state(1, np.uint32)[0])
        self._used[self._name(name)] = value
        return value

    def seeds(self, name: str, n: int) -> list[int]:
        """Return ``n`` seeds for the folds/repeats of stream ``name``.

        ``plan.seeds("cv", 5)[k] == plan.child("cv").seed(k)``: asking for more
        folds never changes the seeds of the first ones.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise SeedError(f"n={n!r} must be an integer >= 0 (the number of seeds of stream {name!r})")
        child = self.child(name)
        return [child.seed(i) for i in range(int(n))]

    def generator(self, name: str | int) -> np.random.Generator:
        """Return a NumPy ``Generator`` for stream ``name``.

        Built on the stream's full ``SeedSequence`` (128-bit state) with the
        ``PCG64`` bit generator named explicitly, so the stream stays fixed even
        if NumPy changes ``default_rng``'s choice.
        """
        self.seed(name)  # record the stream as used (its 32-bit seed)
        return np.random.Generator(np.random.PCG64(self._sequence(name)))

    def child(self, name: str | int) -> "SeedPlan":
        """Return the plan of the streams nested under stream ``name``.

        For fold ``k`` of ``cv`` use ``plan.child("cv").seed(k)``; for the
        ``random_state`` of pipeline step ``rf`` use ``plan.child("model").seed("rf")``.
        Seeds handed out by the child are recorded in this plan's :meth:`used`
        as ``"name/sub"``.
        """
        seq = self._sequence(name)
        sub = object.__new__(SeedPlan)
        sub.master, sub.drawn = self.master, self.drawn
        sub._entropy, sub._key = seq.entropy, tuple(seq.spawn_key)
        sub._path = (*self._path, str(name))
        sub._pins, sub._used = {}, self._used
        return sub

    def log(self, step: int | None = None, **values: float) -> None:
        """Record per-step values of the run in progress: ``seeds.log(epoch, loss=loss)``.

        The same as :func:`seedexp.log` (see :mod:`seedexp.series`): values are kept in
        memory and written beside ``result.json`` when the run ends.
        """
        from .series import log

        log(step, **values)

    def used(self) -> dict[str, int]:
        """Return every stream handed out so far, ``{"split": seed, "cv/0": seed, ...}``."""
        return dict(self._used)

    def __repr__(self) -> str:
        path = "/".join(self._path)
        where = f", path={path!r}" if path else ""
        pins = f", pins={self._pins}" if self._pins else ""
        return f"SeedPlan(master={self.master}{pins}{where})"
