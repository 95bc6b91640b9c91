"""Start-up of a Lightning + Hydra app: plain vs seedexp (issues 31 and 33, "start once").

Writes two apps into a temporary directory, the same tiny Lightning training (one
epoch of 4 batches) in both:

* ``plain.py``: ``@hydra.main``, no seedexp;
* ``app.py``: ``import seedexp`` first, ``@seedexp.main``, ``- seedexp`` in its defaults;
* ``late.py``: as ``app.py`` but ``import lightning`` comes BEFORE ``import seedexp``,
  so the hash-seed restart repeats Lightning's import (what every app paid before
  the restart moved to ``import seedexp``).

and times, each ``--repeats`` times in fresh processes (median; run without
``PYTHONHASHSEED`` in the environment, as a user's shell has it):

1. a single run of each app;
2. the plain app's start-up alone (``--cfg job``: imports and composition, no training);
3. a 3-seed sweep of ``app.py``, then the same command again: a resume that runs nothing.

Usage::

    .venv/bin/python scripts/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODEL = '''
import torch


def fit(L, epochs=1):
    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            loss = self.net(batch[0]).pow(2).mean()
            self.log("loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.TensorDataset(torch.linspace(-1, 1, 64).reshape(16, 4))
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=4, shuffle=True))
    return dict(trainer.callback_metrics)
'''

PLAIN = '''
import hydra
import lightning as L

from model import fit


@hydra.main(config_path="conf", config_name="plain", version_base=None)
def train(cfg):
    return float(fit(L)["loss"])


if __name__ == "__main__":
    train()
'''

APP = '''
import seedexp

import lightning as L

from model import fit


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    return fit(L)


if __name__ == "__main__":
    train()
'''

LATE = '''
import lightning as L

import seedexp
from model import fit


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    return fit(L)


if __name__ == "__main__":
    train()
'''


def write_apps(where: Path) -> None:
    (where / "conf").mkdir(parents=True)
    (where / "model.py").write_text(MODEL)
    (where / "plain.py").write_text(PLAIN)
    (where / "app.py").write_text(APP)
    (where / "late.py").write_text(LATE)
    (where / "conf" / "plain.yaml").write_text("epochs: 1\n")
    (where / "conf" / "config.yaml").write_text("defaults:\n  - seedexp\n  - _self_\n\nepochs: 1\n")


def timed(args: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "SEEDEXP_NO_REEXEC")}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {args}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    where = Path(tempfile.mkdtemp(prefix="seedexp-startup-"))
    try:
        write_apps(where)
        out = where / "out"
        times: dict[str, list[float]] = {k: [] for k in ("plain", "app", "late", "startup", "resume")}
        timed(["app.py", "-m", "seed=0,1,2", f"hydra.sweep.dir={out}/sweep"], where)  # the finished sweep
        for i in range(repeats):  # interleaved: load on the machine hits every variant alike
            times["plain"].append(timed(["plain.py", f"hydra.run.dir={out}/plain{i}"], where))
            times["app"].append(timed(["app.py", f"hydra.run.dir={out}/app{i}"], where))
            times["late"].append(timed(["late.py", f"hydra.run.dir={out}/late{i}"], where))
            times["startup"].append(timed(["plain.py", "--cfg", "job"], where))
            times["resume"].append(timed(["app.py", "-m", "seed=0,1,2", f"hydra.sweep.dir={out}/sweep"], where))
        med = {k: statistics.median(v) for k, v in times.items()}
        plain = med["plain"]
        print(f"median of {repeats} fresh processes each (s): " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
        print(f"single run, seedexp app vs plain app: {med['app'] / plain:.2f}x "
              f"({med['app'] - plain:+.2f} s; goal <= +0.3 s: {'met' if med['app'] - plain <= 0.3 else 'NOT met'})")
        print(f"single run, seedexp imported after Lightning (the restart repeats its import): "
              f"{med['late'] / plain:.2f}x ({med['late'] - plain:+.2f} s)")
        print(f"resume of a finished 3-seed sweep vs the plain app's start-up (--cfg job): "
              f"{med['resume'] / med['startup']:.2f}x ({med['resume'] - med['startup']:+.2f} s)")
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
