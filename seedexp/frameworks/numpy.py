"""NumPy: the legacy global state that user code may still call (``np.random.*``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from . import Run


def _position() -> tuple[Any, ...]:
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return kind, key.tobytes(), pos, has_gauss, gauss


def begin(run: "Run", fresh: bool) -> dict[str, Any]:
    """Reseed NumPy's legacy global ``RandomState`` from the ``numpy`` stream.

    New code should take ``plan.generator(name)`` instead; this is for the code
    that does not (and for scikit-learn objects left with ``random_state=None``).
    """
    np.random.seed(run.use("numpy"))
    run.state["numpy"] = _position()
    return {"numpy_global": True}


def end(run: "Run") -> dict[str, Any]:
    """Note whether the run drew from ``np.random`` (then ``numpy`` is one of its sources)."""
    if _position() != run.state.get("numpy"):
        run.global_draws.append("numpy")
    return {}
