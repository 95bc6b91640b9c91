"""The same seed sweep on a real SLURM cluster and on a multi-node Ray cluster, with faults.

Each cluster is started for this module by the script a user would run and stopped
at its end (tests/cluster_helpers.py); the tests skip, with the reason in one line,
where it cannot be started. ``pytest -m cluster`` runs them.

What they prove: per-seed metrics bitwise equal to the basic launcher's and the same
summary; the records say where each run ran (SLURM array task, Ray node) and that
strict determinism and PYTHONHASHSEED were in force there; a job cancelled or a node
lost mid-sweep ends the sweep non-zero with exactly the lost runs named, loses nothing
already written, and a re-run of the same command completes only what is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from cluster_helpers import (
    SEEDS,
    SWEEP,
    finish,
    node_ids,
    not_ok,
    ray_cluster,
    ray_script,
    records,
    sacct_states,
    slurm,
    slurm_cluster,
    start_sweep,
    stop_sweep,
    wait_for,
)
from conftest import TEST_CONF, read_json, run_seedexp

pytestmark = pytest.mark.cluster

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
pytest.importorskip("hydra_plugins.hydra_ray_launcher")

#: SLURM: one CPU per seed run, so the 2-CPU node runs two at a time. (The preset's time
#: limit stays: under 10 min submitit takes any USR2 for the time limit, not a preemption.)
SLURM = ["hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1"]


def slow(seconds):
    """A sweep of runs that sleep: long enough to be hit by a fault while they run."""
    return ["--config-dir", str(TEST_CONF), "-m", "experiment=slow", f"experiment.seconds={seconds}", "seed=range(0,4)"]


def per_seed_metrics(sweep_dir):
    """``{seed: metrics as JSON text}``: equal text means bitwise-equal floats."""
    return {seed: json.dumps(r["metrics"]) for seed, r in records(sweep_dir).items()}


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    """The reference: the same sweep under Hydra's basic launcher (serial, in one process)."""
    cwd = tmp_path_factory.mktemp("basic")
    run_seedexp([*SWEEP, "hydra.sweep.dir=sw"], cwd, check_rc=0)
    assert set(records(cwd / "sw")) == SEEDS
    return {"metrics": per_seed_metrics(cwd / "sw"), "summary": pd.read_csv(cwd / "sw" / "summary.csv")}


def test_host_info_names_the_slurm_task_and_the_ray_node(monkeypatch):
    from types import SimpleNamespace

    from seedexp.record import host_info

    for var in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_NODEID", "SLURMD_NODENAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert set(host_info()) == {"hostname", "platform", "pid"}  # outside SLURM and Ray: nothing more
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
    assert host_info()["slurm"] == {"job_id": "42", "array_job_id": "40", "array_task_id": "2"}
    idle = SimpleNamespace(is_initialized=lambda: False)
    monkeypatch.setitem(sys.modules, "ray", idle)
    assert "ray" not in host_info()  # imported but not connected: not a Ray worker
    context = SimpleNamespace(get_node_id=lambda: "ab" * 28)
    worker = SimpleNamespace(is_initialized=lambda: True, get_runtime_context=lambda: context,
                             util=SimpleNamespace(get_node_ip_address=lambda: "10.0.0.7"))
    monkeypatch.setitem(sys.modules, "ray", worker)
    assert host_info()["ray"] == {"node_id": "ab" * 28, "node_ip": "10.0.0.7"}


# -- SLURM ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slurm_env():
    with slurm_cluster() as env:
        yield env


def test_slurm_sweep_equals_basic_and_records_its_array_tasks(tmp_path, slurm_env, basic):
    run_seedexp([*SWEEP, *SLURM, "hydra.sweep.dir=sw"], tmp_path, env=slurm_env, check_rc=0, timeout=300)
    assert per_seed_metrics(tmp_path / "sw") == basic["metrics"]
    assert pd.read_csv(tmp_path / "sw" / "summary.csv").equals(basic["summary"])
    recs = records(tmp_path / "sw")
    jobs = {r["host"]["slurm"]["array_job_id"] for r in recs.values()}
    assert len(jobs) == 1, jobs  # one array job, one task per seed
    tasks = {r["host"]["slurm"]["array_task_id"]: seed for seed, r in recs.items()}
    assert sorted(tasks) == ["0", "1", "2", "3"]
    array_job = jobs.pop()
    expected = {f"{array_job}_{t}": "COMPLETED" for t in tasks}  # the records trace back to SLURM's
    # (accounting lags the jobs by a moment)
    wait_for(f"sacct saying {expected}", lambda: sacct_states(array_job, slurm_env) == expected, timeout=60)
    for r in recs.values():
        assert r["determinism"]["strict"] is True
        assert r["determinism"]["PYTHONHASHSEED"] == "0" and r["determinism"]["hash_randomization"] is False
        assert r["host"]["slurm"]["node_name"] == r["host"]["hostname"].split(".")[0]


def test_slurm_cancelled_task_is_named_and_a_rerun_completes_only_it(tmp_path, slurm_env):
    # 10 s: a cancelled task is killed KillWait (5 s) after SIGTERM, which submitit ignores
    args = [*slow(10), *SLURM, "hydra.sweep.dir=sw"]
    proc = start_sweep(args, tmp_path, slurm_env)
    try:
        # Seed 3 is collected last: when its task is cancelled the others have ended,
        # so the outcome does not depend on timing (see the README on a task cancelled
        # while later ones still run).
        victim = wait_for("a running record of seed 3",
                          lambda: (r := records(tmp_path / "sw").get(3)) and r["status"] == "running" and r,
                          timeout=120, proc=proc)
        task = f"{victim['host']['slurm']['array_job_id']}_{victim['host']['slurm']['array_task_id']}"
        slurm(["scancel", task], slurm_env)
        rc, out, err = finish(proc, timeout=240)
    finally:
        stop_sweep(proc)
    assert rc == 1, err
    summary = read_json(tmp_path / "sw" / "summary.json")
    assert not_ok(summary) == {3: "crashed"}  # its marker says running: the job died in the experiment
    assert (summary["n_ok"], summary["n_crashed"], summary["n_missing"]) == (3, 1, 0)
    assert sacct_states(task.split("_")[0], slurm_env)[task] == "CANCELLED"
    kept = records(tmp_path / "sw")
    assert {s for s, r in kept.items() if r["status"] == "ok"} == {0, 1, 2}

    rerun = run_seedexp(args, tmp_path, env=slurm_env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = records(tmp_path / "sw")
    assert all(r["status"] == "ok" for r in after.values()) and set(after) == SEEDS
    for seed in (0, 1, 2):  # kept, not run again
        assert after[seed]["started_at"] == kept[seed]["started_at"]
        assert after[seed]["host"]["slurm"] == kept[seed]["host"]["slurm"]
    assert after[3]["host"]["slurm"]["array_job_id"] != victim["host"]["slurm"]["array_job_id"]
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 4


def test_slurm_preempted_task_is_requeued_and_the_sweep_completes(tmp_path, slurm_env):
    args = [*slow(10), *SLURM, "hydra.sweep.dir=sw"]
    proc = start_sweep(args, tmp_path, slurm_env)
    try:
        victim = wait_for("a running record of seed 1",
                          lambda: (r := records(tmp_path / "sw").get(1)) and r["status"] == "running" and r,
                          timeout=120, proc=proc)
        task = f"{victim['host']['slurm']['array_job_id']}_{victim['host']['slurm']['array_task_id']}"
        # What SLURM sends before preempting (or signal_delay_s before the time limit): submitit
        # requeues the job and exits. scancel delivers the signal at once, then retries for
        # minutes while the job is "in a transitional state": it is stopped once requeued.
        signal = subprocess.Popen(["scancel", "--signal=USR2", task], env=dict(os.environ, **slurm_env),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for("the task requeued", lambda: slurm(["squeue", "-h", "-j", task, "-o", "%T"], slurm_env).strip()
                     == "PENDING", timeout=60, proc=proc)
        finally:
            signal.kill()
            signal.wait()
        slurm(["scontrol", "update", f"JobId={task}", "StartTime=now"], slurm_env)  # SLURM holds it 2 min
        rc, out, err = finish(proc, timeout=240)
    finally:
        stop_sweep(proc)
    assert rc == 0, err
    after = records(tmp_path / "sw")
    assert set(after) == SEEDS and all(r["status"] == "ok" for r in after.values())
    assert after[1]["started_at"] > victim["started_at"]  # run again from its start
    assert after[1]["host"]["slurm"] == victim["host"]["slurm"]  # by the same, requeued, array task
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 4


# -- Ray -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray(tmp_path_factory):
    with ray_cluster(tmp_path_factory.mktemp("ray_home"), workers=1) as cluster:
        yield cluster


#: Seconds a run of the Ray fault sweeps sleeps (a lost node's processes die at once).
RAY_SLEEP = 6


def ray_args(cluster, *extra, address="address"):
    return ["hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={cluster['state'][address]}", *extra]


@pytest.mark.parametrize("address", ["address", "client_address"], ids=["gcs", "ray-client"])
def test_ray_cluster_sweep_equals_basic_and_ran_on_both_nodes(tmp_path, ray, basic, address):
    # HEAD_IP:PORT from a cluster node; ray://HEAD_IP:PORT (Ray Client) from outside the cluster.
    # A relative sweep dir, as users write it: the sweeper gives every job the absolute path (a Ray
    # worker's cwd is where its node was started).
    run_seedexp([*SWEEP, *ray_args(ray, address=address), "hydra.sweep.dir=sw"], tmp_path,
                env=ray["env"], check_rc=0, timeout=300)
    assert per_seed_metrics(tmp_path / "sw") == basic["metrics"]
    assert pd.read_csv(tmp_path / "sw" / "summary.csv").equals(basic["summary"])
    recs = records(tmp_path / "sw")
    used = {r["host"]["ray"]["node_id"] for r in recs.values()}
    assert used == set(node_ids(ray).values()), "the runs did not spread over the head and the worker node"
    for r in recs.values():
        assert r["determinism"]["strict"] is True and r["determinism"]["PYTHONHASHSEED"] == "0"


def _sweep_losing_worker_node(tmp_path, cluster, *extra):
    """Start a slow sweep, kill node w1 once a run is running there; return (rc, err, lost seed, ok-before)."""
    proc = start_sweep([*slow(RAY_SLEEP), *ray_args(cluster, *extra), f"hydra.sweep.dir={tmp_path / 'sw'}"],
                       tmp_path, cluster["env"])
    w1 = node_ids(cluster)["w1"]
    try:
        victim = wait_for("a run running on node w1",
                          lambda: next((r for r in records(tmp_path / "sw").values()
                                        if r["status"] == "running" and r["host"]["ray"]["node_id"] == w1), None),
                          timeout=120, proc=proc)
        written = {s: r for s, r in records(tmp_path / "sw").items() if r["status"] == "ok"}
        ray_script(cluster, "kill", "w1")
        rc, _, err = finish(proc, timeout=240)
    finally:
        stop_sweep(proc)
    for seed, r in written.items():  # nothing written before the loss is lost
        assert records(tmp_path / "sw")[seed] == r
    return rc, err, victim["seed"], written


def test_ray_node_lost_without_retries_names_the_lost_runs_and_a_rerun_completes_them(tmp_path, ray):
    rc, err, lost, written = _sweep_losing_worker_node(tmp_path, ray, "hydra.launcher.ray.remote.max_retries=0")
    try:
        assert rc == 1, err
        summary = read_json(tmp_path / "sw" / "summary.json")
        missed = not_ok(summary)
        assert missed.get(lost) == "crashed", missed  # the run on the lost node: its marker says running
        assert set(missed) | {s for s, r in records(tmp_path / "sw").items() if r["status"] == "ok"} == SEEDS
        assert summary["n_ok"] + len(missed) == 4 and summary["n_ok"] >= len(written)
        before = records(tmp_path / "sw")
    finally:
        ray_script(ray, "add", "w1")  # the cluster is whole again for the re-run and the next test
    rerun = run_seedexp([*slow(RAY_SLEEP), *ray_args(ray, "hydra.launcher.ray.remote.max_retries=0"),
                         f"hydra.sweep.dir={tmp_path / 'sw'}"], tmp_path, env=ray["env"], timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after = records(tmp_path / "sw")
    assert set(after) == SEEDS and all(r["status"] == "ok" for r in after.values())
    for seed, r in before.items():
        if r["status"] == "ok":  # completed runs were not run again
            assert after[seed]["started_at"] == r["started_at"]
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 4


def test_ray_node_lost_with_the_presets_retries_reruns_its_run_elsewhere(tmp_path, ray):
    try:
        rc, err, lost, _ = _sweep_losing_worker_node(tmp_path, ray)
    finally:
        ray_script(ray, "add", "w1")
    assert rc == 0, err
    after = records(tmp_path / "sw")
    assert set(after) == SEEDS and all(r["status"] == "ok" for r in after.values())
    assert after[lost]["host"]["ray"]["node_id"] == node_ids(ray)["head"]  # run again on the surviving node
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 4
