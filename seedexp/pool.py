"""Warm worker processes for a sweep's runs: batches of runs on loky workers, every worker under PYTHONHASHSEED=0.

The Python sweep (:func:`seedexp.sweep` with ``n_jobs > 1``) and the Hydra
sweep's fast path under the joblib launcher (:mod:`seedexp.hydra.fast`) both
cut their jobs into chunks (:func:`chunks`: a few per worker, so warm workers
take several runs per round trip) and collect them with :func:`gather`, which
leaves no worker running when it returns, whatever happened: the summary is
then written from records that no longer change.
"""

from __future__ import annotations

import concurrent.futures
import math
from typing import Any, Callable, Sequence

__all__ = ["chunks", "executor", "gather"]


def chunks(jobs: Sequence[Any], n_workers: int) -> list[list[Any]]:
    """``jobs`` in chunks of 1 to 32: about four chunks per worker, so the load evens out."""
    size = max(1, min(32, math.ceil(len(jobs) / (n_workers * 4))))
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def executor(n_workers: int) -> Any:
    """joblib's reusable loky executor with ``n_workers`` workers, each started under ``PYTHONHASHSEED=0``."""
    from joblib.externals.loky import get_reusable_executor

    from .frameworks.pyrandom import HASH_SEED

    return get_reusable_executor(max_workers=n_workers, env={"PYTHONHASHSEED": HASH_SEED})


def gather(pool: Any, futures: Sequence[Any], done: Callable[[Any, Any], None] | None = None,
           ordered: bool = True) -> list[Any]:
    """The results of ``futures`` (in submission order, or as they complete), ``done(future, result)`` on each.

    A worker that died (or Ctrl-C) raises here, after the chunks not started are
    cancelled, the running ones have finished, and, when a worker died, the
    pool's other workers are stopped and gone: nothing writes a record after
    this returns or raises.
    """
    results = []
    try:
        for future in futures if ordered else concurrent.futures.as_completed(futures):
            result = future.result()
            if done is not None:
                done(future, result)
            results.append(result)
    except BaseException:
        for future in futures:
            future.cancel()
        concurrent.futures.wait(futures)  # the chunks already running finish (or die with the pool)
        pool.shutdown(wait=True, kill_workers=True)  # a broken pool's workers are gone before the summary is written
        raise
    return results
