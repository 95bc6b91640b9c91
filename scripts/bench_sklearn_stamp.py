"""A scikit-learn experiment module that reports when its function started (for start-up timing)."""

import time

import sklearn.ensemble  # noqa: F401  - what a scikit-learn experiment module imports
import sklearn.model_selection  # noqa: F401


def stamp(seeds):
    return {"t": time.time()}
