"""Supervised runs: a crash, a hang or an out-of-memory kill costs one run, never the sweep.

A sweep runs its runs in warm worker processes that this module supervises
(:class:`Supervisor`). A worker is started once and reused run after run; when
its run kills it - ``os._exit``, a segfault, a signal, the kernel's OOM killer
- or goes past the run's ``timeout`` or ``memory_limit``, the supervisor (in
the sweep's own process) writes that run's record itself (status ``crashed``
or ``timed_out``, the cause, the exit code or signal, the last lines the run
printed), starts a fresh worker for the next run, and the sweep goes on.
Nothing here imports Hydra: the Python API (:func:`seedexp.sweep`) and the
Hydra sweeper's fast path both use it.

How a worker starts (``isolation``):

``process`` (the default)
    ``fork`` where that is safe, else ``spawn``. A forked worker starts in
    about a millisecond and already holds everything the sweep's process
    imported and defined (a notebook's function needs no pickling). Forking is
    not safe in a process that runs other threads (a lock held by one of them
    stays locked in the child), that initialised CUDA (the child cannot use
    it: "Cannot re-initialize CUDA in forked subprocess"), or that imported
    TensorFlow or JAX (multithreaded runtimes; JAX warns that a fork may
    deadlock), nor on macOS: there a worker is a fresh interpreter
    (``spawn``), to which the run's function is sent with cloudpickle
    (joblib's copy), under ``PYTHONHASHSEED=0``.
``fork``, ``spawn``
    That start method, whatever the process holds.
``none``
    No worker: every run in the sweep's own process, as a debugger needs it
    (``breakpoint()`` in a worker says to use this). No timeout or memory
    limit then.

A worker is in its own process group (a run's own child processes, such as
DataLoader workers, are stopped with it; Ctrl-C reaches the sweep, which
interrupts the runs it supervises), dies with the sweep's process
(``PR_SET_PDEATHSIG``), prints through pipes that the sweep relays to its own
stdout and stderr (so a notebook shows a worker's output), and dumps the
Python stack of every thread on a fatal signal or when stopped for its
timeout (:mod:`faulthandler`, into the run's log tail only). The memory
limit is the worker's resident memory (``/proc/PID/statm``, checked every
50 ms while a run with a limit is in flight), not that of its own children.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from ._workers import (_DUMP_SIGNAL, _SIGNAL_HINTS, FORK_LOCK, TAIL_CHARS, WorkerProcess, _signal_name, fork_is_unsafe,
                       fork_worker, progress_bar, shared, spawn_worker, start_method, where_it_stopped)
from .errors import ConfigError
from .redact import redact_text

__all__ = ["FORK_LOCK", "ISOLATION_MODES", "Death", "RunInfo", "Supervisor", "Task", "check_isolation", "check_limits",
           "death_line", "fork_is_unsafe", "parse_memory", "progress_bar", "record_death", "shared", "start_method"]

log = logging.getLogger("seedexp.supervise")

#: Values of ``isolation``: ``process`` (fork where safe, else spawn), a forced start method, or none.
ISOLATION_MODES = ("process", "fork", "spawn", "none")

#: Seconds between two looks at a worker's memory while a run with a memory limit is in flight.
_MEMORY_POLL = 0.05
#: Seconds a run stopped for its limits gets to dump its stack before it is killed.
_DUMP_GRACE = 0.5
#: Seconds an interrupted run gets to write its record before it is killed.
_INTERRUPT_GRACE = 5.0

# --------------------------------------------------------------------------- settings


def check_isolation(value: Any, key: str = "isolation") -> str:
    """``value`` as one of :data:`ISOLATION_MODES` (``false``/``null`` mean ``none``), else a one-line ConfigError."""
    if value is None or value is False:
        return "none"
    if value is True:
        return "process"
    if isinstance(value, str) and value.strip().lower() in ISOLATION_MODES:
        return value.strip().lower()
    raise ConfigError(f"{key}={value!r}: expected one of {', '.join(ISOLATION_MODES)} (process: each run in a "
                      "supervised worker process, the default; none: in this process, for a debugger)")


_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def parse_memory(value: Any, key: str = "memory_limit") -> int | None:
    """A memory size in bytes: an int, or text such as ``8GB``, ``512MiB``, ``1.5G``; None for none.

    Examples
    --------
    >>> parse_memory("512MiB"), parse_memory("2GB"), parse_memory(None)
    (536870912, 2000000000, None)
    """
    import math
    import re

    if value is None:
        return None
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if found and found.group(2).lower() in _UNITS:
            number = float(found.group(1)) * _UNITS[found.group(2).lower()]
    if number is None or not math.isfinite(number) or number < 2 ** 20:
        raise ConfigError(f"{key}={value!r}: expected a memory size of at least 1 MiB, e.g. {key}=8GB or "
                          f"{key}=512MiB (or null for no limit)")
    return int(number)


def _check_timeout(value: Any, key: str = "timeout") -> float | None:
    import math

    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    raise ConfigError(f"{key}={value!r}: expected a number of seconds > 0 per run, e.g. {key}=3600 (or null: "
                      "no limit)")


def check_limits(isolation: Any, timeout: Any, memory_limit: Any) -> tuple[str, float | None, int | None]:
    """Check the three settings of supervised runs together; return ``(isolation, timeout, memory bytes)``.

    A limit needs a worker to stop: with ``isolation=none`` it is refused, not ignored.
    """
    mode = check_isolation(isolation)
    limit_s, memory = _check_timeout(timeout), parse_memory(memory_limit)
    if mode == "none" and (limit_s is not None or memory is not None):
        what = "timeout" if limit_s is not None else "memory_limit"
        raise ConfigError(f"{what} needs isolation: a run is stopped by stopping its worker process, and "
                          f"isolation=none runs every run in this process; drop {what} or isolation=none")
    if memory is not None and not os.path.exists("/proc/self/statm"):
        raise ConfigError("memory_limit needs /proc (Linux) to read a worker's memory; drop memory_limit here")
    return mode, limit_s, memory


# --------------------------------------------------------------------------- what a sweep hands over


@dataclass
class RunInfo:
    """Who a task's run is, for the record written when its worker dies: run dir, seed, group, overrides."""

    run_dir: str | None
    seed: Any = None
    group: str = "(defaults)"
    overrides: list[str] = field(default_factory=list)
    experiment: str = ""


@dataclass
class Task:
    """A call to run in a worker: the shared callable ``call`` (see :meth:`Supervisor.share`), its ``args``."""

    call: str
    args: tuple
    run: RunInfo
    tag: Any = None  # the caller's own, handed back with the result


@dataclass
class Death:
    """How a task's run ended when its worker did not return: the status, cause, and what is known."""

    status: str  # "crashed" or "timed_out"
    kind: str  # "ProcessDied", "Timeout", "MemoryLimit", "Interrupted"
    cause: str  # one line
    exit_code: int | None = None
    signal: int | None = None
    log_tail: str = ""
    stack: str = ""  # faulthandler's dump of the threads' stacks, when there was one
    duration_s: float | None = None
    record: str | None = None  # the record written for it

    @property
    def signal_name(self) -> str | None:
        return _signal_name(self.signal) if self.signal is not None else None


def death_line(run: RunInfo, death: Death) -> str:
    """The one line a front-end prints when a run's worker died: ``run crashed (seed=3): ...``."""
    from .core import one_line

    what = "timed out" if death.status == "timed_out" else "crashed"
    last = one_line("\n".join(reversed(death.log_tail.splitlines())), 160) if death.log_tail else ""
    shown = f"; last output: {last}" if last else ""
    where = f" - record in {death.record}" if death.record else ""
    return f"run {what} (seed={run.seed}): {death.cause}{shown}{where}"


# --------------------------------------------------------------------------- the record of a dead run


def record_death(run: RunInfo, death: Death) -> str | None:
    """Write the record of a run whose worker died (status ``crashed`` or ``timed_out``); return its path.

    The ``running`` marker the run wrote before its experiment started is
    completed (it holds the run's config, streams, host); where there is none
    (the worker died before it, or the run had not begun) a record is made
    from what the sweep knows. The log tail goes into ``traceback.txt``.
    """
    from .core import MAX_RECORD_MESSAGE
    from .record import RECORD_NAME, SCHEMA, TRACEBACK_NAME, host_info
    from .sweepdir import existing_record, write_record, write_text_atomic

    if run.run_dir is None:
        return None
    directory = Path(run.run_dir)
    record = existing_record(directory)
    if record is None or record.get("status") != "running" or record.get("group") != run.group \
            or (run.seed is not None and record.get("seed") != run.seed):
        if not isinstance(run.seed, int) or isinstance(run.seed, bool):
            return None  # no marker, and the seed is not known here (an interpolation): the summary says missing
        record = {"schema": SCHEMA, "status": "running", "experiment": run.experiment, "metrics": {},
                  "fingerprints": {}, "seed": run.seed, "overrides": list(run.overrides), "group": run.group,
                  "host": host_info(), "duration_s": None}
    tail = death.log_tail[-TAIL_CHARS:]
    record["status"] = death.status
    record["metrics"] = {}
    record["duration_s"] = death.duration_s
    record["error"] = {"type": death.kind, "message": death.cause[:MAX_RECORD_MESSAGE], "log_tail": tail}
    record["crash"] = {"exit_code": death.exit_code, "signal": death.signal, "signal_name": death.signal_name}
    text = f"{death.cause}\n\nlast output of the run's process:\n{death.log_tail or '(none)'}\n"
    if death.stack:
        text += f"\nits Python stacks when it stopped (faulthandler):\n{death.stack}\n"
    try:
        write_text_atomic(directory / TRACEBACK_NAME, text)
        path = write_record(directory, record)
    except OSError as exc:
        log.error("cannot write the record of a dead run in %s (%s)", directory, exc.strerror or exc)
        return None
    return str(path if path.name == RECORD_NAME else directory / RECORD_NAME)


# --------------------------------------------------------------------------- the worker side


# --------------------------------------------------------------------------- the sweep's side


class Supervisor:
    """Warm worker processes that run a sweep's tasks; a task whose worker dies gets a record saying so.

    Tasks go to the workers in order; a worker whose last run was short (under
    0.1 s) is sent the next task before it ends, so that it does not wait for
    this process between runs. When a worker dies, the task it was running is
    the first it had not answered (it runs them in order); the one queued behind
    it goes to the next worker.

    Parameters
    ----------
    workers : int
        How many tasks run at once (one worker process each).
    isolation : {"process", "fork", "spawn"}
        How workers start (see the module's notes); ``none`` has no supervisor.
    timeout : float, optional
        Seconds a task may take; past it, its worker is stopped and the run is ``timed_out``.
    memory_limit : int, optional
        Bytes of resident memory a worker may hold during a task; past it, the
        worker is stopped and the run is ``crashed`` (cause: the limit).
    env : mapping, optional
        Environment of spawned workers (added to this process's); forked ones
        have this process's own.

    Examples
    --------
    >>> def square(x):
    ...     return x * x
    >>> with Supervisor(workers=1) as pool:
    ...     pool.share("square", square)
    ...     [result for _, result in pool.map([Task("square", (3,), RunInfo(None))])]
    [9]
    """

    def __init__(self, workers: int = 1, *, isolation: str = "process", timeout: float | None = None,
                 memory_limit: int | None = None, env: Mapping[str, str] | None = None) -> None:
        from collections import deque

        if isolation == "none":
            raise ValueError("Supervisor needs worker processes; isolation='none' runs tasks in this process")
        self.n = max(1, int(workers))
        self.isolation = isolation
        self.method: str | None = None  # decided when the first worker starts
        self.timeout, self.memory_limit = timeout, memory_limit
        self.env = dict(env or {})
        self._shared: dict[str, Any] = {}
        self._blobs: dict[str, bytes] = {}
        self._workers: list[WorkerProcess | None] = [None] * self.n
        self._retry: deque[Task] = deque()  # sent to a worker that died before it began them
        self._next_id = 0
        self.deaths = 0
        self.started_workers = 0

    # -- the caller's side

    def share(self, key: str, obj: Any) -> None:
        """Make ``obj`` (a callable, or state a callable reads through :func:`shared`) known to every worker as ``key``."""
        self._shared[key] = obj
        self._blobs.pop(key, None)
        for worker in self._workers:
            if worker is not None:
                worker.known.discard(key)

    def map(self, tasks: Iterable[Task], on_death: Callable[[Task, Death], None] | None = None
            ) -> Iterator[tuple[Task, Any]]:
        """Run ``tasks`` (consumed lazily), ``workers`` at a time; yield ``(task, result)`` as each ends.

        ``result`` is what the task's callable returned, or a :class:`Death`
        (its record already written, :func:`record_death`). An exception the
        callable raised is raised here; the tasks in flight then end in :meth:`close`.
        """
        source = iter(tasks)
        exhausted = False

        def take() -> Task | None:
            nonlocal exhausted
            if self._retry:
                return self._retry.popleft()
            if exhausted:
                return None
            task = next(source, None)
            exhausted = task is None
            return task

        while True:
            for rounds in (0, 1):  # first one task to every idle worker, then a second to the short-run ones
                for slot in range(self.n):
                    worker = self._workers[slot]
                    if (worker is None or not worker.queue) if rounds == 0 else \
                            (worker is not None and worker.queue and worker.capacity() > 0):
                        task = take()
                        if task is None:
                            break
                        self._dispatch(slot, task)
            if not any(w is not None and w.queue for w in self._workers):
                if self._retry or not exhausted:
                    continue
                return
            for task, result in self._wait():
                if isinstance(result, Death) and on_death is not None:
                    on_death(task, result)
                yield task, result

    def close(self, interrupt: bool = False) -> None:
        """Let the tasks in flight end (``interrupt``: Ctrl-C them), then stop every worker."""
        self._retry.clear()
        busy = [w for w in self._workers if w is not None and w.queue]
        if interrupt:
            for worker in busy:
                worker.signal_group(signal.SIGINT)
            end = time.monotonic() + _INTERRUPT_GRACE
            while any(w.queue and w in self._workers for w in busy) and time.monotonic() < end:
                try:
                    for _ in self._wait(min(0.2, max(0.0, end - time.monotonic())), interrupted=True):
                        pass
                except Exception:  # noqa: BLE001 - Ctrl-C is what is on its way up
                    pass
            for worker in busy:
                if worker.queue and worker in self._workers:
                    self._kill(worker, "Interrupted", "interrupted (Ctrl-C) and stopped before it finished")
        else:
            while any(w is not None and w.queue for w in self._workers):
                try:
                    for _ in self._wait():
                        pass
                except Exception:  # noqa: BLE001 - what stopped the sweep is already on its way up
                    pass
        for i, worker in enumerate(self._workers):
            if worker is None:
                continue
            try:
                worker.conn.send_bytes(pickle.dumps(("stop",)))
            except OSError:
                pass
            end = time.monotonic() + 2.0
            while worker.reap(block=False) is None and time.monotonic() < end:
                worker.drain(0.02)
            if worker.reap(block=False) is None:
                worker.signal_group(signal.SIGKILL)
                worker.reap()
            worker.drain(0.05)
            worker.close_fds()
            self._workers[i] = None
        self._retry.clear()

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.close(interrupt=kind is not None and issubclass(kind, KeyboardInterrupt))

    # -- workers

    def _start(self, slot: int) -> WorkerProcess:
        if self.method is None:
            self.method = start_method(self.isolation)
        if self.method == "fork":
            worker = fork_worker(self._shared, [fd for w in self._workers if w is not None for fd in w.fds()])
        else:
            worker = spawn_worker(self.env)
        self._workers[slot] = worker
        self.started_workers += 1
        return worker

    def _blob(self, key: str) -> bytes:
        if key not in self._blobs:
            from joblib.externals import cloudpickle

            self._blobs[key] = cloudpickle.dumps(self._shared[key])
        return self._blobs[key]

    def _dispatch(self, slot: int, task: Task) -> None:
        worker = self._workers[slot]
        if worker is not None and not worker.queue and not worker.alive():  # died while idle: not this task's doing
            self._retire(worker)
            worker = None
        worker = worker or self._start(slot)
        self._next_id += 1
        if not worker.queue:
            worker.started = time.monotonic()
        worker.queue.append((self._next_id, task))
        try:
            for key in self._shared:
                if key not in worker.known:
                    worker.conn.send_bytes(pickle.dumps(("share", key, self._blob(key))))
                    worker.known.add(key)
            worker.conn.send_bytes(pickle.dumps(("run", self._next_id, task.call, task.args)))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it died: _wait finds out, and names the task it was running

    def _wait(self, timeout: float | None = None, interrupted: bool = False) -> Iterator[tuple[Task, Any]]:
        """Wait for the next events (results, output, deaths, limits); yield the tasks that ended."""
        from multiprocessing.connection import wait

        live = [w for w in self._workers if w is not None]
        busy = [w for w in live if w.queue]
        now = time.monotonic()
        waits = [max(0.0, w.started + self.timeout - now) for w in busy] if self.timeout is not None else []
        if self.memory_limit is not None and busy:
            waits.append(_MEMORY_POLL)
        if any(w.pidfd is None for w in busy):
            waits.append(0.1)  # no pidfd: look at the processes now and then
        if timeout is not None:
            waits.append(timeout)
        by_fd = {fd: w for w in live for fd in w.fds()}
        ready = wait(list(by_fd), min(waits) if waits else None)
        ended: list[tuple[Task, Any]] = []
        dead: list[WorkerProcess] = []
        for fd in ready:
            worker = by_fd[fd]
            if fd in worker.pipes:
                worker.relay(fd)
        for fd in ready:
            worker = by_fd[fd]
            if worker in dead:
                continue
            if fd == worker.pidfd:
                dead.append(worker)
            elif fd == worker.conn.fileno():
                while True:  # every reply that is there (a pipelined worker may have sent two)
                    try:
                        message = pickle.loads(worker.conn.recv_bytes())
                    except (EOFError, OSError):
                        dead.append(worker)
                        break
                    result = self._reply(worker, message, interrupted)
                    if result is not None:
                        ended.append(result)
                    if worker not in self._workers or not worker.conn.poll(0):
                        break
        for worker in busy:
            if worker in dead or not worker.queue or worker not in self._workers:
                continue
            if worker.pidfd is None and not worker.alive():
                dead.append(worker)
            elif self.timeout is not None and time.monotonic() >= worker.started + self.timeout:
                ended.append(self._kill(worker, "Timeout", f"no result after timeout={self.timeout:g} s: its "
                                                           "process was stopped", status="timed_out"))
            elif self.memory_limit is not None:
                rss = worker.rss()
                if rss is not None and rss > self.memory_limit:
                    ended.append(self._kill(worker, "MemoryLimit", f"its process used {_size(rss)} of memory, over "
                                                                   f"memory_limit={_size(self.memory_limit)}: stopped"))
        for worker in dead:
            if worker not in self._workers:
                continue
            try:
                while worker.conn.poll(0):  # the last results it sent before it exited
                    result = self._reply(worker, pickle.loads(worker.conn.recv_bytes()), interrupted)
                    if result is not None:
                        ended.append(result)
            except (EOFError, OSError):
                pass
            if worker in self._workers:
                died = self._bury(worker)
                if died is not None:
                    ended.append(died)
        for item in ended:
            yield item

    def _reply(self, worker: WorkerProcess, message: tuple, interrupted: bool) -> tuple[Task, Any] | None:
        kind, task_id = message[0], message[1]
        if not worker.queue or worker.queue[0][0] != task_id:
            return None
        _, task = worker.queue.popleft()
        now = time.monotonic()
        worker.last_duration, worker.started = now - worker.started, now  # the next one began about now
        if kind == "done":
            return task, message[2]
        if kind == "interrupted":
            worker.drain(0.2)
            self._retry.extendleft(reversed([t for _, t in worker.queue]))
            worker.queue.clear()
            self._retire(worker)
            if interrupted:
                return task, None
            raise KeyboardInterrupt
        raise message[2]

    def _kill(self, worker: WorkerProcess, kind: str, cause: str, status: str = "crashed") -> tuple[Task, Death]:
        """Stop a worker for its task's limits (its stack dumped first); record the task's run."""
        if kind != "Interrupted":
            try:
                os.kill(worker.pid, _DUMP_SIGNAL)
            except ProcessLookupError:
                pass
            worker.drain(_DUMP_GRACE if kind == "Timeout" else 0.1)
        worker.signal_group(signal.SIGKILL)
        death = Death(status=status, kind=kind, cause=cause)
        return self._finish_death(worker, death)

    def _bury(self, worker: WorkerProcess) -> tuple[Task, Death] | None:
        """A worker that died by itself: the task it was running (if any) gets a record naming how."""
        worker.drain(0.2)
        worker.signal_group(signal.SIGKILL)  # its own children, if any are left
        status = worker.reap()
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        if not worker.queue:
            self._retire(worker)
            return None
        if code is not None and code < 0:
            name = _signal_name(-code)
            hint = _SIGNAL_HINTS.get(name)
            cause = f"its process was killed by signal {-code} ({name}{': ' + hint if hint else ''})"
            death = Death("crashed", "ProcessDied", cause, signal=-code)
        else:
            cause = (f"its process exited with code {code} before the run finished (os._exit, or exit() in "
                     "native code)")
            death = Death("crashed", "ProcessDied", cause, exit_code=code)
        return self._finish_death(worker, death)

    def _finish_death(self, worker: WorkerProcess, death: Death) -> tuple[Task, Death]:
        """The first task in the worker's queue died with it: record it; the others go to another worker."""
        worker.reap()
        worker.drain(0.05)
        task_id, task = worker.queue.popleft()
        death.duration_s = time.monotonic() - worker.started
        # what the run printed may quote a secret it was given: the record and every line get it masked
        death.log_tail, death.stack = redact_text(worker.tail_text(task_id)), redact_text(worker.dump_text())
        spot = where_it_stopped(death.stack)
        if spot is not None:
            death.cause += f", in {spot}"
        status = worker.exit_status
        if death.kind != "ProcessDied" and status is not None:
            code = os.waitstatus_to_exitcode(status)
            death.signal, death.exit_code = (-code, None) if code < 0 else (None, code)
        death.record = record_death(task.run, death)
        self.deaths += 1
        log.info("%s", death_line(task.run, death))
        self._retry.extendleft(reversed([t for _, t in worker.queue]))  # sent, never begun: run them elsewhere
        worker.queue.clear()
        self._retire(worker)
        return task, death

    def _retire(self, worker: WorkerProcess) -> None:
        worker.reap()
        worker.close_fds()
        if worker in self._workers:
            self._workers[self._workers.index(worker)] = None  # a fresh worker for the next task


def _size(n: int) -> str:
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
