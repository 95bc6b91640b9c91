"""Experiments with planted behaviour, for the tests (importable via PYTHONPATH=tests)."""

from __future__ import annotations

import os
import random
import time

import numpy as np


def hash_order(seeds):
    """Depends on str hashing (set iteration order) and on the global RNGs."""
    words = {f"w{i}" for i in range(50)}
    order = [int(w[1:]) for w in words]  # set order follows hash(str)
    weights = np.arange(50)[order]
    return {
        "hash_dependent": float(np.dot(weights, np.linspace(0, 1, 50))),
        "py_random": random.random(),
        "np_global": float(np.random.rand()),
        "split_seed": float(seeds.seed("split")),
    }


def fails_on(seeds, bad_seed: int = 3):
    """Raises for one master seed; otherwise returns a value of the seed."""
    if seeds.master == bad_seed:
        raise RuntimeError(f"planted failure for seed {bad_seed}")
    return {"score": float(seeds.generator("model").normal())}


def init_only(seeds, noise: float = 0.0):
    """A metric driven by the init stream alone (plus others touched but unused)."""
    for stream in ("split", "cv", "shuffle", "dropout"):
        seeds.seed(stream)
    value = seeds.generator("init").normal()
    return {"score": float(value)}


def returns_list(seeds):
    return [1.0, 2.0]


def returns_text_metric(seeds):
    return {"acc": "high"}


def unseeded(seeds):
    """A planted unseeded source: OS entropy and the clock."""
    return {"score": float(int.from_bytes(os.urandom(4), "little")) + time.time() % 1.0}


def slow(seeds, seconds: float = 0.2):
    """A run that takes a while (to kill a sweep in the middle)."""
    time.sleep(seconds)
    return {"score": float(seeds.seed("model") % 1000)}


def yaml_objects(seeds, estimator, cv, sampler, stack=None):
    """Reports the random_states of objects the YAML declared (injected by the app)."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import cross_val_score

    from imblearn.pipeline import make_pipeline

    X, y = make_classification(n_samples=150, weights=[0.8], random_state=0)
    score = cross_val_score(make_pipeline(sampler, estimator), X, y, cv=cv).mean()
    return {
        "estimator_rs": float(estimator.random_state),
        "cv_rs": float(cv.random_state),
        "sampler_rs": float(sampler.random_state),
        "stack_final_rs": float(stack.final_estimator.random_state) if stack is not None else -1.0,
        "score": float(score),
    }
