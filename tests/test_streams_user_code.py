"""The stream promises for code written without seedexp's helpers: frameworks imported inside the
experiment, torch data APIs, Keras layers without seed=, ensembles, thread settings, seed_everything.

Every check runs in fresh processes: a list of jobs runs one after another in ONE process
through :func:`seedexp.core.execute` (as Hydra's basic launcher does), and the experiments of
``tests/planted_frameworks.py`` import their framework inside the function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TEST_CONF, TESTS, read_json, run_seedexp

pytest.importorskip("torch")

RUNNER = r"""
import json, sys
from seedexp.core import RunSpec, execute
import planted_frameworks

out = []
for job in json.loads(sys.argv[1]):
    fn = getattr(planted_frameworks, job["fn"])
    kwargs = job.get("kwargs", {})
    spec = RunSpec(seed=job["seed"], pins=job.get("pins", {}), strict=job.get("strict", False),
                   threads=job.get("threads"), experiment=job["fn"])
    try:
        rec = execute(spec, lambda plan: (lambda: fn(plan, **kwargs)), None, resume=False, quiet=True)
    except Exception as exc:
        out.append({"raised": f"{type(exc).__name__}: {exc}"})
        continue
    out.append({k: rec.get(k) for k in ("status", "error", "metrics", "fingerprints", "streams", "determinism",
                                        "warnings", "unused_pins", "global_draws")})
    out[-1]["modules"] = sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules)
print("@@" + json.dumps(out))
"""


def jobs_in_one_process(*jobs, timeout=300):
    """Run ``jobs`` one after another in one fresh process; return their records."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), PYTHONHASHSEED="0")
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(jobs)], env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads(proc.stdout.split("@@")[-1])
    for rec in records:
        assert "raised" in rec or rec["status"] == "ok", rec
    return records


def job(fn, seed=1, **options):
    return {"fn": fn, "seed": seed, **options}


# -- torch imported inside the experiment --------------------------------------------------------

def test_torch_imported_inside_the_function_is_seeded_strict_and_position_independent():
    alone, = jobs_in_one_process(job("torch_inside", 5, strict=True))
    first, second, loose = jobs_in_one_process(job("torch_inside", 3), job("torch_inside", 5, strict=True),
                                               job("torch_inside", 5))
    assert alone["modules"] == ["torch"]
    # strict in force in job 1, where torch was imported by the experiment, and said so
    assert alone["metrics"]["strict_in_force"] == 1.0 and alone["determinism"]["torch_deterministic_algorithms"]
    # the same seed as job 1 of one process and as job 2 of another: bitwise the same (what verify checks)
    assert second["fingerprints"] == alone["fingerprints"] and second["metrics"] == alone["metrics"]
    assert first["fingerprints"]["init_weights"] != second["fingerprints"]["init_weights"]
    # strict does not leak into the next job
    assert loose["metrics"]["strict_in_force"] == 0.0 and not loose["determinism"]["torch_deterministic_algorithms"]
    assert loose["determinism"]["CUBLAS_WORKSPACE_CONFIG"] is None
    assert loose["fingerprints"] == alone["fingerprints"]  # CPU kernels are deterministic anyway


def test_unused_pins_are_warned():
    # a model built outside init_scope: its dropout follows `init`, so pin.dropout changes nothing
    typo, no_scope, scoped = jobs_in_one_process(job("torch_inside", pins={"inti": 7}),
                                                 job("torch_inside", pins={"dropout": 7}),
                                                 job("torch_inside", pins={"dropout": 7}, kwargs={"scope": True}))
    assert typo["unused_pins"] == ["inti"] and any("pin.inti" in w for w in typo["warnings"])
    assert no_scope["unused_pins"] == ["dropout"] and any("pin.dropout" in w for w in no_scope["warnings"])
    assert scoped["unused_pins"] == [] and scoped["streams"]["dropout"] == 7


# -- torch data APIs without loader_kwargs --------------------------------------------------------

def test_random_split_random_sampler_and_dataloader_without_loader_kwargs():
    free, init, split, shuffle, dropout, again = (r["fingerprints"] for r in jobs_in_one_process(
        job("torch_data_apis"), job("torch_data_apis", pins={"init": 7}), job("torch_data_apis", pins={"split": 7}),
        job("torch_data_apis", pins={"shuffle": 7}), job("torch_data_apis", pins={"dropout": 7}),
        job("torch_data_apis")))
    same = lambda a, b, *keys: all(a[k] == b[k] for k in keys)  # noqa: E731
    # pin.init: other initial weights; the test set and the batch order stay
    assert same(init, free, "split", "order") and init["init_weights"] != free["init_weights"]
    # pin.split: another test set; the initial weights stay
    assert split["split"] != free["split"] and same(split, free, "init_weights")
    # pin.shuffle: another order (RandomSampler and shuffle=True); split and weights stay
    assert shuffle["order"] != free["order"] and same(shuffle, free, "split", "init_weights")
    # pin.dropout: only training moves
    assert same(dropout, free, "split", "order", "init_weights") and dropout["trained_weights"] != free["trained_weights"]
    assert again == free


# -- named scopes -----------------------------------------------------------------------------------

def test_torch_ensemble_members_are_distinct_and_all_fixed_by_pin_init():
    a, b, free, other = (r["fingerprints"] for r in jobs_in_one_process(
        job("torch_ensemble", 1, pins={"init": 7}), job("torch_ensemble", 2, pins={"init": 7}),
        job("torch_ensemble", 1), job("torch_ensemble", 1, pins={"init": 8})))
    assert len(set(a.values())) == 3  # each member its own weights
    assert a == b  # pin.init fixes every member, whatever the master seed
    assert all(free[m] != a[m] and other[m] != a[m] for m in a)


# -- Keras as the tutorials write it ----------------------------------------------------------------

def test_keras_without_seeds_follows_the_documented_streams():
    pytest.importorskip("keras")
    runs = jobs_in_one_process(
        job("keras_tutorial"), job("keras_tutorial", pins={"init": 7}), job("keras_tutorial", pins={"dropout": 7}),
        job("keras_tutorial", pins={"shuffle": 7}), job("keras_tutorial", pins={"python": 7}), job("keras_tutorial"),
        job("keras_ensemble", 1, pins={"init": 7}), job("keras_ensemble", 2, pins={"init": 7}),
        job("keras_ensemble", 1),
        job("tf_data_pipeline"), job("tf_data_pipeline", pins={"init": 7}), job("tf_data_pipeline", pins={"shuffle": 7}),
        job("keras_tutorial", threads=1),
        timeout=600)
    free, init, dropout, shuffle, python, again = (r["fingerprints"] for r in runs[:6])
    assert init["init_weights"] != free["init_weights"] and init["trained_weights"] != free["trained_weights"]
    assert dropout["init_weights"] == free["init_weights"] and dropout["trained_weights"] != free["trained_weights"]
    assert shuffle["init_weights"] == free["init_weights"] and shuffle["trained_weights"] != free["trained_weights"]
    assert python == free  # random.random() elsewhere, or another `python` seed, moves no weight
    assert again == free
    rec = runs[0]
    assert {"init/keras/0", "init/keras/1", "dropout/keras/0", "shuffle"} <= set(rec["streams"])
    assert rec["determinism"]["keras_unseeded_draws"] == {"init": 2, "dropout": 1}
    assert rec["modules"] == ["keras", "tensorflow"]
    ens_a, ens_b, ens_free = (r["fingerprints"] for r in runs[6:9])
    assert len(set(ens_a.values())) == 3 and ens_a == ens_b and all(ens_free[m] != ens_a[m] for m in ens_a)
    # a tf.data pipeline shuffled without seed= follows `shuffle`, not `init`
    data, data_init, data_shuffle = (r["fingerprints"]["order"] for r in runs[9:12])
    assert data == data_init and data != data_shuffle
    # TF started with its default thread counts: a later job cannot change them, and says so in one line
    assert runs[12]["raised"].startswith("ConfigError: determinism.threads=1: TensorFlow already runs with")


# -- nothing leaks between jobs -------------------------------------------------------------------

def test_threads_then_null_equals_a_fresh_process():
    one, null = jobs_in_one_process(job("torch_inside", 4, threads=1, strict=True), job("torch_inside", 4))
    fresh, = jobs_in_one_process(job("torch_inside", 4))
    assert one["metrics"]["threads"] == 1.0 and one["determinism"]["torch_threads"] == 1
    assert null["metrics"]["threads"] == fresh["metrics"]["threads"]
    assert null["determinism"]["torch_threads"] == fresh["determinism"]["torch_threads"]
    assert null["fingerprints"] == fresh["fingerprints"] and null["metrics"] == fresh["metrics"]
    assert null["determinism"]["CUBLAS_WORKSPACE_CONFIG"] is None


# -- seed_everything for a user's own script ---------------------------------------------------------

EVERYTHING = r"""
import json, random, sys
import numpy as np
from seedexp.frameworks import seed_everything
plan = seed_everything(int(sys.argv[1]))
assert "torch" not in sys.modules and "tensorflow" not in sys.modules
out = {"random": random.random(), "numpy": float(np.random.rand())}
import torch
out["torch"] = torch.rand(3).tolist()
if sys.argv[2] == "tf":
    import tensorflow as tf
    import keras
    out["tf"] = tf.random.uniform([2]).numpy().tolist()
    out["keras"] = keras.layers.Dense(2)(np.ones((1, 3), "float32")).numpy().tolist()
print("@@" + json.dumps(out))
"""


def _everything(seed, with_tf):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", EVERYTHING, str(seed), "tf" if with_tf else "-"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("@@")[-1])


def test_seed_everything_seeds_frameworks_imported_after_it():
    with_tf = pytest.importorskip("tensorflow", reason="tensorflow not installed") is not None
    a, b, c = _everything(0, with_tf), _everything(0, with_tf), _everything(1, False)
    assert a == b
    assert all(a[k] != c[k] for k in ("random", "numpy", "torch"))
    if with_tf:
        d = _everything(1, True)
        assert a["tf"] != d["tf"] and a["keras"] != d["keras"]


# -- in-process: the hook and the patches go away ---------------------------------------------------

FINISH = r"""
import os, sys
import torch
from torch.utils.data import DataLoader, random_split
from seedexp import SeedPlan
from seedexp.frameworks import finish_run, seed_all
from seedexp.frameworks._hook import PostImportHook

own_threads = torch.get_num_threads()
plan = SeedPlan(0)
seed_all(plan, {"strict": True, "threads": 1})
assert any(isinstance(f, PostImportHook) for f in sys.meta_path)
assert DataLoader.__init__.__defaults__[-1] is not None and random_split.__defaults__[0] is not torch.default_generator
assert torch.get_num_threads() == 1 and os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
random_split(list(range(10)), [5, 5])
out = finish_run(plan)
assert not any(isinstance(f, PostImportHook) for f in sys.meta_path)
assert DataLoader.__init__.__defaults__[-1] is None and random_split.__defaults__[0] is torch.default_generator
assert not torch.are_deterministic_algorithms_enabled() and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
assert out["determinism"]["torch_threads"] == 1 and out["determinism"]["torch_deterministic_algorithms"] is True
assert torch.get_num_threads() == own_threads
assert "split/torch" in plan.used() and "shuffle/torch" not in plan.used()  # only what was drawn from
assert finish_run(plan) == {"determinism": {}, "warnings": [], "global_draws": []}
print("ok")
"""


def test_finish_run_removes_the_hook_and_restores_torch_defaults():
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", FINISH], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_augmentation_draws_the_same_without_workers_as_with_one():
    import torch
    from torch.utils.data import DataLoader

    from planted_frameworks import Augmented
    from seedexp import SeedPlan
    from seedexp.frameworks import finish_run, seed_all
    from seedexp.frameworks.torch import loader_kwargs

    plan = SeedPlan(0)
    seed_all(plan)
    try:
        def batches(workers):
            loader = DataLoader(Augmented(6), batch_size=3, shuffle=True, num_workers=workers, **loader_kwargs(plan))
            return [b.tolist() for _ in range(2) for b in loader]

        before = torch.default_generator.get_state()
        in_process = batches(0)
        assert torch.equal(torch.default_generator.get_state(), before)  # training draws are not shifted by it
        assert in_process == batches(1)
        assert len({row[1] for batch in in_process for row in batch}) == 12  # fresh draws every item and epoch
    finally:
        finish_run(plan)


# -- the command line: verify and a sweep -------------------------------------------------------------

def test_verify_passes_with_torch_imported_inside(tmp_path):
    proc = run_seedexp(["verify", "--config-dir", str(TEST_CONF), "experiment=torch_inside", "seed=5"], tmp_path)
    assert proc.returncode == 0 and "REPRODUCIBLE" in proc.stdout, proc.stdout + proc.stderr


def test_sweep_job_equals_a_fresh_run_whatever_ran_before_it(tmp_path):
    # basic launcher: 4 jobs in one process, threads=1 jobs before and after threads=null ones
    run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=torch_inside", "seed=3,5",
                 "determinism.threads=1,null", "determinism.strict=true", "hydra.sweep.dir=sw"], tmp_path, check_rc=0)
    swept = {(r["seed"], r["determinism"]["threads"]): r for r in map(read_json, (tmp_path / "sw").rglob("result.json"))}
    assert len(swept) == 4
    for seed in (3, 5):
        run_seedexp(["--config-dir", str(TEST_CONF), "experiment=torch_inside", f"seed={seed}",
                     "determinism.strict=true", f"hydra.run.dir=alone{seed}"], tmp_path, check_rc=0)
        alone = read_json(tmp_path / f"alone{seed}/result.json")
        late = swept[(seed, None)]
        assert late["fingerprints"] == alone["fingerprints"] and late["metrics"] == alone["metrics"]
        assert late["determinism"]["torch_threads"] == alone["determinism"]["torch_threads"]
        assert swept[(seed, 1)]["metrics"]["threads"] == 1.0
        for rec in (late, swept[(seed, 1)], alone):  # strict in force in every job, the first included
            assert rec["metrics"]["strict_in_force"] == 1.0 and rec["determinism"]["torch_deterministic_algorithms"]


def test_readme_deep_learning_example_runs_and_is_reproducible():
    from docs_pages import claimed

    (block,) = claimed("test_readme_deep_learning_example_runs_and_is_reproducible")
    code = block.code
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                           env={**env, "PYTHONHASHSEED": hs}).stdout for hs in ("1", "2")]
    assert outs[0] == outs[1] and outs[0].startswith("[")
    weights = outs[0].split("] [", 1)[1]
    assert len(set(weights.strip().rstrip("]").split(", "))) == 3  # three distinct members
