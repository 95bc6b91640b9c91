"""joblib workers: every task gets its own seed, whichever worker runs it.

scikit-learn runs ``n_jobs > 1`` work (``GridSearchCV``, ``cross_val_score``,
``VotingClassifier``, ``MultiOutputClassifier``...) as joblib tasks. An estimator
left with ``random_state=None`` draws from NumPy's global ``RandomState`` of
the process that runs its task, and nobody seeds the global state of a worker
process: seeding the run's own process does not reach them, so such a search
gives another score every time.

During a run (and after :func:`seedexp.frameworks.seed_everything`) seedexp
wraps every task handed to ``joblib.Parallel`` (scikit-learn's
``sklearn.utils.parallel.Parallel`` passes its tasks, already wrapped with
scikit-learn's configuration, through it). Task ``i`` of the run's ``k``-th
parallel call gets the seed of stream ``numpy/joblib/<k>/<i>``: fixed by the
order the calls and tasks are made in, never by which worker runs it or when.
Where the task runs:

* alone in a worker process (``loky``, ``multiprocessing``): NumPy's global
  state and ``random`` are seeded from the task's seed before it starts, so
  every draw of the task, ``np.random.*`` included, is fixed;
* in the run's own process (``n_jobs=1``, ``backend="threading"``) or in a
  thread of a worker: the global states stay the process's, and scikit-learn's
  ``check_random_state(None)`` returns a ``RandomState`` of the task's own, with
  the values the global state has in a worker process. Direct ``np.random.*`` /
  ``random.*`` calls in such a task draw from the process's global state: in
  order with ``n_jobs=1`` (the run's ``numpy`` / ``python`` streams), in an
  order set by timing in threads, where the run warns, naming the task's
  function and estimators (the first :data:`WATCHED_THREAD_TASKS` tasks of each
  call are watched).

So an estimator without ``random_state`` fitted in a search draws the same
numbers with ``n_jobs=1``, ``loky`` and ``threading``: the scores are bitwise
equal whatever the backend. Nested calls inside a task derive their seeds from
the task's (``<task seed>/joblib/<call>/<task>``). ``pin.numpy`` moves every
task seed, as it moves the global state of the run's own process.

Out of reach: pools that are not joblib's (``multiprocessing.Pool``,
``concurrent.futures``, Ray tasks started by the experiment), and direct
``np.random`` draws in threads (warned). The record's ``determinism`` field
counts the calls and tasks seeded (``joblib_calls``, ``joblib_tasks``) and names
the estimators left with ``random_state=None`` that ran in tasks
(``joblib_random_state_none``); such a run counts ``numpy`` among its
``global_draws``.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import types
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from ..seeds import SeedPlan

if TYPE_CHECKING:
    from . import Run

#: The scikit-learn function that hands ``random_state=None`` its ``RandomState``.
_SKLEARN_VALIDATION = "sklearn.utils.validation"

_local = threading.local()
_lock = threading.Lock()
#: joblib's own ``Parallel.__call__``, before seedexp wrapped it.
_ORIGINAL_CALL: Callable[..., Any] | None = None
#: True in a worker process: the wrapper stays (it only acts inside a seeded task).
_PERMANENT = False
#: ``check_random_state``'s own code and a callable copy of it, once replaced.
_CRS: dict[str, Any] = {}


class _Context:
    """The task running in this thread: its seed, its nested calls, its random state."""

    __slots__ = ("seed", "calls", "owns_globals", "random_state", "report")

    def __init__(self, seed: int, owns_globals: bool, report: tuple[tuple, dict] | None = None) -> None:
        self.seed = seed
        self.calls = 0
        self.owns_globals = owns_globals
        self.random_state: np.random.RandomState | None = None
        self.report = report  # in the run's process: the task's arguments, to name what drew

    def own_random_state(self) -> np.random.RandomState:
        """The task's ``RandomState``, built on first use (about 0.1 ms): the values the global
        state has in a worker process. One per task, so an estimator that keeps it keeps its own."""
        if self.random_state is None:
            self.random_state = np.random.RandomState(_derived(self.seed, "numpy"))
            if self.report is not None:
                _note_drawn({"numpy"}, _random_state_none(*self.report))
        return self.random_state


def _stack() -> list[_Context]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _top() -> _Context | None:
    stack = _stack()
    return stack[-1] if stack else None


def _derived(seed: int, name: str) -> int:
    """Seed ``name`` (``numpy``, ``python``) of the task whose seed is ``seed``."""
    return SeedPlan(seed).seed(name)


# -- the run: begin / end -------------------------------------------------------------

def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Wrap ``joblib.Parallel.__call__`` until the run ends (see the module docstring)."""
    run.state["joblib"] = {"calls": 0, "tasks": 0, "none": set(), "drawn": set(), "threads": {},
                           "lock": threading.Lock()}
    if _install_call() and not _PERMANENT:
        run.on_end(_uninstall_call)
    outer = _stack()  # a run started inside a seeded task (a sweep's worker): its calls are the run's own
    _local.stack = []
    run.on_end(lambda: setattr(_local, "stack", outer))
    return {}


def end(run: "Run") -> dict[str, Any]:
    """Count the tasks seeded; warn about draws seedexp could not fix; note ``numpy`` as drawn."""
    state = run.state.get("joblib") or {}
    for message in state.get("threads", {}).values():
        run.warnings.append(message)
    for stream in sorted(state.get("drawn", ())):
        if stream not in run.global_draws:
            run.global_draws.append(stream)
    if not state.get("calls"):
        return {}
    return {"joblib_calls": state["calls"], "joblib_tasks": state["tasks"],
            "joblib_random_state_none": sorted(state["none"])}


def _install_call() -> bool:
    """Put the seeding ``__call__`` on ``joblib.Parallel``; False when it is there already."""
    global _ORIGINAL_CALL
    import joblib

    with _lock:
        if joblib.Parallel.__dict__.get("__call__") is _seeding_call:
            return False
        _ORIGINAL_CALL = joblib.Parallel.__dict__["__call__"]
        joblib.Parallel.__call__ = _seeding_call
        return True


def _uninstall_call() -> None:
    import joblib

    with _lock:
        if joblib.Parallel.__dict__.get("__call__") is _seeding_call and _ORIGINAL_CALL is not None:
            joblib.Parallel.__call__ = _ORIGINAL_CALL


def _seeding_call(self: Any, iterable: Iterable[Any]) -> Any:
    """``joblib.Parallel.__call__``, with each task wrapped in a :class:`SeededTask`."""
    from . import active_run

    original = _ORIGINAL_CALL
    assert original is not None
    ctx = _top()
    run = active_run()
    if ctx is not None:
        call = SeedPlan(ctx.seed).child("joblib").child(ctx.calls)
        ctx.calls += 1
        state = None
    elif run is not None and "joblib" in run.state:
        state = run.state["joblib"]
        with state["lock"]:
            k = state["calls"]
            state["calls"] += 1
        from . import _unrecorded

        call = _unrecorded(run.plan).child("numpy").child("joblib").child(k)
    else:
        return original(self, iterable)
    _ensure_check_random_state(run)
    origin = (os.getpid(), threading.get_ident())
    # tasks that may leave this process cannot report what they drew: name the unseeded estimators now
    scan = not getattr(getattr(self, "_backend", None), "uses_threads", False)
    kind = _SizedTasks if hasattr(iterable, "__len__") else _Tasks
    return original(self, kind(iterable, call, origin, state, scan))


class _Tasks:
    """The tasks of one parallel call, each wrapped with its seed (``call.seed(i)``), in order."""

    def __init__(self, iterable: Iterable[Any], call: SeedPlan, origin: tuple[int, int],
                 state: dict[str, Any] | None, scan: bool) -> None:
        self._iterable = iterable
        self._call = call
        self._origin = origin
        self._state = state
        self._scan = scan

    def __iter__(self) -> Iterator[Any]:
        for i, (func, args, kwargs) in enumerate(self._iterable):
            if self._state is not None:
                self._note(args, kwargs)
            yield SeededTask(func, self._call.seed(i), self._origin, watch=i < WATCHED_THREAD_TASKS), args, kwargs

    def _note(self, args: tuple, kwargs: dict) -> None:
        names = _random_state_none(args, kwargs) if self._scan else set()
        with self._state["lock"]:
            self._state["tasks"] += 1
            if names:
                self._state["none"].update(names)
                self._state["drawn"].add("numpy")


class _SizedTasks(_Tasks):
    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]


#: How many tasks of each parallel call are watched, when they run in threads of the run's process,
#: for direct draws from the shared global states (two reads of each state per watched task).
WATCHED_THREAD_TASKS = 8


class SeededTask:
    """One joblib task and its seed; runs the task under that seed (see the module docstring).

    Picklable (a module-level class holding the task's callable and a few ints), so it
    reaches worker processes of any joblib backend that can run the task itself.
    """

    def __init__(self, function: Callable[..., Any], seed: int, origin: tuple[int, int], watch: bool = False) -> None:
        self.function = function
        self.seed = int(seed)
        self.origin = origin
        self.watch = watch
        self.__name__ = getattr(function, "__name__", type(function).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        in_run_process = os.getpid() == self.origin[0]
        outer = _top()
        if not in_run_process:
            _worker_setup()
            if threading.current_thread() is threading.main_thread() and (outer is None or outer.owns_globals):
                return self._owning_globals(outer is not None, args, kwargs)
        beside_others = in_run_process and threading.get_ident() != self.origin[1]
        return self._own_random_state(in_run_process, beside_others, args, kwargs)

    def _owning_globals(self, nested: bool, args: tuple, kwargs: dict) -> Any:
        """Alone in a worker process: the task owns NumPy's global state and ``random`` while it runs."""
        saved = (np.random.get_state(), random.getstate()) if nested else None
        np.random.seed(_derived(self.seed, "numpy"))
        random.seed(_derived(self.seed, "python"))
        stack = _stack()
        stack.append(_Context(self.seed, True))
        try:
            return self.function(*args, **kwargs)
        finally:
            stack.pop()
            if saved is not None:  # a nested task: the outer one goes on where it was
                np.random.set_state(saved[0])
                random.setstate(saved[1])

    def _own_random_state(self, in_run_process: bool, beside_others: bool, args: tuple, kwargs: dict) -> Any:
        """In the run's process (``n_jobs=1``, threads) or a worker's thread: ``check_random_state(None)``
        returns a ``RandomState`` of the task's own; the global states stay the process's."""
        if in_run_process:
            _ensure_check_random_state(None)
        else:
            _ensure_check_random_state_permanently()
        watch = in_run_process and beside_others and self.watch
        start = (_position(np.random.mtrand._rand), random.getstate()) if watch else None
        stack = _stack()
        stack.append(_Context(self.seed, False, (args, kwargs) if in_run_process else None))
        try:
            return self.function(*args, **kwargs)
        finally:
            stack.pop()
            if start is not None:
                moved = [name for name, now, then in (("np.random", _position(np.random.mtrand._rand), start[0]),
                                                      ("random", random.getstate(), start[1])) if now != then]
                if moved:
                    _note_thread_draw(self.__name__, moved, args, kwargs)


def _position(state: np.random.RandomState) -> tuple[Any, ...]:
    """Where a ``RandomState`` stands (changes with every draw)."""
    _, key, pos, has_gauss, gauss = state.get_state()
    return key.tobytes(), pos, has_gauss, gauss


def _run_state() -> dict[str, Any] | None:
    from . import active_run

    run = active_run()
    return run.state.get("joblib") if run is not None else None


def _note_drawn(streams: set[str], estimators: set[str] = frozenset()) -> None:
    """Tell the run which streams its tasks drew from, and which estimators relied on them."""
    state = _run_state()
    if state is not None:
        with state["lock"]:
            state["drawn"].update(streams)
            state["none"].update(estimators)


def _note_thread_draw(function: str, moved: list[str], args: tuple, kwargs: dict) -> None:
    """A task in a thread moved a global state: one warning per function and estimators."""
    state = _run_state()
    if state is None:
        return
    names = _estimators(args, kwargs)
    key = (function, tuple(names), tuple(moved))
    with state["lock"]:
        if key in state["threads"]:
            return
        which = " and ".join(f"{m}.*" for m in moved)
        of = f" (estimators: {', '.join(names)})" if names else ""
        state["threads"][key] = (
            f"joblib ran {function}{of} in threads, and it drew from the global {which} directly: threads share "
            "that state, so what each task drew depended on timing and the result may not be reproducible; give "
            "the estimator a random_state (seedexp.sklearn.inject_random_state), draw from a seeded Generator, or "
            "run the tasks in processes (joblib's default loky backend)")


# -- worker processes ---------------------------------------------------------------------

def _worker_setup() -> None:
    """In a joblib worker process: nested calls of a task get seeds of their own too."""
    global _PERMANENT
    if not _PERMANENT and "joblib" in sys.modules:
        _PERMANENT = True
        _install_call()


# -- scikit-learn's check_random_state in threads -------------------------------------------

def _thread_random_state(seed: Any) -> Any:
    """What ``check_random_state(seed)`` returns while seedexp's version is in place."""
    if seed is None or seed is np.random:
        ctx = _top()
        if ctx is not None and not ctx.owns_globals:
            return ctx.own_random_state()
    return _CRS["original"](seed)


def _check_random_state(seed):  # noqa: ANN001, ANN202 - its code replaces scikit-learn's
    from seedexp.frameworks.joblib import _thread_random_state

    return _thread_random_state(seed)


def _replace_check_random_state() -> bool:
    """Give ``sklearn.utils.validation.check_random_state`` the code above; False if already done
    or scikit-learn's validation module is not imported. The function object stays the same, so
    every module that imported it by name gets the new behaviour."""
    module = sys.modules.get(_SKLEARN_VALIDATION)
    if module is None:
        return False
    func = module.check_random_state
    with _lock:
        if func.__code__ is _check_random_state.__code__:
            return False
        _CRS["code"] = func.__code__
        _CRS["func"] = func
        _CRS["original"] = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                                              func.__closure__)
        func.__code__ = _check_random_state.__code__
        return True


def _restore_check_random_state() -> None:
    with _lock:
        func = _CRS.get("func")
        if func is not None and func.__code__ is _check_random_state.__code__:
            func.__code__ = _CRS["code"]


def _ensure_check_random_state(run: "Run | None") -> None:
    """In the run's process: replace scikit-learn's ``check_random_state`` until the run ends."""
    from . import active_run

    run = run or active_run()
    try:
        replaced = _replace_check_random_state()
    except (AttributeError, TypeError, ValueError) as exc:
        _cannot_replace(exc)
        return
    if replaced and run is not None and not _PERMANENT:
        run.on_end(_restore_check_random_state)


def _ensure_check_random_state_permanently() -> None:
    try:
        _replace_check_random_state()
    except (AttributeError, TypeError, ValueError):
        pass  # a worker process cannot warn the run: scikit-learn then behaves as its own


def _cannot_replace(exc: Exception) -> None:
    state = _run_state()
    if state is None:
        return
    with state["lock"]:
        state["threads"][("check_random_state",)] = (
            f"seedexp cannot give joblib threads their own random state in this scikit-learn ({type(exc).__name__}: "
            f"{exc}): estimators with random_state=None fitted in threads (backend='threading') are not "
            "reproducible; give them a random_state (seedexp.sklearn.inject_random_state)")


# -- estimators in a task's arguments ----------------------------------------------------------

def _estimators(args: tuple, kwargs: dict) -> list[str]:
    """Class names of the estimators among a task's arguments (one level into lists)."""
    found: list[str] = []
    for value in _values(args, kwargs):
        name = type(value).__name__
        if name not in found:
            found.append(name)
    return found


def _random_state_none(args: tuple, kwargs: dict) -> set[str]:
    """Class names of the estimators (nested ones too) left with ``random_state=None`` in a task's arguments."""
    names: set[str] = set()
    for value in _values(args, kwargs):
        try:
            params = value.get_params(deep=True)
        except Exception:  # noqa: BLE001 - an odd object: nothing to report
            continue
        for path, param in params.items():
            if param is None and (path == "random_state" or path.endswith("__random_state")):
                owner = value if path == "random_state" else params.get(path.rpartition("__")[0], value)
                names.add(type(owner).__name__)
    return names


def _values(args: tuple, kwargs: dict) -> Iterator[Any]:
    for value in (*args, *kwargs.values()):
        for item in (value if isinstance(value, (list, tuple)) else (value,)):
            if hasattr(item, "get_params") and not isinstance(item, type):
                yield item
