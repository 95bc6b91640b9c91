"""Python's ``random`` module and string hashing (``PYTHONHASHSEED``)."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

from ..seeds import SeedPlan

#: The ``PYTHONHASHSEED`` every seedexp process runs experiments under. A
#: constant, not derived from the master seed: one process runs many seeds.
HASH_SEED = "0"


def seed_global(plan: SeedPlan) -> dict[str, Any]:
    """Reseed ``random`` from the ``python`` stream; report the hashing state."""
    random.seed(plan.seed("python"))
    return {"python_random": True, **hash_state()}


def hash_state() -> dict[str, Any]:
    """What string hashing looks like in this process (for the run record)."""
    return {
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
        "hash_randomization": bool(sys.flags.hash_randomization),
    }


def hashing_is_fixed() -> bool:
    """True when ``str`` hashes in this process are those of ``PYTHONHASHSEED=0``."""
    return os.environ.get("PYTHONHASHSEED") == HASH_SEED and not sys.flags.hash_randomization
