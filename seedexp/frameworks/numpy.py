"""NumPy: the legacy global state that user code may still call (``np.random.*``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..seeds import SeedPlan


def seed_global(plan: SeedPlan) -> dict[str, Any]:
    """Reseed NumPy's legacy global ``RandomState`` from the ``numpy`` stream.

    New code should take ``plan.generator(name)`` instead; this is for the code
    that does not.
    """
    np.random.seed(plan.seed("numpy"))
    return {"numpy_global": True}
