"""Reseeding noticed: user code that reseeds a global generator, or turns determinism off, during a run.

seedexp seeds every global generator from the run's streams; a call in the
experiment such as ``L.seed_everything(cfg.seed)`` or ``torch.manual_seed(0)``
replaces those streams with its own seed, and pins on them stop acting. During
a run the calls below are observed (module attributes wrapped until the run
ends; what each call does is unchanged):

====================================  ===========================================
call                                  streams it replaces
====================================  ===========================================
``random.seed``                       ``python``
``np.random.seed``                    ``numpy``
``torch.manual_seed``                 ``init``, ``dropout`` (and ``gpu`` with CUDA)
``torch.cuda.manual_seed(_all)``      ``gpu``
``tf.random.set_seed``                ``shuffle`` (TensorFlow's global seed)
``keras.utils.set_random_seed``       what it calls: ``python``, ``numpy``, ``shuffle``
                                      (and ``init``/``dropout`` on the torch backend)
``L.seed_everything`` (Lightning),    what they call: ``python``, ``numpy``,
HF ``transformers.set_seed``          ``init``, ``dropout`` (``gpu``, ``shuffle``)
====================================  ===========================================

A call made inside another (``seed_everything`` calls ``random.seed``...) is
one reseed, named after the outer call. Each reseed is recorded (call, seed,
call site); a stream it replaced is *void* from then on unless seedexp seeds
it again (``init_scope``, the Lightning callback), and a pin of a void stream
changed nothing. Passing a seed of the plan (``L.seed_everything(seeds.seed("lightning"))``)
keeps the run a function of the master seed: recorded, not warned about unless
it voided a pin. ``determinism.reseed=error`` makes any other reseed an error
at the call. ``torch.use_deterministic_algorithms`` is observed the same way,
so that a run asked to be strict can name what turned it off (e.g. a Lightning
``Trainer(deterministic=False)``).

Nothing is wrapped in a process that runs no seedexp run, and a run that
reseeds nothing pays for a few attribute swaps at its start and end.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import sysconfig
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from . import Run

__all__ = ["TARGETS", "MODES", "Watch", "note_in_record", "reseed_message"]

#: Top-level module -> (attribute path, the call as users write it, streams it replaces).
TARGETS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "random": (("seed", "random.seed", ("python",)),),
    "numpy": (("random.seed", "np.random.seed", ("numpy",)),),
    "torch": (("manual_seed", "torch.manual_seed", ("init", "dropout")),
              ("random.manual_seed", "torch.manual_seed", ("init", "dropout")),
              ("cuda.manual_seed", "torch.cuda.manual_seed", ("gpu",)),
              ("cuda.manual_seed_all", "torch.cuda.manual_seed_all", ("gpu",))),
    "tensorflow": (("random.set_seed", "tf.random.set_seed", ("shuffle",)),),
    "keras": (("utils.set_random_seed", "keras.utils.set_random_seed", ()),),
    "lightning": (("seed_everything", "L.seed_everything", ()),
                  ("pytorch.seed_everything", "L.seed_everything", ()),
                  ("fabric.seed_everything", "L.seed_everything", ()),
                  ("fabric.utilities.seed.seed_everything", "L.seed_everything", ())),
    "lightning_fabric": (("seed_everything", "lightning_fabric.seed_everything", ()),
                         ("utilities.seed.seed_everything", "lightning_fabric.seed_everything", ())),
    "pytorch_lightning": (("seed_everything", "pl.seed_everything", ()),),
    "transformers": (("set_seed", "transformers.set_seed", ()),
                     ("trainer_utils.set_seed", "transformers.set_seed", ())),
}

#: Switch calls observed for the determinism record: module -> (attribute path, switch name).
SWITCHES: dict[str, tuple[tuple[str, str], ...]] = {
    "torch": (("use_deterministic_algorithms", "torch_deterministic_algorithms"),),
}

#: ``determinism.reseed``: warn (record and warn) or error (raise at the call).
MODES = ("warn", "error")

#: Files of seedexp's own seeding code: their calls are seedexp's, not the experiment's.
_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: Where installed libraries and the standard library live (a call site there is not the user's).
_LIBRARY_DIRS = tuple({os.path.abspath(p) + os.sep for p in (sysconfig.get_paths().get("purelib"),
                                                             sysconfig.get_paths().get("platlib"),
                                                             sysconfig.get_paths().get("stdlib")) if p})


def _is_library(filename: str) -> bool:
    """A frame of an installed library, the standard library or seedexp's adapters (not the user's line)."""
    if filename.startswith("<") or filename.startswith(_OWN):
        return True  # frozen importlib, <string> of a library's exec, seedexp's own wrappers
    path = os.path.abspath(filename)
    return "site-packages" in path or "dist-packages" in path or path.startswith(_LIBRARY_DIRS)


def _where(frame: Any) -> dict[str, Any]:
    code = frame.f_code
    return {"file": code.co_filename, "line": frame.f_lineno, "function": code.co_name}


def _short(site: dict[str, Any] | None) -> str:
    if not site:
        return "an unknown place"
    return f"{os.path.basename(site['file'])}:{site['line']} ({site['function']})"


def _seed_value(args: tuple, kwargs: dict) -> Any:
    value = args[0] if args else next((kwargs[k] for k in ("seed", "a") if k in kwargs), None)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."


class Watch:
    """The observer of one run: wraps the reseeding calls, records them, restores them at the end."""

    def __init__(self, run: "Run", mode: str = "warn") -> None:
        self.run = run
        self.mode = mode
        self.pid = os.getpid()
        self.reseeds: list[dict[str, Any]] = []
        self.switches: list[dict[str, Any]] = []
        self._events = 0
        self._established: dict[str, int] = {}  # stream -> event number seedexp last seeded it
        self._settled: dict[str, int] = {}  # stream -> event number after which its draws are done
        self._local = threading.local()
        self._patched: set[str] = set()

    # -- what seedexp itself does --------------------------------------------------
    def establish(self, stream: str) -> None:
        """seedexp (re)seeded ``stream``'s global generator: earlier reseeds no longer void it."""
        self._events += 1
        self._established[stream] = self._events

    def settle(self, stream: str) -> None:
        """``stream``'s draws are done (e.g. a model built in ``init_scope``): later reseeds do not void it."""
        self._events += 1
        self._settled.setdefault(stream, self._events)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Calls made in this block are not the run's reseeds (e.g. a worker's seeding, replayed in-process)."""
        local = self._local
        outer = getattr(local, "current", None)
        local.current = outer if outer is not None else {"streams": set()}
        try:
            yield
        finally:
            local.current = outer

    # -- wrapping ----------------------------------------------------------------------
    def patch(self, module: ModuleType) -> None:
        """Wrap the calls of top-level ``module`` listed in :data:`TARGETS` / :data:`SWITCHES`."""
        name = module.__name__
        if name in self._patched:
            return
        self._patched.add(name)
        for path, label, streams in TARGETS.get(name, ()):
            self._wrap(module, path, lambda original, label=label, streams=streams: self._reseed_wrapper(
                original, label, streams))
        for path, switch in SWITCHES.get(name, ()):
            self._wrap(module, path, lambda original, switch=switch: self._switch_wrapper(original, switch))

    def _wrap(self, module: ModuleType, path: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        *owners, attr = path.split(".")
        owner: Any = module
        for part in owners:
            owner = getattr(owner, part, None)
            if owner is None:
                return
        original = getattr(owner, attr, None)
        if original is None or not callable(original):
            return
        try:
            setattr(owner, attr, make(original))
        except (AttributeError, TypeError):  # a read-only attribute: not observable, nothing changed
            return
        self.run.on_end(lambda: setattr(owner, attr, original))

    def _ours(self, frame: Any) -> bool:
        return frame is None or frame.f_code.co_filename.startswith(_OWN)

    def _reseed_wrapper(self, original: Callable[..., Any], label: str, streams: tuple[str, ...]) -> Callable[..., Any]:
        watch = self

        @functools.wraps(original)
        def observed(*args: Any, **kwargs: Any) -> Any:
            local = watch._local
            current = getattr(local, "current", None)
            if current is not None:  # inside an observed call: its streams belong to the outer one
                current["streams"].update(streams)
                return original(*args, **kwargs)
            if os.getpid() != watch.pid or watch.run is not _active():
                return original(*args, **kwargs)  # a forked DataLoader worker, or after the run
            caller = sys._getframe(1)
            if watch._ours(caller):  # seedexp seeding: nor it nor what it calls is a reseed
                local.current = {"streams": set()}
                try:
                    return original(*args, **kwargs)
                finally:
                    local.current = None
            entry = watch._entry(label, streams, _seed_value(args, kwargs), caller)
            if watch.mode == "error" and entry["from_stream"] is None:
                from ..errors import ReseedError

                raise ReseedError(reseed_message(entry, error=True))
            local.current = entry
            try:
                result = original(*args, **kwargs)
            finally:
                local.current = None
            if isinstance(result, int) and not isinstance(result, bool) and entry["seed"] is None:
                entry["seed"] = result  # L.seed_everything(None) returns the seed it took
            watch._events += 1
            entry["event"] = watch._events
            watch.reseeds.append(entry)
            return result

        return observed

    def _entry(self, label: str, streams: tuple[str, ...], seed: Any, caller: Any) -> dict[str, Any]:
        via = None
        frame = caller
        if _is_library(caller.f_code.co_filename):  # a library's seeding helper called it: name that helper
            module = caller.f_globals.get("__name__", "?")
            via = f"{module}.{caller.f_code.co_name}"
        while frame is not None and _is_library(frame.f_code.co_filename):
            frame = frame.f_back
        site = _where(frame if frame is not None else caller)
        used = {value: name for name, value in self.run.plan.used().items()}
        from_stream = used.get(seed) if isinstance(seed, int) and not isinstance(seed, bool) else None
        return {"call": label, "via": via, "seed": seed, "site": site, "streams": set(streams),
                "from_stream": from_stream}

    def _switch_wrapper(self, original: Callable[..., Any], switch: str) -> Callable[..., Any]:
        watch = self

        @functools.wraps(original)
        def observed(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if os.getpid() == watch.pid and watch.run is _active():
                caller = sys._getframe(1)
                if not watch._ours(caller):
                    value = args[0] if args else kwargs.get("mode", kwargs.get("d"))
                    watch.switches.append(_culprit(switch, value, caller))
            return result

        return observed

    # -- the run's end -----------------------------------------------------------------
    def void(self) -> dict[str, dict[str, Any]]:
        """Stream -> the reseed that made it void (the last one seedexp did not undo)."""
        out: dict[str, dict[str, Any]] = {}
        for entry in self.reseeds:
            for stream in sorted(entry["streams"]):
                if entry["from_stream"] == stream:
                    continue
                settled = self._settled.get(stream)
                if settled is not None and settled < entry["event"]:
                    continue
                if self._established.get(stream, 0) < entry["event"]:
                    out[stream] = entry
        return out

#: The stream the fix suggests passing to each call.
_SUGGESTED = {"random.seed": "python", "np.random.seed": "numpy", "torch.manual_seed": "init",
              "tf.random.set_seed": "shuffle", "L.seed_everything": "lightning", "pl.seed_everything": "lightning",
              "lightning_fabric.seed_everything": "lightning", "keras.utils.set_random_seed": "keras",
              "transformers.set_seed": "transformers"}


def reseed_message(entry: dict[str, Any], error: bool = False, pins: list[str] | None = None) -> str:
    """The line that names a reseed, its call site and the fix."""
    call = entry["call"] + (f" (via {entry['via']})" if entry["via"] and entry["via"] not in entry["call"] else "")
    streams = ", ".join(sorted(entry["streams"])) or "a global generator"
    void_pins = f"; pin {', '.join('pin.' + p for p in pins)} changed nothing" if pins else ""
    fix = (f"pass a seed of the plan ({entry['call']}(seeds.seed({_SUGGESTED.get(entry['call'], 'trainer')!r}))) "
           "or remove the call" if entry["from_stream"] is None else "leave the pinned streams to seedexp")
    if error:
        return (f"{call} at {_short(entry['site'])} would reseed the global generators in place of seedexp's "
                f"streams ({streams}); {fix} (determinism.reseed=error)")
    return (f"{call} at {_short(entry['site'])} reseeded the global generators in place of seedexp's streams "
            f"({streams}){void_pins}; {fix} (determinism.reseed=error makes this an error)")


def _culprit(switch: str, value: Any, caller: Any) -> dict[str, Any]:
    """Who set ``switch``: the user's line, and a Lightning ``Trainer(...)`` in between when there is one."""
    by = None
    frame = caller
    while frame is not None and _is_library(frame.f_code.co_filename):
        owner = frame.f_locals.get("self") if frame.f_code.co_name == "__init__" else None
        if owner is not None and type(owner).__name__ == "Trainer":
            module = type(owner).__module__.split(".")[0]
            by = f"{module} Trainer(deterministic={value!r})"
        frame = frame.f_back
    site = _where(frame if frame is not None else caller)
    return {"switch": switch, "value": value if isinstance(value, (bool, str, type(None))) else repr(value),
            "site": site, "by": by or f"torch.use_deterministic_algorithms({value!r})"}


def _active() -> "Run | None":
    from . import active_run

    return active_run()


def install(run: "Run", mode: str) -> Watch | None:
    """Start observing for ``run`` (not for a :func:`~seedexp.seed_everything` outside a run)."""
    if run.persistent:
        return None
    watch = Watch(run, mode)
    run.state["watch"] = watch
    for name in TARGETS.keys() | SWITCHES.keys():
        module = sys.modules.get(name)
        if module is not None:
            watch.patch(module)
    return watch


def of(run: "Run | None") -> Watch | None:
    """The watch of ``run`` (None outside a run)."""
    return None if run is None else run.state.get("watch")


def quiet(run: "Run | None") -> Any:
    """:meth:`Watch.quiet` of ``run``'s watch, or a block that does nothing."""
    watch = of(run)
    return watch.quiet() if watch is not None else contextlib.nullcontext()


def facts(run: "Run") -> dict[str, Any]:
    """What the run's end reports: reseeds, void streams, switch changes."""
    watch = of(run)
    if watch is None:
        return {}
    void = watch.void()
    return {"reseeds": [_jsonable(e) for e in watch.reseeds],
            "void": {stream: _jsonable(e) for stream, e in void.items()},
            "switch_changes": list(watch.switches)}


def _jsonable(entry: dict[str, Any]) -> dict[str, Any]:
    return {"call": entry["call"], "via": entry["via"], "seed": entry["seed"], "site": entry["site"],
            "streams": sorted(entry["streams"]), "from_stream": entry["from_stream"]}


# -- into the record -----------------------------------------------------------------------

#: Switch read back at the end -> the value a strict run needs.
STRICT_VALUES = {"torch_deterministic_algorithms": True, "cudnn_deterministic": True, "cudnn_benchmark": False,
                 "tf_op_determinism": True}


def note_in_record(record: dict[str, Any], finished: dict[str, Any], strict: bool) -> None:
    """Put what :func:`facts` found into the run record, with one warning per distinct reseed.

    ``record["streams"]`` keeps only streams in force: a void stream moves to
    ``void_streams`` (``{stream: seed}``) and its pin to ``void_pins`` (not
    ``unused_pins``); ``reseeds`` lists every reseed. A strict run whose switches
    were read back otherwise gets ``determinism.changed`` and a warning naming
    what turned them off, where that is known.
    """
    reseeds = finished.get("reseeds") or []
    if reseeds:
        record["reseeds"] = [dict(r, streams=list(r["streams"])) for r in reseeds]
        streams = record.get("streams") or {}
        in_play = {k.split("/")[0] for k in streams} | set(record.get("pins") or {})
        void = {k: v for k, v in (finished.get("void") or {}).items() if k in in_play}
        record["void_streams"] = {k: v for k, v in streams.items() if k.split("/")[0] in void}
        record["streams"] = {k: v for k, v in streams.items() if k.split("/")[0] not in void}
        pins = sorted(p for p in (record.get("pins") or {}) if p in void)
        record["void_pins"] = pins
        record["unused_pins"] = [p for p in record.get("unused_pins", []) if p not in void]
        seen: set[tuple[str, str]] = set()
        for entry in reseeds:
            hit = {s for s, e in void.items() if e["site"] == entry["site"] and e["call"] == entry["call"]}
            entry_pins = [p for p in pins if p in hit]
            key = (entry["call"], _short(entry["site"]))
            if not hit or (entry["from_stream"] is not None and not entry_pins) or key in seen:
                continue  # undone by seedexp since, or from the plan without voiding a pin, or said already
            seen.add(key)
            record.setdefault("warnings", []).append(reseed_message(dict(entry, streams=hit), pins=entry_pins))
    if not strict:
        return
    determinism = record.setdefault("determinism", {})
    off = [k for k, want in STRICT_VALUES.items() if k in determinism and determinism[k] is not want]
    if not off:
        return
    changes = [c for c in finished.get("switch_changes") or [] if c["switch"] in off]
    determinism["changed"] = changes
    names = ", ".join(f"{k}={str(determinism[k]).lower()}" for k in off)
    if changes:
        last = changes[-1]
        who = f"{last['by']} at {_short(last['site'])}"
        fix = "remove that setting (or set it from determinism.strict)"
    else:
        who = "code seedexp does not observe"
        fix = "find where the experiment sets them"
    record.setdefault("warnings", []).append(
        f"determinism.strict=true was asked, but at the end of the run {names}: turned off by {who}; {fix}")
