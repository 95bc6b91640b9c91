"""A user's own Hydra app, as it was before seedexp, plus the two lines that bring seedexp in.

Line 1: `- seedexp` in conf/config.yaml's defaults list. Line 2: `@seedexp.main(...)` instead
of `@hydra.main(...)`. Everything else is the user's: config groups model/ and data/.
"""

import random

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import seedexp


def build_model(cfg):
    if cfg.model.name == "rf":
        return RandomForestClassifier(n_estimators=cfg.model.n_estimators)  # no random_state: seeded below
    return LogisticRegression(C=cfg.model.C, max_iter=500)


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg, seeds):
    if cfg.fail_seed is not None and seeds.master == cfg.fail_seed:
        raise RuntimeError(f"planted failure at seed {cfg.fail_seed}")
    X, y = make_classification(n_samples=cfg.data.n_samples, n_features=10, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seeds.seed("split"))
    model = build_model(cfg)
    if hasattr(model, "random_state"):
        model.set_params(random_state=seeds.seed("model"))
    noise = np.random.normal(scale=1e-3)  # the legacy global state: reset by seedexp every job
    jitter = random.random() * 1e-3        # Python's random: likewise
    model.fit(X_tr, y_tr)
    return {"accuracy": float(model.score(X_te, y_te)), "noise": float(noise + jitter)}


if __name__ == "__main__":
    train()
