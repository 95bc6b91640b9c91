"""Run ``python -m seedexp`` (or a user's ``@seedexp.main`` script) in a fresh process (verify and variance)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence


def absolute_overrides(args: Sequence[str]) -> list[str]:
    """Make ``--config-dir``/``-cd`` paths absolute: children run in other directories."""
    out, it = [], iter(args)
    for arg in it:
        if arg in ("--config-dir", "-cd"):
            out += [arg, str(Path(next(it, ".")).absolute())]
        elif arg.startswith("--config-dir="):
            out.append("--config-dir=" + str(Path(arg.split("=", 1)[1]).absolute()))
        else:
            out.append(arg)
    return out


def run_seedexp(args: Sequence[str], cwd: Path, *, hash_seed: str | None = None,
                quiet: bool = False) -> subprocess.CompletedProcess:
    """``python -m seedexp ARGS`` in ``cwd``; the caller's cwd stays importable."""
    env = dict(os.environ)
    # absolute: the child runs in another directory (PYTHONPATH=tests must still mean ./tests)
    paths = (os.getcwd(), *env.get("PYTHONPATH", "").split(os.pathsep))
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths if p)
    env.pop("SEEDEXP_NO_REEXEC", None)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run([sys.executable, "-m", "seedexp", *args], cwd=cwd, env=env, text=True,
                          capture_output=quiet)


def run_script(script: Path, args: Sequence[str], cwd: Path, *, hash_seed: str | None = None,
               quiet: bool = False) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS`` (a ``@seedexp.main`` app) in ``cwd``, as the user would start it."""
    env = dict(os.environ)
    env.pop("SEEDEXP_NO_REEXEC", None)
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, text=True, capture_output=quiet)
