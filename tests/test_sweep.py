"""Seed sweeps through the real CLI: summary files, failures, resume, joblib == serial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, TEST_CONF, TESTS, read_json, run_seedexp

CLF = ["experiment=imbalanced_clf", "experiment.n_estimators=10", "experiment.n_samples=400"]


def records_by_seed(sweep):
    out = {}
    for path in sweep.rglob("result.json"):
        r = read_json(path)
        out[(r["group"], r["seed"])] = r
    return out


def test_sweep_writes_summary_files_and_compare_works(tmp_path):
    proc = run_seedexp(["-m", *CLF, "seed=range(0,4)", "experiment.model=rf,lr", "hydra.sweep.dir=sw"], tmp_path,
                       check_rc=0)
    sw = tmp_path / "sw"
    for name in ("summary.json", "summary.csv", "runs.csv", "summary.md", "summary.png", "summary.html"):
        assert (sw / name).is_file(), name
    assert "summary: " in proc.stdout and "| group |" in proc.stdout
    tidy = pd.read_csv(sw / "summary.csv")
    assert set(tidy["metric"]) == {"cv_balanced_accuracy", "test_balanced_accuracy", "test_f1", "test_roc_auc"}
    assert len(tidy) == 8 and (tidy["n"] == 4).all()
    runs = pd.read_csv(sw / "runs.csv")
    assert len(runs) == 8 and set(runs["seed"]) == {0, 1, 2, 3}
    summary = read_json(sw / "summary.json")
    assert len(summary["comparisons"]) == 4
    cmp = run_seedexp(["compare", "sw", "--metric", "test_f1"], tmp_path, check_rc=0)
    assert "test_f1" in cmp.stdout and "A better on (k/n)" in cmp.stdout and "cv_balanced" not in cmp.stdout
    bad = run_seedexp(["compare", "sw", "--metric", "nope"], tmp_path)
    assert bad.returncode == 2 and "'nope' is not a metric of" in bad.stderr and "test_f1" in bad.stderr
    # report rebuilds the same numbers
    before = (sw / "summary.csv").read_text()
    run_seedexp(["report", "sw"], tmp_path, check_rc=0)
    assert (sw / "summary.csv").read_text() == before


def test_planted_failing_seed_loses_nothing(tmp_path):
    proc = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=fails_on", "seed=range(0,6)",
                        "hydra.sweep.dir=sw"], tmp_path)
    assert proc.returncode == 1
    s = read_json(tmp_path / "sw/summary.json")
    assert s["n_failed"] == 1 and s["n_ok"] == 5 and s["failures"][0]["seed"] == 3
    assert s["groups"][0]["metrics"]["score"]["n"] == 5
    assert "1 of 6 planned runs did not finish ok" in proc.stderr
    assert "planted failure for seed 3" in (tmp_path / "sw/summary.md").read_text()


def test_resume_reruns_exactly_the_missing_and_broken_runs(tmp_path):
    args = ["--config-dir", str(TEST_CONF), "-m", "experiment=fails_on", "seed=range(0,7)", "hydra.sweep.dir=sw"]
    assert run_seedexp(args, tmp_path).returncode == 1  # seed 3 fails
    base = records_by_seed(tmp_path / "sw")
    group = next(iter(base))[0]
    run_dir = lambda seed: tmp_path / "sw" / f"experiment=fails_on,seed={seed}"  # noqa: E731
    # simulate a kill and a change: one record deleted, one truncated, one from another config
    os.remove(run_dir(1) / "result.json")
    text = (run_dir(4) / "result.json").read_text()
    (run_dir(4) / "result.json").write_text(text[:40])
    other = read_json(run_dir(5) / "result.json")
    other["config_hash"] = "0" * 64
    (run_dir(5) / "result.json").write_text(json.dumps(other))
    proc = run_seedexp(args, tmp_path)
    assert proc.returncode == 1  # seed 3 still fails, and says so
    after = records_by_seed(tmp_path / "sw")
    rerun = sorted(s for (g, s), r in after.items() if r["started_at"] != base.get((g, s), {}).get("started_at"))
    assert rerun == [1, 3, 4, 5]  # missing, failed, truncated, other config: exactly those
    assert all(g == group for g, _ in after) and len(after) == 7


def test_sigkill_mid_sweep_leaves_no_half_record_and_resumes(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), PYTHONHASHSEED="0")
    args = [sys.executable, "-m", "seedexp", "--config-dir", str(TEST_CONF), "-m", "experiment=slow",
            "experiment.seconds=0.25", "seed=range(0,12)", "hydra.sweep.dir=sw"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "sw").rglob("result.json"))) < 3:
        assert proc.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = list((tmp_path / "sw").rglob("result.json"))
    assert 3 <= len(done) < 12
    statuses = [json.loads(path.read_text())["status"] for path in done]  # complete JSON, never half
    assert set(statuses) <= {"ok", "running"} and statuses.count("running") <= 1  # the killed run's marker
    before = {p.parent.name: read_json(p)["started_at"] for p in done if read_json(p)["status"] == "ok"}
    res = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=slow", "experiment.seconds=0.25",
                       "seed=range(0,12)", "hydra.sweep.dir=sw"], tmp_path, check_rc=0)
    after = {p.parent.name: read_json(p)["started_at"] for p in (tmp_path / "sw").rglob("result.json")}
    assert len(after) == 12 and all(after[k] == v for k, v in before.items())
    assert read_json(tmp_path / "sw/summary.json")["n_ok"] == 12
    assert res.returncode == 0


@pytest.mark.slow
def test_joblib_launcher_is_bitwise_identical_to_serial(tmp_path):
    common = ["--config-dir", str(TEST_CONF), "-m", "experiment=hash_order", "seed=range(0,4)"]
    run_seedexp([*common, "hydra.sweep.dir=serial"], tmp_path, check_rc=0)
    run_seedexp([*common, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweep.dir=par"], tmp_path,
                check_rc=0)
    run_seedexp(["-m", *CLF, "seed=range(0,4)", "hydra.sweep.dir=serial2"], tmp_path, check_rc=0)
    run_seedexp(["-m", *CLF, "seed=range(0,4)", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                 "hydra.sweep.dir=par2"], tmp_path, check_rc=0)
    for a, b in (("serial", "par"), ("serial2", "par2")):
        ra, rb = records_by_seed(tmp_path / a), records_by_seed(tmp_path / b)
        assert len(ra) == 4 and ra.keys() == rb.keys()
        for key in ra:
            assert json.dumps(ra[key]["metrics"]) == json.dumps(rb[key]["metrics"])
        pids = {r["host"]["pid"] for r in rb.values()}
        assert len(pids) >= 1
        sa = pd.read_csv(tmp_path / a / "summary.csv")
        sb = pd.read_csv(tmp_path / b / "summary.csv")
        assert sa.equals(sb)


def test_report_on_a_corrupt_record_is_one_line_and_keeps_the_file(tmp_path):
    run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=init_only", "seed=range(0,3)",
                 "hydra.sweep.dir=sw"], tmp_path, check_rc=0)
    bad = next((tmp_path / "sw").rglob("result.json"))
    bad.write_text("not json")
    proc = run_seedexp(["report", "sw"], tmp_path)
    assert proc.returncode == 1 and str(bad.relative_to(tmp_path)) in proc.stderr and "re-run the same command" in proc.stderr
    assert bad.read_text() == "not json"
    missing = run_seedexp(["report", "no_such_dir"], tmp_path)
    assert missing.returncode == 2 and "no_such_dir" in missing.stderr and len(missing.stderr.splitlines()) == 1


def test_a_bad_configuration_is_refused_before_any_run_and_earlier_records_are_kept(tmp_path):
    # the sweep composes each configuration once, before the runs of its slice (as Hydra's own
    # sweeper validates a batch): a later bad configuration costs no run, and loses none
    first = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=init_only", "seed=1",
                         "hydra.sweep.dir=sw"], tmp_path)
    assert first.returncode == 0, first.stderr
    proc = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=init_only,does_not_exist", "seed=1,2",
                        "hydra.sweep.dir=sw"], tmp_path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown experiment 'does_not_exist'" in lines[0]
    assert read_json(tmp_path / "sw" / "experiment=init_only,seed=1" / "result.json")["status"] == "ok"
    assert not (tmp_path / "sw" / "experiment=init_only,seed=2").exists()  # nothing ran
    assert "SeedexpSweeper" in (tmp_path / "sw" / "multirun.yaml").read_text()
    assert "partial summary (1 ok of 4 planned run(s)" in proc.stdout and (tmp_path / "sw" / "summary.md").is_file()
