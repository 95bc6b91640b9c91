"""A Lightning + Hydra app shaped like the most used project template, with seedexp's two lines.

Like the template, it seeds with ``L.seed_everything(cfg.seed, workers=True)`` when
``cfg.seed`` is truthy and builds ``Trainer(deterministic=cfg.deterministic)``;
``callback: true`` adds seedexp's one line (``SeedStreams``). It returns Lightning's
metrics as they come: 0-d tensors. ``import seedexp`` comes first, so the hash-seed
restart happens before Lightning is imported (see seedexp._start).
"""

import seedexp  # first: an @seedexp.main script restarts under PYTHONHASHSEED=0 here, before the heavy imports

import lightning as L
import torch

from seedexp.frameworks.lightning import SeedStreams


class Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                       torch.nn.Linear(8, 1))

    def training_step(self, batch, batch_idx):
        (x,) = batch
        loss = self.net(x).pow(2).mean()
        self.log("train/loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        (x,) = batch
        self.log("val/loss", self.net(x).pow(2).mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    if cfg.get("seed") and cfg.seed_everything:
        L.seed_everything(cfg.seed, workers=True)
    data = torch.utils.data.TensorDataset(torch.linspace(-1, 1, 128).reshape(32, 4))
    train_loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    val_loader = torch.utils.data.DataLoader(data, batch_size=16)
    model = Tiny()
    trainer = L.Trainer(max_epochs=cfg.epochs, accelerator="cpu", devices=1, deterministic=cfg.deterministic,
                        logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, callbacks=[SeedStreams()] if cfg.callback else [])
    trainer.fit(model, train_loader, val_loader)
    return dict(trainer.callback_metrics)


if __name__ == "__main__":
    train()
