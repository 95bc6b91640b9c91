"""The small exception hierarchy of seedexp.

Every error seedexp raises on purpose derives from :class:`SeedexpError` and from
the matching builtin, so ``except ValueError`` keeps working for callers who do
not know seedexp. The command line turns any :class:`SeedexpError` into one line
on stderr and a non-zero exit (the traceback is shown only with
``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

__all__ = [
    "SeedexpError",
    "SeedError",
    "ConfigError",
    "ExperimentError",
    "RecordError",
    "InjectionError",
    "ReseedError",
    "SweepError",
    "SeedexpWarning",
]


class SeedexpError(Exception):
    """Base class of every error seedexp raises on purpose."""


class SeedError(SeedexpError, ValueError):
    """A seed, pin or ``random_state`` that cannot be used."""


class ConfigError(SeedexpError, ValueError):
    """A configuration that cannot be run (unknown experiment, broken ``_target_``...)."""


class ExperimentError(SeedexpError, TypeError):
    """An experiment that broke the contract (returned a non-dict, a non-numeric metric...)."""


class RecordError(SeedexpError, ValueError):
    """A run record or sweep directory that cannot be read."""


class SweepError(SeedexpError, RuntimeError):
    """A sweep ran but did not end with every planned run ok (one failed, crashed, timed out or is missing, or a
    metric was NaN or inf); its summary lists them and a re-run of the same sweep retries only those.

    The ``seedexp`` command exits 1 for it, and 2 for every other :class:`SeedexpError` (what was asked
    cannot run).
    """


class SeedexpWarning(UserWarning):
    """Something seedexp did on your behalf that you may not expect (e.g. kept a seed you set)."""


class InjectionError(SeedexpError, TypeError):
    """An object that cannot take seeds (not an estimator, splitter or sampler)."""


class ReseedError(SeedexpError, RuntimeError):
    """The experiment reseeded a global generator while ``determinism.reseed=error`` forbids it."""
