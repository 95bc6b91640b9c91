"""seedexp verify and seedexp variance, end to end."""

from __future__ import annotations

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
    proc = run_seedexp(["variance", "--config-dir", str(TEST_CONF), "experiment=init_only", "--seeds", "12",
                        "--out", "v"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "shuffle", "dropout", "init"}
    table = result["table"]["score"]
    assert table["init"]["share"] > 0.3 and table["init"]["std"] > 0.3  # N(0,1) draws
    for other in ("split", "cv", "shuffle", "dropout"):
        assert table[other]["std"] == 0.0 and table[other]["share"] == 0.0
    assert (tmp_path / "v/variance.png").is_file() and "| init |" in (tmp_path / "v/variance.md").read_text()


@pytest.mark.slow
def test_variance_on_imbalanced_clf_gives_table_and_plot(tmp_path):
    proc = run_seedexp(["variance", "experiment=imbalanced_clf", "experiment.n_estimators=10",
                        "experiment.n_samples=400", "--seeds", "4", "--out", "v"], tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "resample", "model"}
    assert result["table"]["test_f1"]["split"]["std"] > 0
    assert (tmp_path / "v/variance.png").is_file() and (tmp_path / "v/variance.csv").is_file()
    assert "share of total variance" in proc.stdout
