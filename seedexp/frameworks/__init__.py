"""Adapters that hand a :class:`~seedexp.SeedPlan`'s streams to each library.

One small module per library behind one interface: ``pyrandom`` (Python's
``random``), ``numpy`` (NumPy's legacy global state), ``torch``,
``tensorflow``, ``keras``, ``joblib`` (a seed per task of ``n_jobs > 1`` work)
and ``jax`` (JAX's settings; keys and Flax ``Rngs`` by stream name). Each adapter has

``begin(run, fresh) -> dict``
    seed the library's global random state from ``run``'s streams and apply
    ``run.strict`` / ``run.threads``; returns facts for the record. ``fresh``
    is True when the library was imported during the run (nothing to clear).
``end(run) -> dict``
    what was in force (facts for the record's ``determinism`` field); adds
    warnings to ``run.warnings``; undoes what ``begin`` patched and restores
    the process's own settings (thread counts, switches, environment).

:func:`seed_all` begins every adapter whose library is imported, and installs
an import hook that begins the others the moment their library is imported
during the run (``import torch`` inside the experiment function); a library
the run never imports is never imported. :func:`finish_run` ends them and
removes the hook. :func:`seed_everything` is the same reset for a user's own
script, with a hook that stays until the next call.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from ..seeds import SeedPlan
from . import reseeds
from ._hook import PostImportHook

__all__ = ["seed_all", "finish_run", "seed_everything"]

#: Top-level module -> adapter, in the order they begin: Keras before TensorFlow
#: (``keras.backend.clear_session()`` resets TF's graph; TF's global seed comes after).
#: ``joblib``: a seed per task of ``n_jobs > 1`` work; ``jax``: JAX has no global RNG,
#: the adapter records its random-number settings and applies ``strict``.
WATCHED: dict[str, str] = {"torch": "torch", "keras": "keras", "tensorflow": "tensorflow", "joblib": "joblib",
                           "jax": "jax", "lightning": "lightning"}
#: The adapters of the two globals every run reseeds.
ALWAYS = ("pyrandom", "numpy")


class Run:
    """The state of one run (or of one :func:`seed_everything` call) in this process.

    Adapters read the plan and switches from it, derive seeds with
    :meth:`derive` (not recorded) or :meth:`use` (recorded in the plan's
    streams), register undo functions with :meth:`on_end` and report with
    ``facts`` / ``warnings`` / ``global_draws``.
    """

    def __init__(self, plan: SeedPlan, strict: bool, threads: int | None, persistent: bool = False,
                 reseed: str = "warn") -> None:
        self.plan = plan
        self.reseed = reseed
        self.strict = bool(strict)
        self.threads = threads
        self.persistent = persistent
        self.facts: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.global_draws: list[str] = []
        self.begun: list[str] = []
        self.state: dict[str, Any] = {}  # per-adapter scratch space, keyed by adapter name
        self._undo: list[Callable[[], None]] = []
        self._shadow = _unrecorded(plan)
        self.hook = PostImportHook(set(WATCHED) | set(reseeds.TARGETS), self._imported)

    # -- seeds ---------------------------------------------------------------
    def derive(self, *path: str | int) -> int:
        """The seed of stream ``path`` ("init", "keras", 3 -> ``init/keras/3``), not recorded."""
        return _walk(self._shadow, path)

    def use(self, *path: str | int) -> int:
        """The seed of stream ``path``, recorded in the plan's streams (``record.streams``)."""
        return _walk(self.plan, path)

    # -- lifecycle -------------------------------------------------------------
    def on_end(self, undo: Callable[[], None]) -> None:
        """Call ``undo`` when the run ends (last registered, first called)."""
        self._undo.append(undo)

    def begin(self, name: str, fresh: bool) -> None:
        adapter = _adapter(name)
        self.facts.update(adapter.begin(self, fresh))
        self.begun.append(name)

    def end(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        try:
            for name in reversed(self.begun):
                try:
                    facts.update(_adapter(name).end(self))
                except Exception as exc:  # noqa: BLE001 - the run is over: report, never lose its record
                    self.warnings.append(f"could not read what {name} had in force: {type(exc).__name__}: {exc}")
        finally:
            self.close()
        return facts

    def close(self) -> None:
        """Remove the hook and undo every patch (also for a run that never reached :meth:`end`)."""
        self.hook.remove()
        while self._undo:
            self._undo.pop()()

    def _imported(self, module: ModuleType) -> None:
        """The import hook: a watched library was just imported while this run is active."""
        if _ACTIVE is not self:
            return
        watch = reseeds.of(self)
        if watch is not None:
            watch.patch(module)
        if module.__name__ not in WATCHED or module.__name__ in self.begun:
            return
        try:
            self.begin(module.__name__, fresh=True)
        except Exception as exc:  # noqa: BLE001 - an import must not fail half-way (torch cannot be re-imported)
            self.warnings.append(f"could not seed {module.__name__} when the experiment imported it: "
                                 f"{type(exc).__name__}: {exc}")


_ACTIVE: Run | None = None


def active_run() -> Run | None:
    """The run in progress in this process (or the last :func:`seed_everything`), if any."""
    return _ACTIVE


def _adapter(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def _walk(plan: SeedPlan, path: tuple[str | int, ...]) -> int:
    for name in path[:-1]:
        plan = plan.child(name)
    return plan.seed(path[-1])


def _unrecorded(plan: SeedPlan) -> SeedPlan:
    """A copy of ``plan`` that derives the same seeds and records them elsewhere."""
    twin = object.__new__(SeedPlan)
    for slot in ("_entropy", "_key", "_path", "_pins", "master", "drawn"):
        setattr(twin, slot, getattr(plan, slot))
    twin._used = {}
    return twin


def _check_switches(determinism: Mapping[str, Any]) -> tuple[bool, int | None, str]:
    strict = determinism.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"determinism.strict={strict!r} must be true or false")
    threads = determinism.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"determinism.threads={threads!r} must be null (the library default) or an int >= 1")
    reseed = determinism.get("reseed") or "warn"
    if reseed not in reseeds.MODES:
        raise ConfigError(f"determinism.reseed={reseed!r} must be warn (record and warn when the experiment "
                          "reseeds a global generator) or error (stop the run at that call)")
    return strict, threads, reseed


def _start(plan: SeedPlan, determinism: Mapping[str, Any] | None, persistent: bool) -> Run:
    global _ACTIVE
    strict, threads, reseed = _check_switches(dict(determinism or {}))
    if _ACTIVE is not None:  # the previous run never finished (crashed) or seed_everything: replace it
        previous, _ACTIVE = _ACTIVE, None
        previous.close()
    run = Run(plan, strict, threads, persistent, reseed)
    try:
        reseeds.install(run, reseed)
        for name in ALWAYS:
            run.begin(name, fresh=False)
        for module in WATCHED:
            if module in sys.modules:
                run.begin(module, fresh=False)
    except BaseException:
        run.close()
        raise
    run.hook.install()
    _ACTIVE = run
    return run


def seed_all(plan: SeedPlan, determinism: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reset every global random state of this process from ``plan``, at the start of a run.

    Called by the run core before the experiment is built, for EVERY run, so a
    job never depends on the jobs that ran before it in the same process
    (Hydra's basic launcher, reused joblib workers).

    Parameters
    ----------
    plan : SeedPlan
        The run's seed plan; see the "stream" entry of :mod:`seedexp.seeds`.
    determinism : mapping, optional
        ``{"strict": bool, "threads": int or None}``. ``strict`` turns on the
        deterministic algorithms of torch and TensorFlow; ``threads`` sets their
        intra-op thread counts, and ``None`` restores the process's own.

    Returns
    -------
    dict
        Facts for the record's ``determinism`` field (PYTHONHASHSEED, switches...).

    Raises
    ------
    ConfigError
        A setting the library can no longer change in this process (TensorFlow's
        thread counts once it has started), or an invalid switch.

    Notes
    -----
    ``random`` is seeded from the ``python`` stream and NumPy's legacy global
    state from ``numpy``; torch, TensorFlow and Keras are seeded now if they are
    imported, otherwise the moment the experiment imports them (an import hook),
    and never imported by seedexp; every task handed to ``joblib.Parallel`` (scikit-learn's
    ``n_jobs``) gets a seed of its own. docs/frameworks.md has, per framework, what each
    library call follows.
    """
    return dict(_start(plan, determinism, persistent=False).facts)


def finish_run(plan: SeedPlan) -> dict[str, Any]:
    """End the run started by :func:`seed_all` (or :func:`seed_everything`): report, then undo.

    Returns
    -------
    dict
        ``{"determinism": {...}, "warnings": [str, ...], "global_draws": [str, ...]}``:
        the switches, thread counts and devices in force for the libraries the run
        used (read before anything is restored); what seedexp has to warn about
        (e.g. the experiment called ``keras.utils.set_random_seed``); and which of
        the process-global streams (``python``, ``numpy``) the run actually drew
        from. It also records in ``plan``'s streams the torch data generators the
        run drew from (``split/torch``, ``shuffle/torch``). Thread counts,
        switches and environment variables go back to the process's own values and
        the import hook is removed.
    """
    global _ACTIVE
    run = _ACTIVE
    if run is None or run.plan is not plan:
        return {"determinism": {}, "warnings": [], "global_draws": []}
    _ACTIVE = None
    observed = reseeds.facts(run)  # before end(): its undo restores the wrapped calls
    facts = run.end()
    return {"determinism": facts, "warnings": list(run.warnings), "global_draws": sorted(set(run.global_draws)),
            **observed}


def seed_everything(seed: int | None | SeedPlan, *, pins: Mapping[str, int] | None = None, strict: bool = False,
                    threads: int | None = None) -> SeedPlan:
    """Seed ``random``, NumPy, torch and TensorFlow/Keras of this process from one master seed.

    For a script that does not go through ``seedexp run``: every library's
    global state is set from its stream, as at the start of a seedexp run. A
    library imported *after* this call is seeded when it is imported (the hook
    stays until the next ``seed_everything`` or run); none is imported here.

    Parameters
    ----------
    seed : {None, int, SeedPlan}
        The master seed (``None`` draws OS entropy: log ``plan.master``), or a plan.
    pins : mapping of str to int, optional
        Pinned streams, see :class:`~seedexp.SeedPlan` (not with a plan).
    strict : bool
        Deterministic algorithms in torch / TensorFlow.
    threads : {None, int}
        Intra-op threads of torch / TensorFlow (``None``: the process's own).

    Returns
    -------
    SeedPlan
        The plan: hand it to ``init_scope``, ``loader_kwargs``,
        ``inject_random_state``...; ``plan.used()`` lists the streams handed out.

    Examples
    --------
    >>> import random
    >>> from seedexp.frameworks import seed_everything
    >>> plan = seed_everything(12321)
    >>> first = random.random()
    >>> _ = seed_everything(12321)
    >>> random.random() == first
    True
    >>> plan.seed("python") == plan.seed("python")
    True
    >>> _ = finish_run(plan)  # optional: remove the hook, restore the process's own settings
    """
    if isinstance(seed, SeedPlan):
        if pins:
            raise ConfigError("seed_everything: pass pins= with an int seed, or build the SeedPlan with them")
        plan = seed
    else:
        plan = SeedPlan(seed, pins=pins)
    _start(plan, {"strict": strict, "threads": threads}, persistent=True)
    return plan
