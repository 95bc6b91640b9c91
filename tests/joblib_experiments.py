"""Plain scikit-learn code with n_jobs=2 and no random_state (importable, so seedexp.sweep can pickle it)."""

from __future__ import annotations


def plain_grid_search(seeds, n_estimators: int = 10):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV, KFold

    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    search = GridSearchCV(RandomForestClassifier(n_estimators=n_estimators), {"max_depth": [2, None]},
                          cv=KFold(shuffle=True), n_jobs=2).fit(X, y)
    return {"best": search.best_score_, "refit": search.score(X, y),
            **{f"cv{i}": float(s) for i, s in enumerate(search.cv_results_["mean_test_score"])}}
