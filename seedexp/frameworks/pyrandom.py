"""Python's ``random`` module and string hashing (``PYTHONHASHSEED``)."""

from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Run

#: The ``PYTHONHASHSEED`` every seedexp process runs experiments under. A
#: constant, not derived from the master seed: one process runs many seeds.
from .._start import HASH_SEED  # noqa: F401 - one constant, defined where the restart is


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Reseed ``random`` from the ``python`` stream; report the hashing state."""
    random.seed(run.use("python"))
    run.state["pyrandom"] = random.getstate()
    return {"python_random": True, **hash_state()}


def end(run: "Run") -> dict[str, Any]:
    """Note whether the run drew from ``random`` (then ``python`` is one of its sources)."""
    if random.getstate() != run.state.get("pyrandom"):
        run.global_draws.append("python")
    return {}


def hash_state() -> dict[str, Any]:
    """What string hashing looks like in this process (for the run record)."""
    return {
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
        "hash_randomization": bool(sys.flags.hash_randomization),
    }
