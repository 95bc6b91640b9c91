"""A planted experiment for adaptive sweeps (``seed=auto``): a metric of known mean and sd.

Importable via PYTHONPATH=tests, like :mod:`planted`.
"""

from __future__ import annotations


def noisy_score(seeds, mean: float = 0.0, sd: float = 1.0, own_sd: float = 0.0):
    """``score = mean + sd * z + own_sd * e``.

    ``z`` comes from the ``model`` stream, so every configuration shares it at
    one seed (paired comparisons see only ``own_sd``); ``e`` from a stream named
    after ``mean``, so configurations with different means get their own noise.
    """
    z = seeds.generator("model").standard_normal()
    e = seeds.generator(f"noise_{mean:g}").standard_normal()
    return {"score": float(mean + sd * z + own_sd * e), "n_params": 100.0}
