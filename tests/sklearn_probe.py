"""Fit every scikit-learn estimator (and imbalanced-learn sampler) that takes a
random_state, after inject_random_state, and print a JSON hash of its output.

    python tests/sklearn_probe.py MASTER_SEED [--fixed-state N]

Run in separate processes by tests/test_sklearn.py: same master -> same hashes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
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


def output(est, X, y, y_reg):
    from sklearn.base import is_classifier, is_regressor

    target = y_reg if is_regressor(est) else y
    if type(est).__name__.startswith("MultiTask"):
        target = np.column_stack([y_reg, y_reg[::-1]])
    if hasattr(est, "fit_resample"):
        Xr, yr = est.fit_resample(X, y)
        return np.concatenate([np.asarray(Xr, float).ravel(), np.asarray(yr, float)])
    if hasattr(est, "fit_predict") and not (is_classifier(est) or is_regressor(est)):
        return np.asarray(est.fit_predict(X), float)
    est.fit(X, target)
    for method in ("predict_proba", "predict", "transform"):
        if hasattr(est, method):
            try:
                return _dense(getattr(est, method)(X))
            except (AttributeError, NotImplementedError):  # e.g. predict_proba off for this config
                continue
    for attr in ("embedding_", "row_labels_", "covariance_"):
        if hasattr(est, attr):
            return _dense(getattr(est, attr))
    raise RuntimeError("no output method")


def nested_none(est):
    if not hasattr(est, "get_params"):
        return []
    return [k for k, v in est.get_params(deep=True).items()
            if (k == "random_state" or k.endswith("__random_state")) and v is None]


def main(argv):
    from seedexp import SeedPlan
    from seedexp.sklearn import inject_random_state

    master = int(argv[0])
    fixed = int(argv[2]) if len(argv) > 2 and argv[1] == "--fixed-state" else None
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
        if fixed is not None:
            est.set_params(random_state=fixed)
            inject_random_state(est, SeedPlan(master), overwrite=False)
        else:
            inject_random_state(est, SeedPlan(master))
        try:
            out = output(est, X, y, y_reg)
        except Exception as exc:
            result[name] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            continue
        result[name] = {"hash": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest(),
                        "none_left": nested_none(est)}
    json.dump(result, sys.stdout, indent=0, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
