"""The Hydra app end to end, in fresh processes: records, reproducibility, errors."""

from __future__ import annotations

import json

import pytest

from conftest import TEST_CONF, only_record, read_json, run_seedexp

CLF = ["experiment=imbalanced_clf", "experiment.n_estimators=10", "experiment.n_samples=500"]


def test_record_schema_and_bitwise_reproducible_across_processes(tmp_path):
    records = []
    for i, hash_seed in enumerate(["1", "98765"]):
        cwd = tmp_path / f"cwd{i}"
        cwd.mkdir()
        run_seedexp([*CLF, "seed=12321"], cwd, env={"PYTHONHASHSEED": hash_seed}, check_rc=0)
        records.append(only_record(cwd / "outputs"))
        raw = next((cwd / "outputs").rglob("result.json")).read_text()
        assert json.loads(raw)["metrics"] == records[-1]["metrics"]
    a, b = records
    assert json.dumps(a["metrics"]) == json.dumps(b["metrics"])  # byte-identical
    assert a["streams"] == b["streams"]
    assert set(a["metrics"]) == {"cv_balanced_accuracy", "test_balanced_accuracy", "test_f1", "test_roc_auc"}
    assert a["status"] == "ok" and a["seed"] == 12321 and a["seed_drawn"] is False
    assert {"split", "cv", "resample", "model/random_state", "python", "numpy"} <= set(a["streams"])
    assert a["determinism"]["PYTHONHASHSEED"] == "0" and a["determinism"]["hash_randomization"] is False
    assert {"python", "numpy", "sklearn", "imblearn", "seedexp"} <= set(a["versions"])
    assert "torch" not in a["versions"] and "tensorflow" not in a["versions"]
    assert a["config_hash"] == b["config_hash"] and len(a["config_hash"]) == 64
    assert a["overrides"] == [*CLF, "seed=12321"] and a["group"] == ",".join(sorted(CLF))
    assert a["duration_s"] > 0


def test_other_master_seed_gives_other_metrics(tmp_path):
    run_seedexp([*CLF, "seed=1", "hydra.run.dir=r1"], tmp_path, check_rc=0)
    run_seedexp([*CLF, "seed=2", "hydra.run.dir=r2"], tmp_path, check_rc=0)
    assert read_json(tmp_path / "r1/result.json")["metrics"] != read_json(tmp_path / "r2/result.json")["metrics"]


def test_pinned_stream_changes_only_what_it_should(tmp_path):
    # model=lr is deterministic given its data: the `model` stream moves nothing,
    # while pinning `split` changes the split and so the metrics.
    lr = [*CLF, "experiment.model=lr", "seed=5"]
    run_seedexp([*lr, "hydra.run.dir=free"], tmp_path, check_rc=0)
    run_seedexp([*lr, "pin.model=7", "hydra.run.dir=pm"], tmp_path, check_rc=0)
    run_seedexp([*lr, "pin.split=7", "hydra.run.dir=ps"], tmp_path, check_rc=0)
    free, pm, ps = (read_json(tmp_path / d / "result.json") for d in ("free", "pm", "ps"))
    assert pm["metrics"] == free["metrics"] and pm["pins"] == {"model": 7}
    assert ps["metrics"] != free["metrics"] and ps["streams"]["split"] == 7
    for stream in ("cv", "resample", "python", "numpy"):
        assert ps["streams"][stream] == free["streams"][stream]


def test_hashing_and_global_rngs_do_not_depend_on_the_callers_hash_seed(tmp_path):
    # planted.hash_order iterates a set of str (order follows hash()) and draws
    # from random / np.random: all must be fixed by seedexp.
    outs = []
    for hs in ("0", "1", "31337"):
        run_seedexp(["--config-dir", str(TEST_CONF), "experiment=hash_order", "seed=3", f"hydra.run.dir=h{hs}"],
                    tmp_path, env={"PYTHONHASHSEED": hs}, check_rc=0)
        outs.append(read_json(tmp_path / f"h{hs}/result.json")["metrics"])
    assert outs[0] == outs[1] == outs[2]


def test_basic_launcher_jobs_do_not_leak_global_state(tmp_path):
    # Job for seed 3 run alone == job for seed 3 run after other jobs in one process.
    run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=hash_order", "seed=1,2,3",
                 "hydra.sweep.dir=sweep"], tmp_path, check_rc=0)
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=hash_order", "seed=3", "hydra.run.dir=alone"],
                tmp_path, check_rc=0)
    in_sweep = only_record(tmp_path / "sweep" / "experiment=hash_order,seed=3")
    assert in_sweep["metrics"] == read_json(tmp_path / "alone/result.json")["metrics"]


def test_seed_null_draws_and_records_entropy(tmp_path):
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=hash_order", "seed=null", "hydra.run.dir=a"],
                tmp_path, check_rc=0)
    rec = read_json(tmp_path / "a/result.json")
    assert rec["seed_drawn"] is True and rec["seed"] >= 2**64
    run_seedexp(["--config-dir", str(TEST_CONF), "experiment=hash_order", f"seed={rec['seed']}",
                 "hydra.run.dir=b"], tmp_path, check_rc=0)
    assert read_json(tmp_path / "b/result.json")["metrics"] == rec["metrics"]


def test_failing_experiment_writes_failed_record_and_traceback(tmp_path):
    proc = run_seedexp(["--config-dir", str(TEST_CONF), "experiment=fails_on", "seed=3", "hydra.run.dir=f"],
                       tmp_path)
    assert proc.returncode == 1
    rec = read_json(tmp_path / "f/result.json")
    assert rec["status"] == "failed" and rec["error"] == {"type": "RuntimeError", "message": "planted failure for seed 3"}
    assert "Traceback" in (tmp_path / "f/traceback.txt").read_text()
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "planted failure for seed 3" in err[0] and "traceback.txt" in err[0]
    assert "Traceback" not in proc.stderr


BAD_INPUTS = [
    (["seed=abc"], "seed='abc' cannot be used as a seed"),
    (["seed=-3"], "seed=-3 cannot be used as a seed"),
    (["seed=1.5"], "seed=1.5 cannot be used as a seed"),
    (["pin.init=x"], "pin.init='x' cannot be used as a seed"),
    (["experiment=does_not_exist"], "unknown experiment 'does_not_exist'; available:"),
    (["experiment=broken_target"], "experiment._target_='planted.nonexistent_function' cannot be imported"),
    (["experiment=broken_module"], "experiment._target_='no_such_module.run' cannot be imported"),
    (["experiment=returns_list"], "returned list, not a dict"),
    (["experiment=returns_text_metric"], "metric 'acc' is 'high' (str), not a number"),
]


@pytest.mark.parametrize("overrides,message", BAD_INPUTS, ids=[b[0][0] for b in BAD_INPUTS])
def test_bad_input_is_one_line_and_nonzero(tmp_path, overrides, message):
    proc = run_seedexp(["--config-dir", str(TEST_CONF), *overrides], tmp_path)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_experiment_lists_the_available_ones(tmp_path):
    proc = run_seedexp(["experiment=nope"], tmp_path)
    assert proc.returncode == 2 and "imbalanced_clf" in proc.stderr and "--config-dir" in proc.stderr


def test_full_error_shows_the_traceback(tmp_path):
    proc = run_seedexp(["seed=abc"], tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "SeedError" in proc.stderr


def test_python_dash_m_and_console_script_agree(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("seedexp")
    assert script.exists(), "the console script is installed next to python"
    run_seedexp([*CLF, "seed=9", "hydra.run.dir=m"], tmp_path, check_rc=0)
    subprocess.run([str(script), *CLF, "seed=9", "hydra.run.dir=s"], cwd=tmp_path, check=True, capture_output=True)
    assert read_json(tmp_path / "m/result.json")["metrics"] == read_json(tmp_path / "s/result.json")["metrics"]
