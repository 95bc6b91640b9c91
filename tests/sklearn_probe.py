"""Fit every scikit-learn estimator (and imbalanced-learn sampler) that takes a
random_state, after inject_random_state, and print a JSON hash of its outputs.

    python tests/sklearn_probe.py MASTER_SEED [--fixed-state N] [--advance K] [--no-search] [--fit-only]

Each estimator is fitted along every path it offers (``fit`` then
predict/transform, ``fit_transform``, ``fit_predict``, ``fit_resample``), each
time on a clone, after the global RNGs (``random``, ``np.random``) were reseeded
from ``K`` and the path: an estimator that draws from global state gives another
hash for another ``K``. Then searches whose grids list estimators, with
``n_jobs=2`` (joblib workers whose global state nobody resets) and ``n_jobs=1``.

Run in separate processes by tests/test_sklearn.py: same master -> same hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import random
import sys
import warnings

import numpy as np

#: Estimators that take random_state and build with defaults, but are left out, and why.
EXCLUDED = {
    "PatchExtractor": "works on 3-D image batches, not on a 2-D feature matrix",
}

#: Estimators whose defaults cannot fit an 80 x 6 dataset: the one parameter changed, and why.
PARAMS = {
    # n_components='auto' asks for the Johnson-Lindenstrauss bound: 3756 dims for 80 samples
    "GaussianRandomProjection": {"n_components": 3},
    "SparseRandomProjection": {"n_components": 3},
    # speed only: the default 1000 iterations take seconds (the probe fits it twice)
    "TSNE": {"perplexity": 5.0, "max_iter": 250},
    # the default KMeans finds no cluster with enough minority samples on 80 samples
    "imblearn.KMeansSMOTE": {"cluster_balance_threshold": 0.0, "k_neighbors": 2},
}


def _data():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=80, n_features=6, n_informative=4, n_redundant=0, n_classes=2,
                               weights=[0.7], random_state=0)
    X = np.abs(X) + 0.01  # non-negative: NMF, chi2, MultinomialNB, ...
    y_reg = X @ np.arange(1, 7) + np.sin(X[:, 0])
    return X, y, y_reg


def candidates():
    from sklearn.utils import all_estimators

    out = {}
    for name, cls in all_estimators():
        if "random_state" not in inspect.signature(cls).parameters:
            continue
        out[name] = cls
    import imblearn.combine
    import imblearn.over_sampling
    import imblearn.under_sampling

    for module in (imblearn.over_sampling, imblearn.under_sampling, imblearn.combine):
        for name in module.__all__:
            cls = getattr(module, name)
            if inspect.isclass(cls) and "random_state" in inspect.signature(cls).parameters:
                out[f"imblearn.{name}"] = cls
    return out


def build(name, cls):
    required = [p for p in inspect.signature(cls).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if required:
        return None, f"requires {[p.name for p in required]}"
    return cls(**PARAMS.get(name, {})), None


def _dense(out):
    return np.asarray(out.toarray() if hasattr(out, "toarray") else out, float)


def _advance_globals(advance, path):
    """Put the global RNGs somewhere that depends on this process's ``--advance`` and the path."""
    k = advance * 1000 + sum(path.encode())
    random.seed(k)
    np.random.seed(k)


def _fit_then_predict(est, X, target):
    est.fit(X, target)
    for method in ("predict_proba", "predict", "transform"):
        if hasattr(est, method):
            try:
                return _dense(getattr(est, method)(X))
            except (AttributeError, NotImplementedError):  # e.g. predict_proba off for this config
                continue
    for attr in ("embedding_", "row_labels_", "labels_", "covariance_"):
        if hasattr(est, attr):
            return _dense(getattr(est, attr))
    raise RuntimeError("no output method")


def outputs(est, X, y, y_reg, advance, fit_only=False):
    """``{path: output array}`` for every way the estimator can be fitted; raises if ``fit`` fails."""
    from sklearn.base import clone, is_classifier, is_regressor

    target = y_reg if is_regressor(est) else y
    if type(est).__name__.startswith("MultiTask"):
        target = np.column_stack([y_reg, y_reg[::-1]])
    if hasattr(est, "fit_resample"):
        _advance_globals(advance, "fit_resample")
        Xr, yr = clone(est).fit_resample(X, y)
        return {"fit_resample": np.concatenate([np.asarray(Xr, float).ravel(), np.asarray(yr, float)])}, {}
    out, errors = {}, {}
    _advance_globals(advance, "fit")
    out["fit"] = _fit_then_predict(clone(est), X, target)
    for path in () if fit_only else ("fit_transform", "fit_predict"):
        if hasattr(est, path):
            _advance_globals(advance, path)
            try:
                out[path] = _dense(getattr(clone(est), path)(X, target))
            except Exception as exc:  # noqa: BLE001 - reported, so the test can tell
                errors[path] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return out, errors


def searches(master, advance):
    """Searches whose grids list estimators, n_jobs=2 and n_jobs=1: hashes of their scores and predictions."""
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import TargetEncoder

    from seedexp import SeedPlan
    from seedexp.sklearn import inject_random_state

    data = np.random.default_rng(1)
    X = np.column_stack([data.integers(0, 6, 150), data.normal(size=(150, 3))])
    y = ((X[:, 0] % 2) + (X[:, 1] > 0) + data.normal(scale=0.5, size=150) > 1).astype(int)

    def grid(kind, n_jobs):
        pipe = Pipeline([("enc", TargetEncoder()), ("clf", RandomForestClassifier())])
        candidates = {"clf": [RandomForestClassifier(n_estimators=8), ExtraTreesClassifier(n_estimators=8),
                              HistGradientBoostingClassifier(max_iter=10)]}
        if kind == "grid":
            search = GridSearchCV(pipe, candidates, cv=KFold(3, shuffle=True), n_jobs=n_jobs)
        else:
            search = RandomizedSearchCV(pipe, {**candidates, "enc__smooth": [1.0, 5.0, 20.0]}, n_iter=4,
                                        cv=KFold(3, shuffle=True), n_jobs=n_jobs)
        inject_random_state(search, SeedPlan(master))
        _advance_globals(advance, f"{kind}{n_jobs}")
        search.fit(X, y)
        scores = np.asarray(search.cv_results_["mean_test_score"], float)
        return np.concatenate([scores, search.predict_proba(X).ravel()])

    return {f"search.{kind}.n_jobs={n}": {"hash": hashlib.sha256(grid(kind, n).tobytes()).hexdigest(), "none_left": []}
            for kind in ("grid", "randomized") for n in (2, 1)}


def nested_none(est):
    if not hasattr(est, "get_params"):
        return []
    return [k for k, v in est.get_params(deep=True).items()
            if (k == "random_state" or k.endswith("__random_state")) and v is None]


def main(argv):
    from seedexp import SeedPlan
    from seedexp.sklearn import inject_random_state

    parser = argparse.ArgumentParser()
    parser.add_argument("master", type=int)
    parser.add_argument("--fixed-state", type=int)
    parser.add_argument("--advance", type=int, default=0)
    parser.add_argument("--no-search", action="store_true", help="skip the n_jobs=2 searches")
    parser.add_argument("--fit-only", action="store_true", help="only the fit path (faster)")
    args = parser.parse_args(argv)
    X, y, y_reg = _data()
    result = {}
    warnings.simplefilter("ignore")
    for name, cls in sorted(candidates().items()):
        if name in EXCLUDED:
            result[name] = {"excluded": EXCLUDED[name]}
            continue
        est, why = build(name, cls)
        if est is None:
            result[name] = {"unbuildable": why}
            continue
        if args.fixed_state is not None:
            est.set_params(random_state=args.fixed_state)
        inject_random_state(est, SeedPlan(args.master))
        try:
            out, errors = outputs(est, X, y, y_reg, args.advance, args.fit_only)
        except Exception as exc:
            result[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            continue
        digest = hashlib.sha256()
        for path in sorted(out):
            digest.update(path.encode())
            digest.update(np.ascontiguousarray(out[path]).tobytes())
        result[name] = {"hash": digest.hexdigest(), "paths": sorted(out), "path_errors": errors,
                        "none_left": nested_none(est)}
    if not args.no_search:
        result.update(searches(args.master, args.advance))
    json.dump(result, sys.stdout, indent=0, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
