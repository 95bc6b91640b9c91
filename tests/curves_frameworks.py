"""Series from a Keras fit and a plain PyTorch loop, the ordinary way (run in a fresh process by test_curves)."""

from __future__ import annotations

import json
import sys

import numpy as np


def keras_fit(seeds, epochs=3):
    import keras

    from seedexp.frameworks.keras import log_callback

    X = np.linspace(0.0, 1.0, 32, dtype="float32").reshape(-1, 1)
    y = 2.0 * X + 0.1
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=epochs, batch_size=8, validation_split=0.25, verbose=0, callbacks=[log_callback()])
    return {"params": float(model.count_params())}


def torch_loop(seeds, epochs=3):
    import torch

    from seedexp.frameworks.torch import log_step

    X = torch.randn(32, 2)
    y = X @ torch.tensor([[1.5], [-0.5]])
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        losses = []
        for i in range(0, 32, 8):
            optimizer.zero_grad()
            loss = ((model(X[i:i + 8]) - y[i:i + 8]) ** 2).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        log_step(epoch, loss=torch.stack(losses), weight=model.weight[0, 0])
    return {}


if __name__ == "__main__":
    import seedexp

    out = sys.argv[1]
    from pathlib import Path

    for fn in (keras_fit, torch_loop):
        seedexp.sweep(fn, seeds=2, out=f"{out}/{fn.__name__}", progress=False)
    def state() -> dict:  # resume touches result.json (progress counts it) but rewrites nothing
        return {str(p): (p.stat().st_mtime_ns if p.name == "series.npz" else p.read_bytes())
                for p in Path(out).rglob("*") if p.name in ("series.npz", "result.json")}

    written = state()
    for fn in (keras_fit, torch_loop):  # again: every run resumes
        summary = seedexp.sweep(fn, seeds=2, out=f"{out}/{fn.__name__}", progress=False)
        print(json.dumps({"fn": fn.__name__, "n_ok": summary.data["n_ok"],
                          "curves": {m: {g: e["n"] for g, e in v["groups"].items()}
                                     for m, v in summary.data["curves"]["metrics"].items()}}))
    print(json.dumps({"fn": "resume", "untouched": state() == written, "files": len(written)}))
    record = seedexp.run(torch_loop, seed=0)  # nothing written; the record still indexes the series
    print(json.dumps({"fn": "index", "series": record["series"]}))
