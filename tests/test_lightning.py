"""Lightning under seedexp, with real Lightning on CPU: SeedStreams, DDP, a template-shaped app.

Each test starts fresh interpreters (the integration tier); models are tiny and train
for two epochs of four batches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, read_json

pytest.importorskip("lightning")

APP = TESTS / "lightning_app" / "train.py"


def python(code_or_args, cwd, *, env=None, timeout=600):
    """Run Python in a fresh process (PYTHONPATH: tests, repo); return (stdout, stderr), failing loudly."""
    full = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "HYDRA_FULL_ERROR")}
    full["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])
    full.update(env or {})
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"rc={proc.returncode}\nSTDOUT:\n{proc.stdout[-3000:]}\nSTDERR:\n{proc.stderr[-3000:]}"
    return proc.stdout, proc.stderr


def result(stdout: str):
    return json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])


FIT = r"""
import json, sys
import seedexp
from lightning_experiments import fit
out = {}
for pin in sys.argv[1:]:
    record = seedexp.run(fit, seed=3, pins={} if pin == "none" else {pin: 7}, workers=2)
    out[pin] = {k: record.get(k) for k in ("status", "metrics", "fingerprints", "streams", "reseeds")}
print("RESULT " + json.dumps(out))
"""


def test_seed_streams_reproduce_in_fresh_processes_and_each_pin_moves_its_streams_only(tmp_path):
    stdout, stderr = python([ "-c", FIT, "none", "init", "dropout", "shuffle"], tmp_path)
    runs = result(stdout)
    again = result(python(["-c", FIT, "none"], tmp_path)[0])["none"]
    base = runs["none"]
    assert base["status"] == "ok" and base == again  # bitwise: metrics, weights, order, augmentations
    assert set(base["metrics"]) == {"train_loss", "val_loss"}  # Lightning's 0-d tensors, recorded as numbers
    changed = {pin: sorted(k for k, v in runs[pin]["fingerprints"].items() if v != base["fingerprints"][k])
               for pin in ("init", "dropout", "shuffle")}
    assert changed == {  # the table of seedexp.frameworks.lightning (and the README)
        "init": ["init", "weights"],
        "dropout": ["dropout", "weights"],
        "shuffle": ["augment", "order", "weights", "worker_seeds"],
    }
    by_epoch: dict[str, set] = {}
    for item in base["fingerprints"]["worker_seeds"].split():
        epoch, seed = item.split(":")
        by_epoch.setdefault(epoch, set()).add(int(seed))
    assert sorted(by_epoch) == ["0", "1"] and all(len(s) == 2 for s in by_epoch.values())  # 2 workers
    assert not by_epoch["0"] & by_epoch["1"]  # no worker seed (so no augmentation) comes back the next epoch
    assert {"init", "dropout", "shuffle/order", "shuffle/workers/0"} <= set(base["streams"])
    assert base["reseeds"] is None and "SeedexpWarning" not in stderr  # nothing reseeded: nothing new said


DDP = r"""
import json
import seedexp
from lightning_experiments import fit
if __name__ == "__main__":
    records = [seedexp.run(fit, seed=5, devices=2, strategy="ddp_fork") for _ in range(2)]
    print("RESULT " + json.dumps([{k: r.get(k) for k in ("status", "metrics", "fingerprints", "streams")}
                                  for r in records]))
"""


def test_ddp_on_cpu_two_processes_is_bitwise_equal_across_repeats_and_records_every_rank(tmp_path):
    (tmp_path / "ddp.py").write_text(DDP)
    first, second = result(python(["ddp.py"], tmp_path)[0])
    assert first["status"] == "ok" and first["metrics"] == second["metrics"]
    assert first["fingerprints"]["weights"] == second["fingerprints"]["weights"]  # rank 0's trained weights
    streams = first["streams"]
    for stream in ("dropout", "python", "numpy"):
        assert streams[f"{stream}/rank0"] != streams[f"{stream}/rank1"]
    assert streams["shuffle/workers/0"] != streams["shuffle/workers/1"]
    assert "shuffle/order" in streams  # one DistributedSampler permutation, each rank its slice


def test_template_app_reseed_and_undone_determinism_are_recorded_and_warned_once(tmp_path):
    """The template calls L.seed_everything(cfg.seed) and builds Trainer(deterministic=False)."""
    _, stderr = python([str(APP), "-m", "seed=1,2", "callback=false,true", "pin.init=7",
                        "determinism.strict=true", "hydra.sweep.dir=sw"], tmp_path)
    records = {(r["seed"], r["config"]["callback"]): r
               for r in (read_json(p) for p in (tmp_path / "sw").rglob("result.json"))}
    assert len(records) == 4
    for (seed, callback), r in records.items():
        assert r["status"] == "ok" and set(r["metrics"]) == {"train/loss", "val/loss"}
        assert r["determinism"]["PYTHONHASHSEED"] == "0"
        (reseed,) = r["reseeds"]
        assert reseed["call"] == "L.seed_everything" and reseed["seed"] == seed
        assert Path(reseed["site"]["file"]).name == "train.py" and reseed["site"]["function"] == "train"
        assert r["void_pins"] == ["init"] and "init" not in r["streams"] and r["void_streams"]["init"] == 7
        assert r["unused_pins"] == []
        if callback:  # SeedStreams seeds training again from `dropout` and turns strict back on
            assert "dropout" in r["streams"] and r["determinism"]["torch_deterministic_algorithms"] is True
            assert "changed" not in r["determinism"]
            assert r["series"]["metrics"]["val/loss"] == {"n": 2, "first_step": 0, "last_step": 1}  # curves
        else:  # the record tells the truth, and names what undid strict
            assert r["determinism"]["torch_deterministic_algorithms"] is False
            (change,) = r["determinism"]["changed"]
            assert change["by"] == "lightning Trainer(deterministic=False)"
            assert Path(change["site"]["file"]).name == "train.py"
    assert stderr.count("L.seed_everything at train.py") == 1, stderr  # one warning for the sweep
    assert stderr.count("pin pin.init changed nothing") == 1
    assert stderr.count("determinism.strict=true was asked") == 1
    assert "Trainer(deterministic=False) at train.py" in stderr
