"""A user's own Hydra app (tests/user_app) gains seedexp with one defaults line and one decorator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TESTS, read_json

APP = TESTS / "user_app"


def run_app(script, args, cwd, *, env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.pop("HYDRA_FULL_ERROR", None)
    full_env.pop("PYTHONHASHSEED", None)
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(APP / script), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def per_seed(sweep_dir):
    out = {}
    for path in sweep_dir.rglob("result.json"):
        rec = read_json(path)
        out[(rec["group"], rec["seed"])] = (rec["status"], json.dumps(rec["metrics"]))
    return out


def test_single_run_records_and_is_reproducible_across_processes(tmp_path):
    runs = [run_app("train.py", ["seed=3", "model=lr", f"hydra.run.dir=r{hs}"], tmp_path,
                    env={"PYTHONHASHSEED": hs}) for hs in ("1", "2")]
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
    a, b = (read_json(tmp_path / f"r{hs}" / "result.json") for hs in ("1", "2"))
    assert a["status"] == "ok" and a["metrics"] == b["metrics"]
    assert a["determinism"]["PYTHONHASHSEED"] == "0"  # re-executed under a fixed hash seed
    assert a["group"] == "model=lr" and a["streams"]["split"] == b["streams"]["split"]


@pytest.mark.slow
def test_sweep_with_own_groups_basic_and_joblib_equal_and_summarized(tmp_path):
    args = ["-m", "model=rf,lr", "data=small", "seed=range(0,4)"]
    basic = run_app("train.py", [*args, "hydra.sweep.dir=basic"], tmp_path)
    assert basic.returncode == 0, basic.stderr
    joblib = run_app("train.py", [*args, "hydra.sweep.dir=joblib", "hydra/launcher=joblib",
                                  "hydra.launcher.n_jobs=2"], tmp_path)
    assert joblib.returncode == 0, joblib.stderr
    a, b = per_seed(tmp_path / "basic"), per_seed(tmp_path / "joblib")
    assert len(a) == 8 and a == b
    summary = read_json(tmp_path / "basic" / "summary.json")
    assert summary["n_ok"] == 8 and len(summary["groups"]) == 2
    assert any(c["metric"] == "accuracy" for c in summary["comparisons"])
    assert "summary:" in basic.stdout


@pytest.mark.slow
def test_failing_seed_is_counted_exits_1_and_resume_reruns_only_it(tmp_path):
    args = ["-m", "model=lr", "seed=range(0,4)", "hydra.sweep.dir=sw"]
    first = run_app("train.py", [*args, "fail_seed=2"], tmp_path)
    assert first.returncode == 1, first.stderr
    summary = read_json(tmp_path / "sw" / "summary.json")
    assert summary["n_failed"] == 1 and summary["n_ok"] == 3
    assert "planted failure at seed 2" in first.stderr and "Traceback" not in first.stderr
    # resume: the same sweep re-runs nothing that is complete
    again = run_app("train.py", args + ["fail_seed=2"], tmp_path)
    assert again.returncode == 1
    records = {read_json(p)["seed"]: p for p in (tmp_path / "sw").rglob("result.json")}
    before = {s: p.stat().st_mtime_ns for s, p in records.items()}
    os.remove(records[1])
    third = run_app("train.py", args + ["fail_seed=2"], tmp_path)
    assert third.returncode == 1
    after = {read_json(p)["seed"]: p.stat().st_mtime_ns for p in (tmp_path / "sw").rglob("result.json")}
    assert after[1] != before[1] and after[2] != before[2]  # the missing one and the failed one ran again
    # records of ok runs are not rewritten (only touched: mtime may move, content may not)
    assert read_json(records[0])["status"] == "ok"


def test_plain_hydra_main_app_gets_records_and_summary_in_a_sweep(tmp_path):
    proc = run_app("plain_hydra.py", ["-m", "seed=range(0,3)", "hydra.sweep.dir=sw"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = read_json(tmp_path / "sw" / "summary.json")
    assert summary["n_ok"] == 3
