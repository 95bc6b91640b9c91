"""seedexp verify and seedexp variance, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TEST_CONF, read_json, run_seedexp


@pytest.mark.parametrize("overrides", [
    ["experiment=imbalanced_clf", "experiment.n_estimators=10", "experiment.n_samples=400"],
    ["experiment=torch_digits", "experiment.epochs=1"],
    ["experiment=keras_sequence", "experiment.epochs=10"],
], ids=["imbalanced_clf", "torch_digits", "keras_sequence"])
def test_verify_passes_on_every_shipped_example(tmp_path, overrides):
    proc = run_seedexp(["verify", *overrides, "seed=5"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REPRODUCIBLE" in proc.stdout and "NOT" not in proc.stdout


def test_verify_fails_on_a_planted_unseeded_source(tmp_path):
    proc = run_seedexp(["verify", "--config-dir", str(TEST_CONF), "experiment=unseeded", "--runs", "3"], tmp_path)
    assert proc.returncode == 1
    assert "NOT REPRODUCIBLE" in proc.stdout and "metric 'score' differs" in proc.stdout
    assert "unseeded source" in proc.stdout and "runs kept in" in proc.stdout


def test_verify_bad_arguments(tmp_path):
    proc = run_seedexp(["verify", "--runs", "1"], tmp_path)
    assert proc.returncode == 2 and "--runs 1" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = run_seedexp(["verify", "seed=abc"], tmp_path)
    assert proc.returncode == 1 and "seed='abc'" in proc.stderr


def test_variance_attributes_an_init_only_metric_to_init(tmp_path):
    proc = run_seedexp(["variance", "--config-dir", str(TEST_CONF), "experiment=init_only", "--seeds", "10",
                        "--base-seeds", "2", "--out", "v"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "shuffle", "dropout", "init"}  # python/numpy: not drawn from
    assert (result["n"], result["base_seeds"], result["values_per_base"]) == (10, 2, 5)
    table = result["table"]["score"]
    init = table["init"]
    assert init["std"] > 0.3 and init["df"] == 8  # N(0,1) draws; 2 base seeds x (5 - 1)
    assert init["share_ci_low"] <= 1.0 <= init["share_ci_high"]  # the truth (init is the only source) is inside
    for other in ("split", "cv", "shuffle", "dropout"):
        assert table[other]["std"] == 0.0 and table[other]["share"] == 0.0
    md = (tmp_path / "v/variance.md").read_text()
    assert (tmp_path / "v/variance.png").is_file() and "| init | 10 |" in md
    assert "share of total variance [95% CI]" in proc.stdout


def test_variance_options_are_checked_before_any_run(tmp_path):
    for args, words in ((["--seeds", "12"], ["--seeds 12", "--base-seeds"]), (["--seeds", "0"], ["--seeds '0'"]),
                        (["--confidence", "1.5"], ["--confidence '1.5'", "(0, 1)"]),
                        (["--base-seeds", "-1"], ["--base-seeds '-1'"]),
                        (["seed=3"], ["variance sets seed"])):
        proc = run_seedexp(["variance", "experiment=imbalanced_clf", *args, "--out", "v"], tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert all(w in proc.stderr for w in words), proc.stderr
    assert not (tmp_path / "v").exists()


def _series(root, name, values_by_base):
    from seedexp.record import SCHEMA
    from seedexp.sweepdir import write_record

    for base, values in values_by_base.items():
        for i, v in enumerate(values):
            write_record(root / name / f"base{base}" / f"r{i}", {"schema": SCHEMA, "status": "ok", "seed": base,
                                                                 "group": name, "metrics": {"m": v}})


@pytest.mark.fast
def test_variance_flags_few_runs_and_shares_above_100_percent(tmp_path):
    from seedexp.variance import decompose

    rng = np.random.default_rng(0)
    _series(tmp_path, "init", {0: list(rng.normal(0, 3, 4)), 1: list(rng.normal(0, 3, 4))})
    _series(tmp_path, "split", {0: list(rng.normal(0, 0.1, 4)), 1: list(rng.normal(0, 0.1, 4))})
    _series(tmp_path, "all", {s: [float(rng.normal())] for s in range(8)})
    result = decompose(tmp_path, ["init", "split"], n=8, base_seeds=2)
    init, split = result["table"]["m"]["init"], result["table"]["m"]["split"]
    assert init["share"] > 1 and any("share > 100%" in f for f in init["flags"])
    assert all(any("N=8 < 10" in f for f in row["flags"]) for row in (init, split))
    assert split["share_ci_low"] < split["share"] < split["share_ci_high"]


@pytest.mark.slow
def test_variance_on_imbalanced_clf_gives_table_and_plot(tmp_path):
    proc = run_seedexp(["variance", "experiment=imbalanced_clf", "experiment.n_estimators=10",
                        "experiment.n_samples=400", "--seeds", "4", "--base-seeds", "2", "--out", "v"],
                       tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "resample", "model"}
    assert result["table"]["test_f1"]["split"]["std"] > 0
    assert (tmp_path / "v/variance.png").is_file() and (tmp_path / "v/variance.csv").is_file()
    assert "share of total variance" in proc.stdout and "N=4 < 10: too few runs" in proc.stdout


def test_variance_studies_the_global_streams_an_experiment_draws_from(tmp_path, monkeypatch):
    from conftest import TESTS

    from seedexp.variance import discover_streams

    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.chdir(tmp_path)
    streams = discover_streams(["--config-dir", str(TEST_CONF), "experiment=hash_order"], tmp_path / "v", 0)
    assert streams == ["numpy", "python", "split"]  # random.random() and np.random.rand(): both studied
