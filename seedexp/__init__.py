"""seedexp: one master seed, a named child seed for every source of randomness.

Public API: :class:`SeedPlan` (and :data:`STREAMS`, the canonical stream
names), the errors of :mod:`seedexp.errors`, and the submodules
``seedexp.sklearn`` (random_state injection), ``seedexp.aggregate`` (sweep
statistics), ``seedexp.frameworks.torch`` and ``seedexp.frameworks.keras``.
Importing seedexp imports numpy and nothing heavier.
"""

from .errors import ConfigError, ExperimentError, InjectionError, RecordError, SeedError, SeedexpError, SeedexpWarning
from .seeds import STREAMS, SeedPlan

__version__ = "0.1.0"

__all__ = [
    "SeedPlan",
    "STREAMS",
    "SeedexpError",
    "SeedError",
    "ConfigError",
    "ExperimentError",
    "InjectionError",
    "RecordError",
    "SeedexpWarning",
    "__version__",
]
