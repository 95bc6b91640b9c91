"""Start once: the ``PYTHONHASHSEED=0`` re-exec, done before a script's own imports.

``hash()`` of a str is salted per process unless ``PYTHONHASHSEED`` was set before
the interpreter started, so a seedexp run restarts its process under
``PYTHONHASHSEED=0``. Done when ``@seedexp.main`` is called, the restart repeats
every import the script made at its top (Lightning: seconds). So the restart
happens at ``import seedexp`` instead, when the script being run (``__main__``)
decorates a task with ``seedexp.main``: put ``import seedexp`` before the heavy
imports and they happen once. This module imports only ``os``, ``re`` and ``sys``.
"""

from __future__ import annotations

import os
import re
import sys

#: The ``PYTHONHASHSEED`` every seedexp process runs experiments under (a constant: one
#: process runs many seeds).
HASH_SEED = "0"

#: ``@seedexp.main(`` or ``from seedexp import ... main`` in a script's source.
_USES_MAIN = re.compile(r"@\s*seedexp\s*\.\s*main\b|^\s*from\s+seedexp\s+import\s+[^\n]*\bmain\b", re.M)


def hash_seed_fixed() -> bool:
    """This process already runs under ``PYTHONHASHSEED=0``, or the user opted out (``SEEDEXP_NO_REEXEC=1``)."""
    return os.environ.get("PYTHONHASHSEED") == HASH_SEED or os.environ.get("SEEDEXP_NO_REEXEC") == "1"


def reexec() -> None:
    """Re-execute this program under ``PYTHONHASHSEED=0`` unless it already runs so (or cannot be restarted).

    The process restarts itself with the same arguments (``sys.orig_argv``); set
    ``SEEDEXP_NO_REEXEC=1`` to opt out (the record then states the salt in force).
    """
    if hash_seed_fixed():
        return
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable, *sys.argv])
    if not argv or "-c" in argv[1:2]:
        return  # `python -c CODE` cannot be restarted faithfully: keep running, the record says so
    env = dict(os.environ, PYTHONHASHSEED=HASH_SEED, SEEDEXP_ORIGINAL_HASHSEED=os.environ.get("PYTHONHASHSEED", ""))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *argv[1:]], env)


def main_uses_seedexp_main() -> bool:
    """Does the script being run (``__main__``'s file) decorate a task with ``seedexp.main``?"""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not str(path).endswith(".py"):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(1_000_000)
    except OSError:
        return False
    return _USES_MAIN.search(text) is not None


def at_import() -> None:
    """Called by ``import seedexp``: restart now if the script will run an ``@seedexp.main`` task."""
    if not hash_seed_fixed() and main_uses_seedexp_main():
        reexec()
