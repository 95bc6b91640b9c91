"""The sweep's fast path (seedexp.hydra.fast): one composition per configuration, the same records.

Every test runs a user's own Hydra app (tests/fast_app) whose job reports what Hydra gave it
(HydraConfig, cwd under hydra.job.chdir, hydra.job.env_set, its config) as metrics, so that
"the same records" covers what the job saw, not only what it computed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, TESTS, read_json

APP = TESTS / "fast_app" / "app.py"
#: Fields that differ between two runs of the same job by nature.
TIMING = {"started_at", "duration_s", "host", "resumed"}


def run_app(args, cwd, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PYTHONHASHSEED")}
    full_env.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, str(APP), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=600)


def records(sweep_dir):
    out = {}
    for path in sweep_dir.rglob("result.json"):
        rec = read_json(path)
        out[str(path.parent.relative_to(sweep_dir))] = {k: v for k, v in rec.items() if k not in TIMING}
    return out


SWEEP = ["-m", "model=small,deep", "lr=0.1,0.2", "seed=range(0,3)", "+extra=5", "fail_seed=2"]


def test_fast_and_full_composition_give_identical_records(tmp_path):
    fast = run_app([*SWEEP, "hydra.sweep.dir=fast"], tmp_path)
    full = run_app([*SWEEP, "hydra.sweep.dir=full", "hydra.sweeper.fast=false"], tmp_path)
    assert fast.returncode == full.returncode == 1, (fast.stderr, full.stderr)  # seed 2 fails in both
    # one composition per structure: model=small and model=deep are two configs' structures
    assert (fast.stdout + fast.stderr).count("seedexp fast path: composed configuration") == 2
    assert "fast path" not in full.stdout + full.stderr
    a, b = records(tmp_path / "fast"), records(tmp_path / "full")
    assert len(a) == 12 and a == b
    ok = [r for r in a.values() if r["status"] == "ok"]
    assert len(ok) == 8 and all(r["metrics"]["output_dir_is_cwd"] == 1.0 for r in ok)  # hydra.job.chdir
    assert all(r["metrics"]["env"] == 1.0 and r["metrics"]["scratch_was_clean"] == 1.0 for r in ok)
    assert all(r["metrics"]["extra"] == 5.0 and r["metrics"]["n_overrides"] == 5.0 for r in ok)
    deep = [r for r in ok if "model=deep" in r["overrides"]]
    assert deep and all(r["metrics"]["depth"] == 4.0 and r["metrics"]["width"] == 16.0 for r in deep)
    assert sorted({r["metrics"]["job_num"] for r in ok}) == sorted(
        {r["metrics"]["job_num"] for r in b.values() if r["status"] == "ok"})
    # Hydra's path writes .hydra/ per run; the fast path leaves the provenance to result.json
    assert (tmp_path / "full" / "+extra=5,fail_seed=2,lr=0.1,model=deep,seed=0" / ".hydra").is_dir()
    run = tmp_path / "fast" / "+extra=5,fail_seed=2,lr=0.1,model=deep,seed=0"
    assert not (run / ".hydra").exists() and (run / "app.log").is_file()
    assert read_json(run / "result.json")["config"]["model"]["width"] == 16


def test_subdir_interpolating_job_values(tmp_path):
    args = ["-m", "lr=0.1,0.2", "seed=range(0,2)", "hydra.sweep.subdir=n${hydra.job.num}_lr${lr}_s${seed}"]
    fast = run_app([*args, "hydra.sweep.dir=fast"], tmp_path)
    full = run_app([*args, "hydra.sweep.dir=full", "hydra.sweeper.fast=false"], tmp_path)
    assert fast.returncode == full.returncode == 0, (fast.stderr, full.stderr)
    a, b = records(tmp_path / "fast"), records(tmp_path / "full")
    assert sorted(a) == ["n0_lr0.1_s0", "n1_lr0.1_s1", "n2_lr0.2_s0", "n3_lr0.2_s1"] and a == b


def test_resume_of_a_finished_sweep_calls_nothing(tmp_path):
    calls = tmp_path / "calls.txt"
    args = ["-m", "model=small,deep", "seed=range(0,4)", "hydra.sweep.dir=s"]
    first = run_app(args, tmp_path, FAST_APP_CALLS=str(calls))
    assert first.returncode == 0, first.stderr
    assert len(calls.read_text().splitlines()) == 8
    before = records(tmp_path / "s")
    calls.unlink()
    again = run_app(args, tmp_path, FAST_APP_CALLS=str(calls))
    assert again.returncode == 0, again.stderr
    assert not calls.exists()  # every run was complete: resumed, not run
    assert records(tmp_path / "s") == before
    assert read_json(tmp_path / "s" / "summary.json")["n_ok"] == 8
    # a changed value is a new run, found by the same fast path
    third = run_app([*args[:-1], "seed=range(0,5)", "hydra.sweep.dir=s"], tmp_path, FAST_APP_CALLS=str(calls))
    assert third.returncode == 0, third.stderr
    assert sorted(calls.read_text().splitlines()) == ["model=deep,seed=4", "model=small,seed=4"]


def test_joblib_workers_give_the_serial_records(tmp_path):
    args = ["-m", "model=small,deep", "seed=range(0,6)"]
    serial = run_app([*args, "hydra.sweep.dir=serial"], tmp_path)
    workers = run_app([*args, "hydra.sweep.dir=workers", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                      tmp_path)
    assert serial.returncode == workers.returncode == 0, (serial.stderr, workers.stderr)
    assert "on 2 joblib worker(s)" in workers.stdout + workers.stderr
    a, b = records(tmp_path / "serial"), records(tmp_path / "workers")
    for rec in b.values():  # a joblib launcher's worker holds joblib (its sweep imported it), the serial one does not
        rec["versions"].pop("joblib", None)
    # job ids differ by launcher as in Hydra (num vs name_num); everything the job computed is equal
    assert len(a) == 12 and a == b
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_a_group_found_only_through_the_searchpath_composes_fully(tmp_path):
    extra = f"hydra.searchpath=[file://{TESTS / 'fast_app' / 'extra'}]"
    args = ["-m", "db=a,b", "seed=range(0,2)", extra]
    fast = run_app([*args, "hydra.sweep.dir=fast"], tmp_path)
    full = run_app([*args, "hydra.sweep.dir=full", "hydra.sweeper.fast=false"], tmp_path)
    assert fast.returncode == full.returncode == 0, (fast.stderr, full.stderr)
    a, b = records(tmp_path / "fast"), records(tmp_path / "full")
    assert len(a) == 4 and a == b
    assert {r["metrics"]["db_size"] for r in a.values()} == {1.0, 2.0}  # db=b is the group's b.yaml, not "b"
    assert read_json(tmp_path / "fast" / "db=b,seed=0" / "result.json")["config"]["db"] == {"size": 2, "port": 5432}
