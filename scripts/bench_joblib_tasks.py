"""What seeding every joblib task costs (seedexp.frameworks.joblib), measured in one run.

Three figures, each the best of 5 repeats, plain joblib / scikit-learn vs the same after
``seed_everything`` (what a run does):

* the per-task cost of an empty task with ``n_jobs=1`` (the wrapper alone);
* a 200-tree ``RandomForestClassifier`` fitted with ``n_jobs=1`` (200 tasks, trees seeded);
* ``GridSearchCV(RandomForestClassifier(n_estimators=20), n_jobs=2)`` (loky workers,
  estimators without random_state: each task builds its own RandomState).

Run from the repository root: ``.venv/bin/python scripts/bench_joblib_tasks.py``.
"""

from __future__ import annotations

import time

from joblib import Parallel, delayed
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, KFold

from seedexp.frameworks import finish_run, seed_everything


def _nothing(i):
    return i


def best(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    X, y = make_classification(n_samples=500, random_state=0)
    n = 3000
    cases = {
        f"{n} empty tasks, n_jobs=1 (per task)": (
            lambda: Parallel(n_jobs=1)(delayed(_nothing)(i) for i in range(n)), n),
        "RandomForestClassifier(200).fit, n_jobs=1": (
            lambda: RandomForestClassifier(200, random_state=0).fit(X, y), 1),
        "GridSearchCV(RF(20), 2 candidates x 5 folds, n_jobs=2)": (
            lambda: GridSearchCV(RandomForestClassifier(20), {"max_depth": [3, None]}, cv=KFold(shuffle=True),
                                 n_jobs=2).fit(X, y), 1),
    }
    for name, (fn, per) in cases.items():
        fn()  # warm: imports, loky workers
        plain = best(fn) / per
        plan = seed_everything(0)
        try:
            seeded = best(fn) / per
        finally:
            finish_run(plan)
        unit, scale = ("us", 1e6) if per > 1 else ("s", 1.0)
        print(f"{name}: plain {plain * scale:.3g} {unit}, seeded {seeded * scale:.3g} {unit} "
              f"(ratio {seeded / plain:.2f})")


if __name__ == "__main__":
    main()
