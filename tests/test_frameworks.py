"""PyTorch and Keras adapters: separate streams, bitwise reproducibility, lazy imports."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from seedexp.core import RunSpec, execute

from conftest import ROOT, TESTS, read_json, run_seedexp

torch = pytest.importorskip("torch")

TORCH = {"_target_": "seedexp.examples.torch_digits.run", "epochs": 2, "hidden": 32, "dropout": 0.3, "device": "cpu"}
KERAS = {"_target_": "seedexp.examples.keras_sequence.run", "epochs": 15, "dropout": 0.2, "batch_size": 3}


def _prepare(experiment):
    module, _, name = experiment["_target_"].rpartition(".")
    kwargs = {k: v for k, v in experiment.items() if k != "_target_"}

    def prepare(plan):
        fn = getattr(importlib.import_module(module), name)
        return lambda: fn(plan, **kwargs)

    return prepare


def run_in_process(tmp_path, experiment, seed=1, strict=False, **pins):
    spec = RunSpec(seed=seed, pins=pins, strict=strict, experiment=experiment["_target_"])
    rec = execute(spec, _prepare(experiment), None, resume=False, quiet=True)
    assert rec["status"] == "ok", rec.get("error")
    return rec


@pytest.mark.fast
@pytest.mark.parametrize("experiment", [TORCH], ids=["torch"])
def test_torch_streams_are_separate(tmp_path, experiment):
    free = run_in_process(tmp_path, experiment)["fingerprints"]
    drop = run_in_process(tmp_path, experiment, dropout=7)["fingerprints"]
    init = run_in_process(tmp_path, experiment, init=7)["fingerprints"]
    shuf = run_in_process(tmp_path, experiment, shuffle=7)["fingerprints"]
    # pin.dropout: same initial weights, same batches, other trained weights
    assert drop["init_weights"] == free["init_weights"] and drop["first_batch"] == free["first_batch"]
    assert drop["trained_weights"] != free["trained_weights"]
    # pin.init: other initial weights, same batch order
    assert init["init_weights"] != free["init_weights"] and init["first_batch"] == free["first_batch"]
    # pin.shuffle: other batch order, same initial weights
    assert shuf["first_batch"] != free["first_batch"] and shuf["init_weights"] == free["init_weights"]
    assert run_in_process(tmp_path, experiment, seed=1)["fingerprints"] == free


@pytest.mark.fast
def test_keras_streams_are_separate(tmp_path):
    pytest.importorskip("keras")
    free = run_in_process(tmp_path, KERAS)["fingerprints"]
    drop = run_in_process(tmp_path, KERAS, dropout=7)["fingerprints"]
    init = run_in_process(tmp_path, KERAS, init=7)["fingerprints"]
    shuf = run_in_process(tmp_path, KERAS, shuffle=7)["fingerprints"]
    assert drop["init_weights"] == free["init_weights"] and drop["trained_weights"] != free["trained_weights"]
    assert init["init_weights"] != free["init_weights"]
    assert shuf["init_weights"] == free["init_weights"] and shuf["trained_weights"] != free["trained_weights"]
    again = run_in_process(tmp_path, KERAS)["fingerprints"]
    assert again == free  # same process, later job: no leak from the jobs between


@pytest.mark.fast
def test_keras_initializers_are_per_layer(tmp_path):
    keras = pytest.importorskip("keras")
    from seedexp import SeedPlan
    from seedexp.frameworks.keras import initializer

    seeds = SeedPlan(0)
    a = initializer(seeds, "a")((3, 3))
    b = initializer(seeds, "b")((3, 3))
    assert not bool(keras.ops.all(a == b))
    assert bool(keras.ops.all(initializer(seeds, "a")((3, 3)) == a))
    assert isinstance(seeds.child("init").seed("a"), int)


@pytest.mark.parametrize("experiment,args", [
    ("torch_digits", ["experiment.epochs=2", "experiment.hidden=32"]),
    ("keras_sequence", ["experiment.epochs=20"]),
])
def test_bitwise_reproducible_in_fresh_processes(tmp_path, experiment, args):
    recs = []
    for i, hs in enumerate(("1", "777")):
        run_seedexp([f"experiment={experiment}", *args, "seed=21", f"hydra.run.dir=r{i}"], tmp_path,
                    env={"PYTHONHASHSEED": hs}, check_rc=0)
        recs.append(read_json(tmp_path / f"r{i}/result.json"))
    assert json.dumps(recs[0]["metrics"]) == json.dumps(recs[1]["metrics"])
    assert recs[0]["fingerprints"] == recs[1]["fingerprints"]
    lib = "torch" if experiment == "torch_digits" else "tensorflow"
    assert lib in recs[0]["versions"]
    run_seedexp([f"experiment={experiment}", *args, "seed=22", "hydra.run.dir=other"], tmp_path, check_rc=0)
    assert read_json(tmp_path / "other/result.json")["fingerprints"]["trained_weights"] != \
        recs[0]["fingerprints"]["trained_weights"]


@pytest.mark.fast
def test_strict_switch_is_recorded_and_does_not_leak(tmp_path):
    strict = run_in_process(tmp_path, TORCH, strict=True)
    assert strict["determinism"]["torch_deterministic_algorithms"] is True
    assert strict["determinism"]["cudnn_deterministic"] is True and strict["determinism"]["cudnn_benchmark"] is False
    assert strict["determinism"]["torch_device"] == "cpu"
    loose = run_in_process(tmp_path, TORCH, strict=False)
    assert loose["determinism"]["torch_deterministic_algorithms"] is False
    assert loose["fingerprints"] == strict["fingerprints"]  # on CPU these ops are deterministic anyway


@pytest.mark.fast
def test_keras_strict_switch_is_recorded(tmp_path):
    pytest.importorskip("keras")
    rec = run_in_process(tmp_path, {**KERAS, "epochs": 2}, strict=True)
    assert rec["determinism"]["tf_op_determinism"] is True
    assert run_in_process(tmp_path, {**KERAS, "epochs": 2})["determinism"]["tf_op_determinism"] is False


WORKERS = r"""
import json, random, sys
import numpy as np, torch
from seedexp import SeedPlan
from seedexp.frameworks.torch import loader_kwargs

class Draws(torch.utils.data.Dataset):
    def __len__(self): return 8
    def __getitem__(self, i): return torch.tensor([i, np.random.rand(), random.random(), torch.rand(()).item()])

out = []
loader = torch.utils.data.DataLoader(Draws(), batch_size=2, shuffle=True, num_workers=2,
                                     **loader_kwargs(SeedPlan(int(sys.argv[1]))))
for epoch in range(2):
    out.append([b.tolist() for b in loader])
print(json.dumps(out))
"""


def test_dataloader_workers_are_seeded(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def draws(seed):
        return json.loads(subprocess.run([sys.executable, "-c", WORKERS, str(seed)], env=env, check=True,
                                         capture_output=True, text=True, timeout=120).stdout)

    a, b, c = draws(1), draws(1), draws(2)
    assert a == b and a != c
    rows = [row for epoch in a for batch in epoch for row in batch]
    numpy_draws = [r[1] for r in rows]
    assert len(set(numpy_draws)) == len(numpy_draws)  # no two workers share a NumPy stream


LAZY = r"""
import sys
from seedexp.core import RunSpec, execute
from seedexp.examples import imbalanced_clf
rec = execute(RunSpec(seed=0, experiment="imbalanced_clf"),
              lambda plan: (lambda: imbalanced_clf.run(plan, n_estimators=5, n_samples=300)), None, quiet=True)
print(rec["status"], "torch" in sys.modules, "tensorflow" in sys.modules, "keras" in sys.modules,
      "lightning" in sys.modules)
"""


def test_sklearn_run_imports_neither_torch_nor_tensorflow_nor_lightning(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), PYTHONHASHSEED="0")
    out = subprocess.run([sys.executable, "-c", LAZY], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out[-5:] == ["ok", "False", "False", "False", "False"]


@pytest.mark.slow
@pytest.mark.parametrize("experiment,args,metric", [
    ("torch_digits", ["experiment.epochs=1", "experiment.hidden=16"], "test_accuracy"),
    ("keras_sequence", ["experiment.epochs=10"], "mse"),
])
def test_thirty_seed_sweep_with_summary(tmp_path, experiment, args, metric):
    run_seedexp(["-m", f"experiment={experiment}", *args, "seed=range(0,30)", "hydra.sweep.dir=sw"], tmp_path,
                check_rc=0, timeout=900)
    s = read_json(tmp_path / "sw/summary.json")
    stats = s["groups"][0]["metrics"][metric]
    assert s["n_ok"] == 30 and stats["n"] == 30 and stats["std"] > 0
    assert (tmp_path / "sw/summary.png").is_file()


@pytest.mark.fast
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_strict_runs_are_bitwise_identical(tmp_path):
    gpu = {**TORCH, "device": "cuda"}
    a = run_in_process(tmp_path / "a", gpu, strict=True)
    b = run_in_process(tmp_path / "b", gpu, strict=True)
    assert a["fingerprints"] == b["fingerprints"]
    assert a["determinism"]["torch_device"] != "cpu" and a["determinism"]["cuda_version"]


@pytest.mark.fast
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_stream_drives_cuda_draws_whatever_init_scope_does(tmp_path):
    gpu = {**TORCH, "device": "cuda"}
    free = run_in_process(tmp_path, gpu, strict=True)["fingerprints"]
    pinned = run_in_process(tmp_path, gpu, strict=True, gpu=7)["fingerprints"]
    # weights are built on the CPU (init), dropout masks are drawn on the GPU (gpu)
    assert pinned["init_weights"] == free["init_weights"] and pinned["first_batch"] == free["first_batch"]
    assert pinned["trained_weights"] != free["trained_weights"]
