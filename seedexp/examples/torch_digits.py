"""An MLP with dropout on scikit-learn's ``load_digits`` (8x8 images, 10 classes), in PyTorch.

Streams: ``split`` (stratified train/test split), ``init`` (weights, built on
the CPU), ``dropout`` (dropout masks drawn on the CPU), ``shuffle`` (mini-batch
order), ``gpu`` (everything drawn on a CUDA device: with ``device=cuda`` the
dropout masks).
Reports test accuracy and loss, and the SHA-256 of the trained weights as a
fingerprint (``seedexp verify`` compares it bitwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

from seedexp import SeedPlan
from seedexp.frameworks.torch import init_scope, loader_kwargs, weights_hash
from seedexp.sklearn import train_test_split


def run(
    seeds: SeedPlan,
    hidden: int = 64,
    dropout: float = 0.2,
    epochs: int = 8,
    batch_size: int = 64,
    lr: float = 1e-3,
    device: str = "auto",
    num_workers: int = 0,
) -> dict[str, Any]:
    """Train and evaluate the MLP; return test accuracy, loss and weight hashes."""
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, seeds=seeds, test_size=0.25, stratify=y)
    with init_scope(seeds):
        model = torch.nn.Sequential(
            torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, 10),
        )
    init_hash = weights_hash(model)
    model.to(dev)
    train = torch.utils.data.TensorDataset(torch.from_numpy(X_train), torch.from_numpy(y_train))
    loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                                         **loader_kwargs(seeds))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    first_batch = None
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            if first_batch is None:
                first_batch = _tensor_hash(yb)
            xb, yb = xb.to(dev), yb.to(dev)
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(X_test).to(dev))
        test_loss = float(loss_fn(logits, torch.from_numpy(y_test).to(dev)))
        accuracy = float((logits.argmax(1).cpu().numpy() == y_test).mean())
    return {
        "test_accuracy": accuracy,
        "test_loss": test_loss,
        "fingerprints": {"init_weights": init_hash, "trained_weights": weights_hash(model), "first_batch": first_batch},
    }


def _tensor_hash(tensor: torch.Tensor) -> str:
    import hashlib

    return hashlib.sha256(tensor.cpu().numpy().tobytes()).hexdigest()
