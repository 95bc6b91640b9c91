"""Experiments that misbehave on purpose, for tests/test_faults.py and tests/test_bad_inputs.py.

Importable via PYTHONPATH=tests, like :mod:`planted`. Each takes ``seeds`` (the
run's :class:`~seedexp.SeedPlan`) and misbehaves at ``at_seed`` only (every
seed when ``at_seed`` is None); the other seeds return a metric of the seed.
"""

from __future__ import annotations

import os
import sys
import time


def _fine(seeds):
    return {"score": float(seeds.generator("model").normal())}


def _here(seeds, at_seed):
    return at_seed is None or seeds.master == at_seed


def exits_on(seeds, at_seed: int | None = 3, code=0):
    """``sys.exit(code)`` at one seed: a run must return its metrics, so this is a failed run."""
    if _here(seeds, at_seed):
        sys.exit(code)
    return _fine(seeds)


def dies_on(seeds, at_seed: int | None = 3, code: int = 1, once: str | None = None, slow_seed: int | None = None):
    """``os._exit(code)`` at one seed: the process dies without unwinding (as a segfault would).

    With ``once`` (a file path), it dies only while that file does not exist, and creates it
    first: the next attempt of the same configuration runs fine (a transient crash).
    ``slow_seed`` takes 3 s: a run still going in another worker when ``at_seed`` dies.
    """
    if slow_seed is not None and seeds.master == slow_seed:
        time.sleep(3)
    if _here(seeds, at_seed) and not (once and os.path.exists(once)):
        if once:
            open(once, "w").close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return _fine(seeds)


#: What :func:`misbehaves` returns or raises, by ``kind``.
KINDS = {
    "empty": lambda: {},
    "collision": lambda: {1: 0.5, "1": 0.7},
    "int_name": lambda: {1: 0.5},
    "empty_name": lambda: {"": 0.5},
    "list_metric": lambda: {"score": [1.0, "high"]},  # a list is a series (seedexp.series): of numbers
    "bool_metric": lambda: {"score": True},
    "none_metric": lambda: {"score": None},
    "text_metric": lambda: {"score": "high"},
    "fingerprint_int": lambda: {"score": 1.0, "fingerprints": {"weights": 123}},
    "only_fingerprints": lambda: {"fingerprints": {"weights": "abc"}},
    "none": lambda: None,
    "tuple": lambda: (1.0, 2.0),
    "nan_metric": lambda: {"score": float("nan"), "other": 1.0},
    "huge_int_metric": lambda: {"score": 10 ** 999, "other": 1.0},  # no float holds it: inf
}


def misbehaves(seeds, kind: str = "empty", at_seed: int | None = None, size: int = 0):
    """Return a malformed result (``KINDS[kind]``), or raise: ``long_message`` (``size`` characters on
    one line), ``multiline`` (the message has several lines), ``keyboard`` (KeyboardInterrupt),
    ``recursion`` (RecursionError), ``memory`` (MemoryError)."""
    if not _here(seeds, at_seed):
        return _fine(seeds)
    if kind == "long_message":
        raise RuntimeError("x" * size)
    if kind == "multiline":
        raise ValueError("first line of the problem\nsecond line\n" + "\n".join(f"detail {i}" for i in range(200)))
    if kind == "keyboard":
        raise KeyboardInterrupt
    if kind == "recursion":
        def down(n):
            return down(n + 1) + 1
        return down(0)
    if kind == "memory":
        raise MemoryError("planted")
    return KINDS[kind]()


def fills_disk(seeds, at_seed: int | None = 3, path: str = "filler"):
    """Fill the disk holding ``path`` (relative to the cwd) at one seed, then return normally:
    the run's own record is the first write to hit the full disk."""
    if _here(seeds, at_seed) and not os.path.exists(path):
        chunk = b"\0" * 65536
        with open(path, "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(chunk)
            except OSError:
                pass
        with open(path, "ab", buffering=0) as handle:  # the last partial pages too
            try:
                while True:
                    handle.write(b"\0")
            except OSError:
                pass
    return _fine(seeds)


#: What :func:`crashes` does at a seed, by kind: the faults a supervised sweep must survive (issue 27).
CRASHES = ("exit", "segfault", "sigkill", "hang", "memory_error", "grows")


def crashes(seeds, faults=None, once: str | None = None):
    """Kill or stall the run's process in one of :data:`CRASHES` ways at the seeds ``faults`` names.

    ``faults``: ``{seed: kind}``. ``exit``: ``os._exit(3)``; ``segfault``: a read of address 0
    (ctypes); ``sigkill``: SIGKILL to its own process; ``hang``: sleeps 10 minutes;
    ``memory_error``: an allocation no machine has (Python raises MemoryError); ``grows``:
    allocates 8 MB at a time (touched) up to 3 GB, for a ``memory_limit`` to stop.
    With ``once`` (a directory), each fault happens once: the next attempt of that seed is fine.
    """
    kind = {int(k): v for k, v in (faults or {}).items()}.get(seeds.master)
    flag = os.path.join(once, f"seed{seeds.master}") if once else None
    if kind is None or (flag is not None and os.path.exists(flag)):
        return _fine(seeds)
    if flag is not None:
        os.makedirs(once, exist_ok=True)
        open(flag, "w").close()
    print(f"about to {kind} at seed {seeds.master}", flush=True)
    if kind == "exit":
        os._exit(3)
    if kind == "segfault":
        import ctypes

        ctypes.string_at(0)
    if kind == "sigkill":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "hang":
        import time

        time.sleep(600)
    if kind == "memory_error":
        return {"score": float(len(bytearray(1 << 62)))}
    if kind == "grows":
        import time

        held = []
        for _ in range(384):
            held.append(bytearray(8 << 20))  # zeroed: resident
            time.sleep(0.005)
    raise ValueError(f"unknown fault {kind!r}; one of {', '.join(CRASHES)}")
