"""A public Hydra + scikit-learn example app, after a newcomer added seedexp (issue 31).

As it was: ``@hydra.main``, a model group whose forest takes ``random_state: ${seed}``, a
fixed train/validation split, its own ``hydra/job_logging`` (a file per job in
``${hydra.run.dir}/${hydra.job.id}``) and run dir names (``hydra.sweep.subdir``), an Optuna
sweeper config (``conf/search.yaml``), a ``seed:`` key, and a task that returns the
validation accuracy as a float. seedexp came in with ``- seedexp`` in the defaults list and
``@seedexp.main``: nothing else changed.
"""

import logging

from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import seedexp

log = logging.getLogger(__name__)


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0)
    if cfg.model.name == "rf":
        model = RandomForestClassifier(n_estimators=cfg.model.n_estimators, max_depth=cfg.model.max_depth,
                                       random_state=cfg.model.random_state)
    else:
        model = LogisticRegression(C=cfg.model.C, max_iter=200)
    acc = float(model.fit(X_tr, y_tr).score(X_va, y_va))
    log.info("seed %s: validation accuracy %.4f", cfg.seed, acc)
    return acc


if __name__ == "__main__":
    train()
