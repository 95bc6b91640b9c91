"""Experiments written as a notebook user writes them (importable, so n_jobs=2 can pickle them)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import seedexp
from seedexp.sklearn import inject_random_state, train_test_split


def fit_model(seeds, model="rf"):
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, seeds=seeds, stratify=y)
    est = RandomForestClassifier(n_estimators=10) if model == "rf" else LogisticRegression()
    inject_random_state(est, seeds)
    noise = np.random.normal(scale=1e-6)  # legacy global state, reset at every run
    return {"accuracy": float(est.fit(X_tr, y_tr).score(X_te, y_te)) + noise}


def uses_current_seeds(seeds):
    return {"split": float(seedexp.current_seeds().seed("split"))}
