"""Which code an experiment is: its module's source hash and the git state of its work tree.

A record names the code that made it (``code`` in ``result.json``), and resume
redoes a run whose record names other code (:func:`seedexp.core.completed_record`).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
from typing import Any

__all__ = ["code_identity"]

_GIT_CACHE: dict[str, dict[str, Any]] = {}


def code_identity(obj: Any) -> dict[str, Any]:
    """Identify the code of an experiment: its module's source hash, and git state.

    Parameters
    ----------
    obj : callable or module
        The experiment function (or its module).

    Returns
    -------
    dict
        ``{"module": name, "source_sha256": hex or None, "git_commit": sha or None,
        "git_dirty": bool or None}``. Resume redoes a run whose record has another
        ``source_sha256``: a record of other code is never reused silently.
    """
    target = inspect.unwrap(obj) if callable(obj) else obj
    module = inspect.getmodule(target)
    out: dict[str, Any] = {"module": getattr(module, "__name__", None), "source_sha256": None,
                           "git_commit": None, "git_dirty": None}
    try:
        path = inspect.getsourcefile(module) if module is not None else None
    except TypeError:
        path = None
    if not path or not os.path.isfile(path):
        return out
    with open(path, "rb") as handle:
        out["source_sha256"] = hashlib.sha256(handle.read()).hexdigest()
    out.update(_git_state(os.path.dirname(os.path.abspath(path))))
    return out


def _git_state(directory: str) -> dict[str, Any]:
    """Commit and dirty flag of the git work tree holding ``directory`` (cached per process)."""
    if directory in _GIT_CACHE:
        return _GIT_CACHE[directory]
    state: dict[str, Any] = {"git_commit": None, "git_dirty": None}
    pipes = subprocess.PIPE, subprocess.DEVNULL
    try:  # both at once: a run's start-up waits for one git, not two
        with subprocess.Popen(["git", "-C", directory, "rev-parse", "HEAD"], stdout=pipes[0], stderr=pipes[1],
                              text=True) as commit, \
             subprocess.Popen(["git", "-C", directory, "status", "--porcelain", "--untracked-files=no"],
                              stdout=pipes[0], stderr=pipes[1], text=True) as dirty:
            try:
                head, _ = commit.communicate(timeout=10)
                changes, _ = dirty.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                commit.kill()
                dirty.kill()
                raise
        if commit.returncode == 0 and dirty.returncode == 0:
            state = {"git_commit": head.strip(), "git_dirty": bool(changes.strip())}
    except (OSError, subprocess.SubprocessError):
        pass
    _GIT_CACHE[directory] = state
    return state
