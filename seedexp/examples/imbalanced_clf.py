"""Imbalanced binary classification: every random choice from one master seed.

Data: ``make_classification`` with a 9:1 class ratio, generated from the fixed
``data_seed`` (the dataset is the same for every master seed, as in a
benchmark; the randomness under study is the pipeline's).

Streams used: ``split`` (stratified train/test split), ``cv``
(``StratifiedKFold(shuffle=True)``), ``resample`` (imbalanced-learn sampler,
inside each fold via its Pipeline), ``model`` (the estimator's random_state).
"""

from __future__ import annotations

from typing import Any

from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from imblearn.pipeline import Pipeline

from seedexp import SeedPlan
from seedexp.sklearn import inject_random_state, kfold, resampler, train_test_split

MODELS = {
    "rf": lambda n: RandomForestClassifier(n_estimators=n),
    "et": lambda n: ExtraTreesClassifier(n_estimators=n),
    "hgb": lambda n: HistGradientBoostingClassifier(max_iter=n),
    "lr": lambda n: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
}


def run(
    seeds: SeedPlan,
    model: str = "rf",
    n_estimators: int = 50,
    resample: str = "random_over",
    n_samples: int = 1200,
    n_features: int = 20,
    minority: float = 0.1,
    test_size: float = 0.25,
    n_splits: int = 5,
    data_seed: int = 0,
) -> dict[str, Any]:
    """Train and evaluate one imbalanced classifier; return its metrics."""
    if model not in MODELS:
        raise ValueError(f"model={model!r} is unknown; choose one of {sorted(MODELS)}")
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=6, n_redundant=4,
        weights=[1.0 - minority], flip_y=0.03, class_sep=0.8, random_state=data_seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, seeds=seeds, test_size=test_size, stratify=y
    )
    estimator = inject_random_state(MODELS[model](n_estimators), seeds, stream="model")
    pipe = Pipeline([("resample", resampler(seeds, resample)), ("model", estimator)])
    cv_scores = cross_val_score(pipe, X_train, y_train, cv=kfold(seeds, n_splits), scoring="balanced_accuracy")
    pipe.fit(X_train, y_train)
    proba = pipe.predict_proba(X_test)[:, 1]
    pred = pipe.predict(X_test)
    return {
        "cv_balanced_accuracy": float(cv_scores.mean()),
        "test_balanced_accuracy": float(balanced_accuracy_score(y_test, pred)),
        "test_f1": float(f1_score(y_test, pred)),
        "test_roc_auc": float(roc_auc_score(y_test, proba)),
    }
