"""Learning curves of a small MLP on scikit-learn's ``load_digits``, one epoch at a time.

Each epoch is one pass of ``MLPClassifier.partial_fit`` over the training split;
after it the run logs the validation accuracy and the training loss with
:func:`seedexp.log`, so a sweep compares whole curves across seeds, not only
the last epoch. Quick on 2 cores (about 0.5 s a run).

Streams: ``split`` (stratified train/validation split), ``model`` (the
network's ``random_state``: initial weights and mini-batch order).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import seedexp
from seedexp import SeedPlan
from seedexp.sklearn import train_test_split


def run(seeds: SeedPlan, lr: float = 0.001, hidden: int = 32, epochs: int = 30, batch_size: int = 64) -> dict[str, Any]:
    """Train for ``epochs`` epochs; log ``val_accuracy`` and ``loss`` per epoch; return the final accuracy."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_val, y_train, y_val = train_test_split(X, y, seeds=seeds, test_size=0.3, stratify=y)
    model = MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=lr, batch_size=batch_size,
                          random_state=seeds.seed("model"))
    classes = np.unique(y)
    accuracy = 0.0
    for epoch in range(epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=classes)
        accuracy = float(model.score(X_val, y_val))
        seedexp.log(epoch, val_accuracy=accuracy, loss=float(model.loss_))
    return {"val_accuracy": accuracy}
