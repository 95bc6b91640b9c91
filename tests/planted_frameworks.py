"""Deep-learning experiments written the way users write them (importable via PYTHONPATH=tests).

No framework is imported at module level: each experiment imports torch or
Keras inside the function, as a notebook-style script does, so the run's
import hook is what seeds them. Small nets, few epochs: each runs in well under
a second once its framework is imported.
"""

from __future__ import annotations

import hashlib
import random


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes() if hasattr(a, "tobytes") else repr(a).encode())
    return h.hexdigest()


def _torch_weights(model) -> str:
    return _digest(*(t.detach().cpu().contiguous().numpy() for t in model.state_dict().values()))


def torch_inside(seeds, epochs: int = 2, hidden: int = 16, scope: bool = False):
    """torch imported here; a model with dropout trained on synthetic data, no seedexp helper."""
    import torch

    x = torch.linspace(-1, 1, 64).reshape(-1, 4)
    y = (x.sum(1) > 0).long()
    random.random()  # the `python` stream: must not move anything below
    if scope:
        from seedexp.frameworks.torch import init_scope

        with init_scope(seeds):
            net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                      torch.nn.Linear(hidden, 2))
    else:
        net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                                  torch.nn.Linear(hidden, 2))
    init = _torch_weights(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    return {
        "loss": float(loss),
        "strict_in_force": float(torch.are_deterministic_algorithms_enabled()),
        "threads": float(torch.get_num_threads()),
        "fingerprints": {"init_weights": init, "trained_weights": _torch_weights(net)},
    }


class Augmented:
    """A dataset whose items carry an augmentation's draws: torch, ``random`` and ``np.random``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        import numpy as np
        import torch

        return torch.tensor([float(i), torch.rand(()).item(), random.random(), np.random.rand()])


def torch_data_apis(seeds, epochs: int = 2):
    """``random_split``, ``RandomSampler`` and a ``DataLoader`` without ``loader_kwargs``; model in ``init_scope``."""
    import torch
    from torch.utils.data import DataLoader, RandomSampler, TensorDataset, random_split

    from seedexp.frameworks.torch import init_scope

    data = TensorDataset(torch.arange(40.0).reshape(-1, 1), (torch.arange(40) % 2).long())
    train, test = random_split(data, [0.75, 0.25])  # before the model is built
    with init_scope(seeds):
        net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    init = _torch_weights(net)
    by_sampler = DataLoader(train, batch_size=5, sampler=RandomSampler(train))
    by_shuffle = DataLoader(train, batch_size=5, shuffle=True)
    order = [xb.flatten().tolist() for xb, _ in by_sampler] + [xb.flatten().tolist() for xb, _ in by_shuffle]
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    for _ in range(epochs):
        for xb, yb in by_shuffle:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xb / 40), yb).backward()
            opt.step()
    return {
        "n_test": float(len(test)),
        "fingerprints": {"split": _digest(sorted(test.indices)), "order": _digest(order), "init_weights": init,
                         "trained_weights": _torch_weights(net)},
    }


def torch_ensemble(seeds, members: int = 3):
    """An ensemble: each member built in ``init_scope(seeds, name)``."""
    import torch

    from seedexp.frameworks.torch import init_scope

    out = {}
    for i in range(members):
        with init_scope(seeds, f"member{i}"):
            net = torch.nn.Linear(4, 3)
        out[f"member{i}"] = _torch_weights(net)
    return {"members": float(members), "fingerprints": out}


def keras_tutorial(seeds, epochs: int = 3, dropout: float = 0.3):
    """The Keras tutorial as written: no seed= anywhere, fit(shuffle=True)."""
    import keras
    import numpy as np

    from seedexp.frameworks.keras import weights_hash

    random.random()  # the `python` stream: must not move the weights
    x = np.linspace(0, 1, 12, dtype="float32").reshape(-1, 1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(dropout), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    init = weights_hash(model)
    model.fit(x, x + 0.1, epochs=epochs, batch_size=4, shuffle=True, verbose=0)
    return {"mse": float(model.evaluate(x, x + 0.1, verbose=0)),
            "fingerprints": {"init_weights": init, "trained_weights": weights_hash(model)}}


def keras_ensemble(seeds, members: int = 3):
    """A Keras ensemble, unseeded layers, each member in ``init_scope(seeds, name)``."""
    import keras

    from seedexp.frameworks.keras import init_scope, weights_hash

    out = {}
    for i in range(members):
        with init_scope(seeds, f"member{i}"):
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        out[f"member{i}"] = weights_hash(model)
    return {"members": float(members), "fingerprints": out}


def tf_data_pipeline(seeds):
    """A ``tf.data`` pipeline shuffled without ``seed=``, built before any model."""
    import tensorflow as tf

    order = [int(x) for x in tf.data.Dataset.range(20).shuffle(20)]
    return {"first": float(order[0]), "fingerprints": {"order": _digest(order)}}
