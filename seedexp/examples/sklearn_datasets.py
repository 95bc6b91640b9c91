"""A benchmark's experiment: one scikit-learn model on one data set that ships with scikit-learn.

Data sets (bundled with scikit-learn, nothing downloaded): ``iris``, ``wine``,
``breast_cancer``, ``digits``. Models: ``rf`` (random forest), ``et``
(extremely randomised trees), ``lr`` (standardised logistic regression).

Streams used: ``split`` (the stratified train/test split) and ``model`` (the
estimator's ``random_state``): a seed changes which rows are held out and how
the forest and the boosting draw.
"""

from __future__ import annotations

from typing import Any

from seedexp import SeedPlan

DATASETS = ("iris", "wine", "breast_cancer", "digits")
MODELS = ("rf", "et", "lr")


def _model(name: str) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {"rf": lambda: RandomForestClassifier(n_estimators=100),
            "lr": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            "et": lambda: ExtraTreesClassifier(n_estimators=100)}[name]()


def run(seeds: SeedPlan, model: str = "rf", dataset: str = "wine", test_size: float = 0.3) -> dict[str, Any]:
    """Fit ``model`` on a stratified split of ``dataset``; return its test accuracy."""
    from sklearn import datasets
    from sklearn.metrics import accuracy_score

    from seedexp.sklearn import inject_random_state, train_test_split

    if model not in MODELS:
        raise ValueError(f"model={model!r} is unknown; choose one of {', '.join(MODELS)}")
    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r} is unknown; choose one of {', '.join(DATASETS)}")
    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, seeds=seeds, test_size=test_size, stratify=y)
    estimator = inject_random_state(_model(model), seeds, stream="model")
    estimator.fit(X_train, y_train)
    return {"test_accuracy": float(accuracy_score(y_test, estimator.predict(X_test)))}
