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

import codecs
import logging
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from .errors import ConfigError

__all__ = ["FORK_LOCK", "ISOLATION_MODES", "Death", "RunInfo", "Supervisor", "Task", "check_isolation", "check_limits",
           "death_line", "fork_is_unsafe", "parse_memory", "progress_bar", "record_death", "shared", "start_method"]

log = logging.getLogger("seedexp.supervise")

#: Values of ``isolation``: ``process`` (fork where safe, else spawn), a forced start method, or none.
ISOLATION_MODES = ("process", "fork", "spawn", "none")

#: How many characters of a dead run's output its record keeps (the whole tail is in traceback.txt).
TAIL_CHARS = 4000
#: How many lines of it.
TAIL_LINES = 30
#: Bytes of output kept per worker for the tail (the last ones).
_TAIL_BYTES = 64 * 1024
#: Seconds between two looks at a worker's memory while a run with a memory limit is in flight.
_MEMORY_POLL = 0.05
#: Seconds a run stopped for its limits gets to dump its stack before it is killed.
_DUMP_GRACE = 0.5
#: Seconds an interrupted run gets to write its record before it is killed.
_INTERRUPT_GRACE = 5.0
#: Written by a worker on stdout and stderr before each task (then its id and a newline): the
#: sweep strips it from what it relays, and knows whose output follows.
_MARK = b"\x1e\x1fseedexp-task:"
#: A worker takes a second task before the first ends (so it never waits for the sweep's
#: process to be scheduled) when its last run took less than this many seconds.
_PIPELINE_BELOW = 0.1
#: The signal that makes a worker dump its threads' stacks (a real-time one: frameworks use SIGUSR1/2).
_DUMP_SIGNAL = signal.SIGRTMIN + 5 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR1

#: What a signal that ended a run usually means.
_SIGNAL_HINTS = {
    "SIGSEGV": "a segmentation fault in native code",
    "SIGBUS": "a bus error in native code",
    "SIGFPE": "an arithmetic fault in native code",
    "SIGILL": "an illegal instruction in native code",
    "SIGABRT": "abort() in native code",
    "SIGKILL": "the kernel's out-of-memory killer, or kill -9",
    "SIGTERM": "terminated from outside",
}


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


#: Held by a worker's fork, and by seedexp's own threads while they work (a thread whose class sets
#: ``fork_safe = True``): so a worker is never forked while one of them holds a lock.
FORK_LOCK = threading.Lock()


def fork_is_unsafe() -> str | None:
    """Why this process should not be forked now (see the module's notes), or None when it can be."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return f"no safe fork on {sys.platform}"
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and t.is_alive()
              and not getattr(t, "fork_safe", False)]
    if others:
        return f"{len(others)} other thread(s) run in this process ({', '.join(t.name for t in others)})"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    try:
        if cuda is not None and cuda.is_initialized():
            return "CUDA is initialised in this process"
    except Exception:  # noqa: BLE001 - a torch that cannot say: assume the worst
        return "torch cannot say whether CUDA is initialised"
    for name in ("tensorflow", "jax"):
        if name in sys.modules:
            return f"{name} is imported in this process (a multithreaded runtime)"
    return None


def progress_bar(**kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar without tqdm's monitor thread (a process with that thread is not forked safely)."""
    from tqdm.auto import tqdm

    class Bar(tqdm):  # type: ignore[misc, valid-type]
        monitor_interval = 0

    return Bar(**kwargs)


def start_method(isolation: str) -> str:
    """``fork`` or ``spawn`` for an ``isolation`` other than ``none``."""
    if isolation in ("fork", "spawn"):
        return isolation
    why = fork_is_unsafe()
    if why is not None:
        log.debug("seedexp workers are spawned, not forked: %s", why)
        return "spawn"
    return "fork"


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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (and check the parent is still there)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _no_breakpoint(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("breakpoint() in a run of a supervised sweep: its worker process has no terminal; "
                       "run the sweep with isolation=none (seedexp.sweep(..., isolation='none')) to debug it "
                       "in the sweep's own process")


def _setup_worker(crash_fd: int) -> None:
    """Streams on the pipes, signals as a fresh process has them, stack dumps into the crash pipe."""
    import faulthandler

    sys.stdin = open(os.devnull, encoding="utf-8")
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr  # type: ignore[misc]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    crash = os.fdopen(crash_fd, "w", closefd=False)
    faulthandler.enable(file=crash, all_threads=True)
    faulthandler.register(_DUMP_SIGNAL, file=crash, all_threads=True, chain=False)
    sys.breakpointhook = _no_breakpoint
    os.environ["PYTHONBREAKPOINT"] = "seedexp.supervise._no_breakpoint"
    _WORKER_STATE["crash_file"] = crash  # kept open: faulthandler writes to its fd


_WORKER_STATE: dict[str, Any] = {}


def shared(key: str) -> Any:
    """In a worker: the object the sweep shared as ``key`` (:meth:`Supervisor.share`)."""
    return _WORKER_STATE["shared"][key]


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any exception type may refuse pickling
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _worker_loop(conn: Any, shared: dict[str, Any]) -> int:
    """Receive tasks, run them, send results, until told to stop or the sweep's end of the pipe closes."""
    _WORKER_STATE["shared"] = shared
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return 0
        kind = message[0]
        if kind == "share":
            shared[message[1]] = pickle.loads(message[2])
            continue
        if kind == "stop":
            return 0
        _, task_id, key, args = message
        _flush()
        mark = _MARK + str(task_id).encode() + b"\n"
        for fd in (1, 2):  # what follows on stdout and stderr is this task's (the sweep relays all but the mark)
            try:
                os.write(fd, mark)
            except OSError:
                pass
        try:
            reply: tuple = ("done", task_id, shared[key](*args))
        except KeyboardInterrupt:
            _flush()
            conn.send_bytes(pickle.dumps(("interrupted", task_id)))
            return 130
        except BaseException as exc:  # noqa: BLE001 - the sweep decides what a task's exception means
            reply = ("raised", task_id, _portable(exc))
        _flush()
        try:
            data = pickle.dumps(reply)
        except Exception as exc:  # noqa: BLE001 - a result that cannot travel
            data = pickle.dumps(("raised", task_id, RuntimeError(f"the task's result cannot be sent back: {exc}")))
        conn.send_bytes(data)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _spawned() -> None:
    """Entry of a spawned worker: ``python -c ... CONN_FD CRASH_FD PARENT_PID``."""
    from multiprocessing.connection import Connection

    conn_fd, crash_fd, parent = (int(a) for a in sys.argv[1:4])
    _die_with_parent(parent)
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    conn = Connection(conn_fd)
    _setup_worker(crash_fd)
    init = pickle.loads(conn.recv_bytes())
    sys.path[:] = init["sys_path"]
    code = 1
    try:
        code = _worker_loop(conn, {})
    finally:
        _flush()
        os._exit(code)


# --------------------------------------------------------------------------- the sweep's side


class _Worker:
    """One worker process, as the supervisor sees it: its pipes, the tasks sent to it (in order), its output."""

    def __init__(self, pid: int, conn: Any, out: int, err: int, crash: int, popen: Any = None) -> None:
        from collections import deque

        self.pid, self.conn, self.popen = pid, conn, popen
        self.pipes = {out: "out", err: "err", crash: "crash"}
        self.decoders = {out: codecs.getincrementaldecoder("utf-8")("replace"),
                         err: codecs.getincrementaldecoder("utf-8")("replace")}
        self.pending = {out: b"", err: b""}  # the start of a mark cut by a read
        self.current = {out: -1, err: -1}  # whose output each pipe carries now (the last mark's task id)
        self.output: deque[tuple[int, bytes]] = deque()  # (task id, bytes) as printed, the last _TAIL_BYTES
        self.output_bytes = 0
        self.dump = bytearray()  # the stacks faulthandler wrote on a fatal signal or when stopped
        self.known: set[str] = set()
        self.queue: deque[tuple[int, Task]] = deque()  # sent, not answered; the first one runs
        self.started = 0.0  # when the first task of the queue started (about: when its predecessor ended)
        self.last_duration: float | None = None
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None
        self.exit_status: int | None = None

    @property
    def task(self) -> Task | None:
        return self.queue[0][1] if self.queue else None

    def capacity(self) -> int:
        """How many more tasks it takes now: a second one only after a short run (see :data:`_PIPELINE_BELOW`)."""
        depth = 2 if self.last_duration is not None and self.last_duration < _PIPELINE_BELOW else 1
        return max(0, depth - len(self.queue))

    def fds(self) -> list[int]:
        return [self.conn.fileno(), *self.pipes, *([self.pidfd] if self.pidfd is not None else [])]

    def relay(self, fd: int) -> bool:
        """Read what the worker printed on ``fd``: to this process's stdout/stderr and the tail (a stack dump: kept)."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        kind = self.pipes.get(fd)
        if not data:
            if kind in ("out", "err") and self.pending[fd]:
                self._show(fd, kind, self.pending[fd])
                self.pending[fd] = b""
            self.pipes.pop(fd, None)
            os.close(fd)
            return False
        if kind == "crash":
            self.dump += data
            if len(self.dump) > _TAIL_BYTES:
                del self.dump[:-_TAIL_BYTES]
            return True
        data, self.pending[fd] = self.pending[fd] + data, b""
        while data:
            at = data.find(_MARK)
            if at < 0:
                keep = _partial_mark(data)
                data, self.pending[fd] = (data[:-keep], data[-keep:]) if keep else (data, b"")
                self._show(fd, kind, data)
                break
            end = data.find(b"\n", at)
            if end < 0:  # the mark's id is not all here yet
                self._show(fd, kind, data[:at])
                self.pending[fd] = data[at:]
                break
            self._show(fd, kind, data[:at])
            try:
                self.current[fd] = int(data[at + len(_MARK):end])
            except ValueError:
                pass
            data = data[end + 1:]
        return True

    def _show(self, fd: int, kind: str | None, data: bytes) -> None:
        if not data:
            return
        self.output.append((self.current[fd], data))
        self.output_bytes += len(data)
        while self.output_bytes > _TAIL_BYTES and len(self.output) > 1:
            self.output_bytes -= len(self.output.popleft()[1])
        text = self.decoders[fd].decode(data)
        stream = sys.stdout if kind == "out" else sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass

    def drain(self, seconds: float) -> None:
        """Read every pipe until it is empty (or ``seconds`` pass: a grandchild may hold one open)."""
        from multiprocessing.connection import wait

        end = time.monotonic() + seconds
        while self.pipes:
            ready = wait(list(self.pipes), max(0.0, end - time.monotonic()))
            if not ready:
                return
            for fd in ready:
                self.relay(fd)

    def alive(self) -> bool:
        return self.reap(block=False) is None

    def reap(self, block: bool = True) -> int | None:
        """Wait for the process; its exit status (``os.waitpid``'s), or None if it still runs (``block=False``)."""
        if self.exit_status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid == 0:
                return None
            self.exit_status = status
            if self.popen is not None:
                self.popen.returncode = os.waitstatus_to_exitcode(status)
        return self.exit_status

    def signal_group(self, sig: int) -> None:
        for send in (os.killpg, os.kill):  # the group: the run's own child processes too
            try:
                send(self.pid, sig)
                return
            except (ProcessLookupError, PermissionError):
                continue

    def close_fds(self) -> None:
        for fd in list(self.pipes):
            try:
                os.close(fd)
            except OSError:
                pass
        self.pipes.clear()
        if self.pidfd is not None:
            try:
                os.close(self.pidfd)
            except OSError:
                pass
            self.pidfd = None
        try:
            self.conn.close()
        except OSError:
            pass

    def rss(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as handle:
                return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return None

    def tail_text(self, task_id: int) -> str:
        """The last lines task ``task_id`` printed (stdout and stderr, as they came)."""
        mine = b"".join(data for owner, data in self.output if owner == task_id)
        return _last_lines(mine.decode("utf-8", "replace"))

    def dump_text(self) -> str:
        return _last_lines(self.dump.decode("utf-8", "replace"), 200, 20_000)


def _partial_mark(data: bytes) -> int:
    """How many bytes at the end of ``data`` could be the start of a mark (kept for the next read)."""
    tail = data[-(len(_MARK) - 1):]
    for k in range(len(tail), 0, -1):
        if _MARK.startswith(tail[-k:]):
            return k
    return 0


def _last_lines(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    return "\n".join(text.splitlines()[-lines:])[-chars:]


def where_it_stopped(dump: str) -> str | None:
    """``function (file:line)`` of the innermost frame of the current thread in a faulthandler dump that is not
    in the standard library nor seedexp's (the user's code that was running), or None."""
    import re
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    frames, current = [], False
    for line in dump.splitlines():
        if line.startswith(("Current thread", "Thread ")):
            if frames:
                break
            current = line.startswith("Current thread")
            continue
        found = re.match(r'\s+File "(.+)", line (\d+) in (.+)$', line)
        if found and current:
            frames.append(found.groups())
    for path, line, function in frames:
        if not path.startswith(stdlib) and "seedexp" not in Path(path).parts[-2:-1]:
            return f"{function} ({Path(path).name}:{line})"
    return None


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
        self._workers: list[_Worker | None] = [None] * self.n
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

    def _start(self, slot: int) -> _Worker:
        if self.method is None:
            self.method = start_method(self.isolation)
        worker = self._fork() if self.method == "fork" else self._spawn()
        self._workers[slot] = worker
        self.started_workers += 1
        return worker

    def _fork(self) -> _Worker:
        from multiprocessing import Pipe

        parent_end, child_end = Pipe(duplex=True)
        (out_r, out_w), (err_r, err_w), (crash_r, crash_w) = os.pipe(), os.pipe(), os.pipe()
        others = [fd for w in self._workers if w is not None for fd in w.fds()]
        _flush()
        parent = os.getpid()
        with FORK_LOCK:
            pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                _die_with_parent(parent)
                os.setpgid(0, 0)
                parent_end.close()
                for fd in (out_r, err_r, crash_r, *others):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                os.close(out_w)
                os.close(err_w)
                _setup_worker(crash_w)
                code = _worker_loop(child_end, dict(self._shared))
            except BaseException:  # noqa: BLE001 - a worker never returns into the sweep's code
                try:
                    import traceback

                    traceback.print_exc()
                except BaseException:  # noqa: BLE001
                    pass
            finally:
                _flush()
                os._exit(code)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or has already gone
        child_end.close()
        for fd in (out_w, err_w, crash_w):
            os.close(fd)
        worker = _Worker(pid, parent_end, out_r, err_r, crash_r)
        worker.known = set(self._shared)  # a forked worker holds everything shared before it started
        return worker

    def _spawn(self) -> _Worker:
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        from ._start import HASH_SEED

        parent_sock, child_sock = socket.socketpair()
        crash_r, crash_w = os.pipe()
        env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, **self.env}
        code = "from seedexp.supervise import _spawned; _spawned()"
        try:
            proc = subprocess.Popen([sys.executable, "-c", code, str(child_sock.fileno()), str(crash_w),
                                     str(os.getpid())], pass_fds=(child_sock.fileno(), crash_w),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=env, close_fds=True)
        finally:
            child_sock.close()
            os.close(crash_w)
        conn = Connection(os.dup(parent_sock.fileno()))
        parent_sock.close()
        out, err = os.dup(proc.stdout.fileno()), os.dup(proc.stderr.fileno())
        proc.stdout.close()
        proc.stderr.close()
        worker = _Worker(proc.pid, conn, out, err, crash_r, popen=proc)
        conn.send_bytes(pickle.dumps({"sys_path": list(sys.path)}))
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
        dead: list[_Worker] = []
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

    def _reply(self, worker: _Worker, message: tuple, interrupted: bool) -> tuple[Task, Any] | None:
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

    def _kill(self, worker: _Worker, kind: str, cause: str, status: str = "crashed") -> tuple[Task, Death]:
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

    def _bury(self, worker: _Worker) -> tuple[Task, Death] | None:
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

    def _finish_death(self, worker: _Worker, death: Death) -> tuple[Task, Death]:
        """The first task in the worker's queue died with it: record it; the others go to another worker."""
        worker.reap()
        worker.drain(0.05)
        task_id, task = worker.queue.popleft()
        death.duration_s = time.monotonic() - worker.started
        death.log_tail, death.stack = worker.tail_text(task_id), worker.dump_text()
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

    def _retire(self, worker: _Worker) -> None:
        worker.reap()
        worker.close_fds()
        if worker in self._workers:
            self._workers[self._workers.index(worker)] = None  # a fresh worker for the next task


def _size(n: int) -> str:
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"
