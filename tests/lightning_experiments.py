"""Lightning experiments written the way users write them (importable via PYTHONPATH=tests).

Lightning and torch are imported inside the functions (the run's import hook seeds
them). A tiny LightningModule with dropout, a dataset that augments in
``__getitem__`` and reports the worker seed it ran under, and fingerprints of each
source of randomness separately, so a test can check that a pin moves exactly the
streams the docs say: ``init`` (initial weights), ``dropout`` (a draw in every
training step), ``order`` (the indices of every batch), ``augment`` (the values
drawn in ``__getitem__``), ``weights`` (after training).
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def _hash(values) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def _weights(module) -> str:
    h = hashlib.sha256()
    for tensor in module.state_dict().values():
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _classes():
    """The module and dataset classes (built on first use: lightning is imported in the run)."""
    import lightning as L
    import torch

    class Augmented(torch.utils.data.Dataset):
        def __init__(self, n: int = 32) -> None:
            self.x = torch.linspace(-1, 1, n * 4).reshape(n, 4)

        def __len__(self) -> int:
            return len(self.x)

        def __getitem__(self, i):
            noise = torch.rand(1).item() + random.random() + float(np.random.rand())  # augmentations
            info = torch.utils.data.get_worker_info()
            worker_seed = torch.initial_seed() if info is not None else -1
            return self.x[i], torch.tensor(i), torch.tensor(noise, dtype=torch.float64), torch.tensor(worker_seed)

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                           torch.nn.Linear(8, 1))
            self.seen: list = []

        def training_step(self, batch, batch_idx):
            x, index, noise, worker_seed = batch
            draw = torch.rand(1).item()  # the dropout stream (torch's global generator in training)
            self.seen.append((self.current_epoch, index.tolist(), noise.tolist(), worker_seed.tolist(), draw))
            loss = self.net(x + noise.float()[:, None] * 0.01).pow(2).mean()
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch, batch_idx):
            x = batch[0]
            self.log("val_loss", self.net(x).pow(2).mean())

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return L, torch, Augmented, Tiny


def fit(seeds, epochs: int = 2, workers: int = 0, devices: int = 1, strategy: str = "auto",
        seed_everything: bool = False, deterministic=None, callback: bool = True):
    """Train the tiny module; return its metrics and one fingerprint per source of randomness."""
    L, torch, Augmented, Tiny = _classes()
    from seedexp.frameworks.lightning import SeedStreams

    if seed_everything:
        L.seed_everything(seeds.master % 2**32, workers=True)  # what the common template does
    model = Tiny()
    init = _weights(model)
    train = torch.utils.data.DataLoader(Augmented(), batch_size=8, shuffle=True, num_workers=workers)
    val = torch.utils.data.DataLoader(Augmented(8), batch_size=8)
    kwargs = {} if deterministic is None else {"deterministic": deterministic}
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=devices, strategy=strategy, logger=False,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        callbacks=[SeedStreams(seeds)] if callback else [], **kwargs)
    trainer.fit(model, train, val)
    seen = model.seen
    result = dict(trainer.callback_metrics)  # 0-d tensors, as Lightning gives them
    result["fingerprints"] = {
        "init": init,
        "weights": _weights(model),
        "order": _hash([s[1] for s in seen]),
        "augment": _hash([s[2] for s in seen]),
        "dropout": _hash([s[4] for s in seen]),
        "worker_seeds": " ".join(f"{s[0]}:{w}" for s in seen for w in sorted(set(s[3]))),
    }
    return result
