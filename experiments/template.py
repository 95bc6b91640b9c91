"""A template experiment: copy, rename, fill in. See README.md beside this file."""

from __future__ import annotations

from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

from seedexp import SeedPlan
from seedexp.sklearn import kfold, train_test_split


def run(seeds: SeedPlan, alpha: float = 1.0, n_splits: int = 5) -> dict:
    """Ridge regression on scikit-learn's diabetes data: CV and test R^2."""
    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seeds=seeds, test_size=0.25)   # `split` stream
    model = Ridge(alpha=alpha)
    cv = cross_val_score(model, X_tr, y_tr, cv=kfold(seeds, n_splits, stratified=False))  # `cv` stream
    return {"cv_r2": float(cv.mean()), "test_r2": float(model.fit(X_tr, y_tr).score(X_te, y_te))}
