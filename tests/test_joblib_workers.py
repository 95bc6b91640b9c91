"""scikit-learn's own worker processes: plain code with ``n_jobs>1`` and estimators left with
``random_state=None``, run under seedexp, is reproducible; where seedexp cannot reach (direct
``np.random`` draws in threads) the run warns naming the estimator; ``verify`` names workers.

The plain-code case of issue 26 runs in 4 fresh processes, which must print one hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from conftest import ROOT, TESTS

SCRIPT = r"""
import json, sys
import seedexp
from joblib import parallel_config


def grid(seeds, backend=None, n_jobs=2, n_estimators=None):
    # the plain code of the issue: no random_state anywhere, a shuffled KFold, n_jobs=2
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, KFold

    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    forest = RandomForestClassifier() if n_estimators is None else RandomForestClassifier(n_estimators=n_estimators)
    search = GridSearchCV(forest, {"max_depth": [2, None]},
                          cv=KFold(shuffle=True), n_jobs=n_jobs)
    if backend is None:
        search.fit(X, y)
    else:
        with parallel_config(backend=backend, n_jobs=n_jobs):
            search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    return {"best": search.best_score_, "refit": search.score(X, y),
            **{f"cv{i}": float(s) for i, s in enumerate(scores)}}


def others(seeds, n_jobs=2):
    # cross_val_score, and an ensemble fitting its members in workers inside a search's workers
    from sklearn.datasets import make_classification
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    X, y = make_classification(n_samples=80, n_features=6, random_state=1)
    cv = cross_val_score(ExtraTreesClassifier(n_estimators=10), X, y, cv=KFold(4, shuffle=True), n_jobs=n_jobs)
    vote = VotingClassifier([("rf", RandomForestClassifier(n_estimators=5)),
                             ("et", ExtraTreesClassifier(n_estimators=5))],
                            voting="soft", n_jobs=n_jobs)
    nested = GridSearchCV(vote, {"rf__max_depth": [2, 3]}, cv=3, n_jobs=n_jobs).fit(X, y)
    return {**{f"cv{i}": float(s) for i, s in enumerate(cv)}, "nested": nested.best_score_,
            "nested_refit": nested.score(X, y)}


def draws(seeds, n_jobs=2):
    # plain joblib, tasks drawing from random and np.random directly
    import random
    import numpy as np
    from joblib import Parallel, delayed

    def task(i):
        return random.random(), float(np.random.rand())

    before = (random.getstate(), np.random.get_state()[2])
    values = Parallel(n_jobs=n_jobs)(delayed(task)(i) for i in range(4))
    return {"untouched": float((random.getstate(), np.random.get_state()[2]) == before),
            **{f"task{i}_{j}": v for i, pair in enumerate(values) for j, v in enumerate(pair)}}


out = {}
rec = seedexp.run(grid, seed=3)
out["exact"] = rec["metrics"]
out["facts"] = {k: v for k, v in rec["determinism"].items() if k.startswith("joblib")}
out["global_draws"], out["warnings"] = rec["global_draws"], rec.get("warnings", [])
for backend, n_jobs in [("loky", 2), ("threading", 2), ("sequential", 1)]:  # smaller forests from here on
    rec = seedexp.run(grid, seed=3, backend=backend, n_jobs=n_jobs, n_estimators=10)
    out[backend] = rec["metrics"]
    out[f"named.{backend}"] = rec["determinism"]["joblib_random_state_none"], rec["global_draws"]
out["pin.numpy"] = seedexp.run(grid, seed=3, pins={"numpy": 11}, n_estimators=10)["metrics"]
out["seed=4"] = seedexp.run(grid, seed=4, n_estimators=10)["metrics"]
out["others"] = seedexp.run(others, seed=3)["metrics"]
out["others.n_jobs=1"] = seedexp.run(others, seed=3, n_jobs=1)["metrics"]
out["draws"] = seedexp.run(draws, seed=3)["metrics"]
out["draws.pin.numpy"] = seedexp.run(draws, seed=3, pins={"numpy": 11})["metrics"]

from seedexp.frameworks import finish_run, seed_everything
script = []
for _ in range(2):  # a script seeded once at the top, no run
    plan = seed_everything(3)
    script.append(grid(plan, n_estimators=10))
    finish_run(plan)
out["script"] = script
out["modules"] = sorted(m for m in ("jax", "flax", "torch", "tensorflow", "keras", "lightning") if m in sys.modules)
print("@@" + json.dumps(out, sort_keys=True))
"""


def _run_script(hash_seed: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), PYTHONHASHSEED=hash_seed)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("@@")[-1])


@pytest.mark.integration
def test_plain_grid_search_with_workers_is_reproducible_in_four_fresh_processes():
    outs = [_run_script(hs) for hs in ("1", "7920", "15839", "23758")]
    hashes = {hashlib.sha256(json.dumps(o, sort_keys=True).encode()).hexdigest() for o in outs}
    assert len(hashes) == 1, [o["exact"] for o in outs]
    out = outs[0]
    # the same numbers whichever backend ran the tasks: loky processes, threads, or one by one
    assert out["loky"] == out["threading"] == out["sequential"]
    assert out["others"] == out["others.n_jobs=1"]  # nested: workers inside workers
    # the task seeds derive from the `numpy` stream: its pin (or another master seed) moves them
    assert out["pin.numpy"] != out["loky"] and out["seed=4"] != out["loky"]
    # the record says what happened: tasks seeded, the estimators that relied on it, `numpy` drawn
    assert out["facts"]["joblib_tasks"] >= 10 and out["facts"]["joblib_calls"] >= 1
    assert out["facts"]["joblib_random_state_none"] == ["RandomForestClassifier"]
    assert "numpy" in out["global_draws"] and out["warnings"] == []
    for backend in ("loky", "threading", "sequential"):
        named, drawn = out[f"named.{backend}"]
        assert named == ["RandomForestClassifier"] and "numpy" in drawn, backend
    # tasks alone in worker processes own random / np.random: one seed each, from `numpy`; the run's
    # own global states are not touched
    draws, pinned = out["draws"], out["draws.pin.numpy"]
    assert draws["untouched"] == 1.0 and len({v for k, v in draws.items() if k.startswith("task")}) == 8
    assert all(pinned[k] != draws[k] for k in draws if k.startswith("task"))
    # seed_everything at the top of a script does the same
    assert out["script"][0] == out["script"][1]
    # a scikit-learn experiment imports no deep-learning framework
    assert out["modules"] == []


class _NoisyClassifier(BaseEstimator, ClassifierMixin):
    """An estimator that draws from NumPy's global state directly (no random_state)."""

    def __init__(self, c=1.0):
        self.c = c

    def fit(self, X, y):
        self.noise_ = np.random.rand()
        self.classes_ = np.unique(y)
        return self

    def score(self, X, y, sample_weight=None):
        return self.noise_


def _noisy_search(seeds, backend):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    search = GridSearchCV(_NoisyClassifier(), {"c": [1.0, 2.0]}, cv=2, n_jobs=2)
    with parallel_config(backend=backend, n_jobs=2):
        search.fit(X, y)
    return {"best": search.best_score_}


@pytest.mark.fast
def test_direct_global_draws_in_threads_are_warned_naming_the_estimator():
    import seedexp

    with pytest.warns(UserWarning):
        threads = seedexp.run(_noisy_search, seed=0, backend="threading")
    (message,) = threads["warnings"]
    assert "_NoisyClassifier" in message and "threads" in message and "np.random" in message
    assert "inject_random_state" in message
    # one by one, the same code owns the global state for each task: reproducible, no warning
    one = seedexp.run(_noisy_search, seed=0, backend="sequential")
    assert one.get("warnings", []) == [] and one["metrics"] == seedexp.run(_noisy_search, seed=0,
                                                                            backend="sequential")["metrics"]


@pytest.mark.fast
def test_unseeded_estimator_in_threads_gets_the_task_seed_not_the_shared_state():
    """check_random_state(None) inside a thread task returns the task's own RandomState, and only there."""
    from joblib import Parallel, delayed, parallel_config
    from sklearn.utils import check_random_state

    from seedexp.frameworks import finish_run, seed_everything

    def draw(_):
        return check_random_state(None).randint(2**31)

    results = {}
    for backend, n_jobs in [("threading", 2), ("sequential", 1)]:
        plan = seed_everything(0)  # the first parallel call of each: the same task seeds
        try:
            with parallel_config(backend=backend, n_jobs=n_jobs):
                results[backend] = Parallel()(delayed(draw)(i) for i in range(6))
            assert check_random_state(None) is np.random.mtrand._rand  # outside a task: scikit-learn's own answer
        finally:
            finish_run(plan)
    assert results["threading"] == results["sequential"] and len(set(results["threading"])) == 6


@pytest.mark.fast
def test_verify_lists_worker_processes_and_jax_gpus_among_the_causes():
    from seedexp.verify import likely_causes

    record = {"determinism": {"joblib_tasks": 12, "joblib_calls": 1,
                              "joblib_random_state_none": ["RandomForestClassifier"]},
              "warnings": []}
    causes = likely_causes(record)
    assert any("worker processes" in c and "RandomForestClassifier" in c and "12 task" in c for c in causes)
    plain = likely_causes({"determinism": {}})
    assert any("multiprocessing.Pool" in c for c in plain) and not any("joblib" in c for c in plain)
    gpu = likely_causes({"determinism": {"jax_backend": "gpu", "XLA_FLAGS": None}})
    assert any("JAX runs on gpu" in c and "determinism.strict=true" in c for c in gpu)
    assert not any("JAX" in c for c in likely_causes({"determinism": {"jax_backend": "cpu"}}))


@pytest.mark.integration
def test_a_search_inside_a_sweep_worker_gives_the_scores_of_a_direct_run(tmp_path):
    """seedexp.sweep(n_jobs=2) runs each seed in a worker process, where the search's own n_jobs=2
    tasks run in threads: the same scores as the same seed run directly."""
    import joblib_experiments

    import seedexp

    direct = {seed: seedexp.run(joblib_experiments.plain_grid_search, seed=seed)["metrics"] for seed in (3, 4)}
    seedexp.sweep(joblib_experiments.plain_grid_search, seeds=[3, 4], n_jobs=2, out=tmp_path, progress=False)
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.rglob("result.json"))]
    assert {r["seed"]: r["metrics"] for r in records} == direct
    assert all(r["determinism"]["joblib_random_state_none"] == ["RandomForestClassifier"] for r in records)
