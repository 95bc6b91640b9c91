"""Cheap experiments for the tracking tests (importable, so records name them)."""

from __future__ import annotations

import os

#: ``"<model>,<seed>"``: that run raises (set it with monkeypatch.setenv).
FAIL_ENV = "SEEDEXP_TEST_TRACKING_FAIL"


def noisy(seeds, model="a"):
    """Two metrics around a model-dependent level, with seed noise shared by the models and of their own."""
    if os.environ.get(FAIL_ENV) == f"{model},{seeds.master}":
        raise RuntimeError(f"planted failure of {model} at seed {seeds.master}")
    level = {"a": 0.70, "b": 0.74}[model]
    own = seeds.generator(f"noise/{model}")
    acc = level + 0.02 * float(seeds.generator("init").normal()) + 0.01 * float(own.normal())
    loss = 1.0 - level + 0.01 * float(seeds.generator("dropout").normal()) + 0.005 * float(own.normal())
    return {"acc": acc, "loss": loss}


def curvy(seeds, model="a"):
    """A learning curve per seed (seedexp.log) and a final number; model b learns faster."""
    import seedexp

    rate = {"a": 0.15, "b": 0.3}[model]
    level = 0.03 * float(seeds.generator("init").normal())
    own = seeds.generator(f"noise/{model}")
    value = 0.0
    for epoch in range(8):
        value = 0.9 - 0.5 * 2.718281828 ** (-rate * epoch) + level + 0.01 * float(own.normal())
        seedexp.log(epoch, val_acc=value)
    return {"acc": value}
