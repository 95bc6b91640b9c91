"""seedexp: one master seed, a named child seed for every source of randomness.

Public API (everything in ``__all__``; the rest is private):

* :class:`SeedPlan`, :data:`STREAMS`: seed derivation (:mod:`seedexp.seeds`).
* :func:`seed_everything`: seed ``random``, NumPy, torch and TensorFlow/Keras in one call.
* :func:`run`, :func:`sweep`, :func:`summarize`, :class:`Summary`: the Python front-end
  (notebooks, scripts), the same core as the ``seedexp`` command.
* :func:`tune`, :class:`TuneResult`: hyper-parameter search on common seeds, finalists
  re-checked on fresh seeds (:mod:`seedexp.tuning`; needs Optuna).
* :func:`main`, :func:`current_seeds`: seedexp in your own Hydra app.
* :func:`log`: per-step values (learning curves) of the run in progress (:mod:`seedexp.series`).
* The errors of :mod:`seedexp.errors`.

Submodules: ``seedexp.sklearn`` (random_state injection), ``seedexp.frameworks.torch``,
``seedexp.frameworks.keras``, ``seedexp.frameworks.jax`` (JAX keys, Flax NNX ``Rngs``). Importing seedexp imports numpy and nothing heavier:
the rest is imported when first used.
"""

from __future__ import annotations

import logging
from typing import Any

from . import _start

_start.at_import()  # a script with @seedexp.main restarts under PYTHONHASHSEED=0 now, before its heavy imports

from .errors import (ConfigError, ExperimentError, InjectionError, RecordError, ReseedError, SeedError, SeedexpError,
                     SeedexpWarning)
from .seeds import STREAMS, SeedPlan

__version__ = "0.2.0"

# A library says nothing unless its user asks (seedexp.console: the command line asks).
logging.getLogger("seedexp").addHandler(logging.NullHandler())

__all__ = [
    "SeedPlan",
    "STREAMS",
    "seed_everything",
    "run",
    "sweep",
    "summarize",
    "Summary",
    "tune",
    "TuneResult",
    "main",
    "current_seeds",
    "log",
    "SeedexpError",
    "SeedError",
    "ConfigError",
    "ExperimentError",
    "InjectionError",
    "ReseedError",
    "RecordError",
    "SeedexpWarning",
    "__version__",
]

_LAZY = {
    "seed_everything": ("seedexp.frameworks", "seed_everything"),
    "run": ("seedexp.api", "run"),
    "sweep": ("seedexp.api", "sweep"),
    "summarize": ("seedexp.api", "summarize"),
    "Summary": ("seedexp.api", "Summary"),
    "tune": ("seedexp.tuning", "tune"),
    "TuneResult": ("seedexp.tuning", "TuneResult"),
    "main": ("seedexp.hydra", "main"),
    "current_seeds": ("seedexp.core", "current_seeds"),
    "log": ("seedexp.series", "log"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seedexp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
