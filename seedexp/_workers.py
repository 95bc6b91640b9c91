"""The processes behind :mod:`seedexp.supervise`: a worker's start (fork or spawn), its loop, and the sweep's handle.

The worker side: :func:`fork_worker` / :func:`spawned` set a worker up (its own
process group, death with its parent, streams on pipes, :mod:`faulthandler` into
the crash pipe, no ``breakpoint()``) and run :func:`_worker_loop`: receive a task,
write the mark that says whose output follows, run it, send its result back. The
sweep's side: :class:`WorkerProcess` holds a worker's pipes, relays its output
(and keeps the last of it per task), reads its memory and its exit.
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
from pathlib import Path
from typing import Any, Mapping

__all__ = ["FORK_LOCK", "fork_is_unsafe", "progress_bar", "start_method", "TAIL_CHARS", "TAIL_LINES", "WorkerProcess", "flush", "fork_worker", "shared", "spawn_worker",
           "spawned", "where_it_stopped"]

#: How many characters of a dead run's output its record keeps (the whole tail is in traceback.txt).
TAIL_CHARS = 4000
#: How many lines of it.
TAIL_LINES = 30
#: Bytes of output kept per worker for the tail (the last ones).
_TAIL_BYTES = 64 * 1024
#: Written by a worker on stdout and stderr before each task (then its id and a newline): the
#: sweep strips it from what it relays, and knows whose output follows.
_MARK = b"\x1e\x1fseedexp-task:"
#: A worker takes a second task before the first ends (so it never waits for the sweep's
#: process to be scheduled) when its last run took less than this many seconds.
_PIPELINE_BELOW = 0.1
#: The signal that makes a worker dump its threads' stacks (a real-time one: frameworks use SIGUSR1/2).
_DUMP_SIGNAL = signal.SIGRTMIN + 5 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR1


#: Held by a worker's fork, and by seedexp's own threads while they work (a thread whose class sets
#: ``fork_safe = True``): so a worker is never forked while one of them holds a lock.
FORK_LOCK = threading.Lock()



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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
        logging.getLogger("seedexp.supervise").debug("seedexp workers are spawned, not forked: %s", why)
        return "spawn"
    return "fork"


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
    os.environ["PYTHONBREAKPOINT"] = "seedexp._workers._no_breakpoint"
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
        flush()
        mark = _MARK + str(task_id).encode() + b"\n"
        for fd in (1, 2):  # what follows on stdout and stderr is this task's (the sweep relays all but the mark)
            try:
                os.write(fd, mark)
            except OSError:
                pass
        try:
            reply: tuple = ("done", task_id, shared[key](*args))
        except KeyboardInterrupt:
            flush()
            conn.send_bytes(pickle.dumps(("interrupted", task_id)))
            return 130
        except BaseException as exc:  # noqa: BLE001 - the sweep decides what a task's exception means
            reply = ("raised", task_id, _portable(exc))
        flush()
        try:
            data = pickle.dumps(reply)
        except Exception as exc:  # noqa: BLE001 - a result that cannot travel
            data = pickle.dumps(("raised", task_id, RuntimeError(f"the task's result cannot be sent back: {exc}")))
        conn.send_bytes(data)


def flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def spawned() -> None:
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
        flush()
        os._exit(code)


class WorkerProcess:
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
        self.queue: deque[tuple[int, Any]] = deque()  # sent, not answered; the first one runs
        self.started = 0.0  # when the first task of the queue started (about: when its predecessor ended)
        self.last_duration: float | None = None
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None
        self.exit_status: int | None = None

    @property
    def task(self) -> Any:
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



def fork_worker(shared: dict[str, Any], others: list[int]) -> "WorkerProcess":
    """A worker forked from this process: it holds what ``shared`` holds; ``others``: fds of the other workers."""
    from multiprocessing import Pipe

    parent_end, child_end = Pipe(duplex=True)
    (out_r, out_w), (err_r, err_w), (crash_r, crash_w) = os.pipe(), os.pipe(), os.pipe()
    flush()
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
            code = _worker_loop(child_end, dict(shared))
        except BaseException:  # noqa: BLE001 - a worker never returns into the sweep's code
            try:
                import traceback

                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
        finally:
            flush()
            os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child did it first, or has already gone
    child_end.close()
    for fd in (out_w, err_w, crash_w):
        os.close(fd)
    worker = WorkerProcess(pid, parent_end, out_r, err_r, crash_r)
    worker.known = set(shared)  # a forked worker holds everything shared before it started
    return worker


def spawn_worker(env: Mapping[str, str]) -> "WorkerProcess":
    """A worker in a fresh interpreter (under ``PYTHONHASHSEED=0``, plus ``env``): it gets this process's sys.path."""
    import socket
    import subprocess
    from multiprocessing.connection import Connection

    from ._start import HASH_SEED

    parent_sock, child_sock = socket.socketpair()
    crash_r, crash_w = os.pipe()
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, **env}
    code = "from seedexp._workers import spawned; spawned()"
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
    worker = WorkerProcess(proc.pid, conn, out, err, crash_r, popen=proc)
    conn.send_bytes(pickle.dumps({"sys_path": list(sys.path)}))
    return worker

