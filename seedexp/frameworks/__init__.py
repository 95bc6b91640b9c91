"""Adapters that hand a :class:`~seedexp.SeedPlan`'s streams to each library.

One small module per library. ``pyrandom`` and ``numpy`` are cheap and always
used; ``torch`` and ``keras`` import their library, so :func:`seed_all` only
touches them when the library is already in ``sys.modules`` (an experiment
that uses torch imported it when its module was loaded). A scikit-learn run
therefore never imports torch or TensorFlow.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from ..seeds import SeedPlan

__all__ = ["seed_all", "finish_run"]


def seed_all(plan: SeedPlan, determinism: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Reset every global random state in this process from ``plan``.

    Called at the start of EVERY run, so a job never depends on the jobs that
    ran before it in the same process (Hydra's basic launcher, reused joblib
    workers). Returns what was done, for the run record.
    """
    from . import numpy as np_adapter
    from . import pyrandom

    determinism = dict(determinism or {})
    done: dict[str, Any] = {}
    done.update(pyrandom.seed_global(plan))
    done.update(np_adapter.seed_global(plan))
    if "torch" in sys.modules:
        from . import torch as torch_adapter

        done.update(torch_adapter.seed_global(plan, determinism))
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        from . import keras as keras_adapter

        done.update(keras_adapter.seed_global(plan, determinism))
    return done


def finish_run(plan: SeedPlan) -> dict[str, Any]:
    """Called after the experiment: what was in force, and what seedexp should warn about.

    Returns ``{"determinism": {...device and switch facts of the frameworks the run
    imported...}, "warnings": [str, ...]}``.
    """
    facts: dict[str, Any] = {}
    if "torch" in sys.modules:
        from .torch import device_facts

        facts.update(device_facts())
    if "tensorflow" in sys.modules:
        from .keras import device_facts as tf_facts

        facts.update(tf_facts())
    return {"determinism": facts, "warnings": []}
