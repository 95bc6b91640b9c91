"""The same 4-seed sweep under basic, joblib, ray and submitit_local: bitwise-identical results."""

from __future__ import annotations

import json
import shutil
import tempfile

import pandas as pd
import pytest

from conftest import read_json, run_seedexp

pytest.importorskip("hydra_plugins.hydra_ray_launcher")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher")

SWEEP = ["-m", "experiment=imbalanced_clf", "experiment.n_estimators=10", "experiment.n_samples=400",
         "seed=range(0,4)"]
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "ray": ["hydra/launcher=ray_local", "hydra.launcher.ray.init.num_cpus=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.sweeper.max_batch_size=2"],
}


@pytest.fixture
def ray_env(tmp_path):
    # Ray's own temp dir, short: its socket paths must fit in 107 bytes (AF_UNIX)
    ray_tmp = tempfile.mkdtemp(prefix="sxr", dir="/tmp")
    yield {"RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": ray_tmp, "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_ADDRESS": "", "RAY_NODE_IP_ADDRESS": "127.0.0.1", "HOME": str(tmp_path)}
    shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.mark.slow
def test_every_launcher_gives_the_same_per_seed_metrics_and_summary(tmp_path, ray_env):
    per_seed, summaries = {}, {}
    for name, args in LAUNCHERS.items():
        run_seedexp([*SWEEP, *args, f"hydra.sweep.dir={name}"], tmp_path, env=ray_env if name == "ray" else None,
                    check_rc=0, timeout=600)
        recs = [read_json(p) for p in (tmp_path / name).rglob("result.json")]
        per_seed[name] = {r["seed"]: json.dumps(r["metrics"]) for r in recs}
        summaries[name] = pd.read_csv(tmp_path / name / "summary.csv")
        assert len(recs) == 4 and all(r["determinism"]["PYTHONHASHSEED"] == "0" for r in recs)
    for name in LAUNCHERS:
        assert per_seed[name] == per_seed["basic"], name
        assert summaries[name].equals(summaries["basic"]), name
    # resume works under a parallel launcher too: nothing left to run
    proc = run_seedexp([*SWEEP, *LAUNCHERS["ray"], "hydra.sweep.dir=ray"], tmp_path, env=ray_env, check_rc=0)
    assert read_json(tmp_path / "ray" / "summary.json")["n_ok"] == 4 and proc.returncode == 0


def test_cluster_presets_compose(tmp_path):
    proc = run_seedexp(["hydra/launcher=ray_cluster", "--cfg", "hydra", "-p", "hydra.launcher"], tmp_path,
                       check_rc=0)
    assert "object_store_memory: null" in proc.stdout and "address: auto" in proc.stdout
    proc = run_seedexp(["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra", "-p",
                        "hydra.launcher"], tmp_path, check_rc=0)
    assert "SlurmLauncher" in proc.stdout and "partition: gpu" in proc.stdout and "array_parallelism: 32" in proc.stdout
