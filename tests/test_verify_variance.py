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
    proc = run_seedexp(["variance", "--config-dir", str(TEST_CONF), "experiment=init_only", "--seeds", "20",
                        "--out", "v"], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "shuffle", "dropout", "init"}  # python/numpy: not drawn from
    assert (result["n"], result["design"]) == (20, "paired")
    table = result["table"]["score"]
    init = table["init"]
    assert init["std"] > 0.3 and init["n"] == 20  # N(0,1) draws, 20 pairs
    assert init["share_ci_low"] <= 1.0 <= init["share_ci_high"]  # the truth (init is the only source) is inside
    # run b of the init series repeats master seed b of 'all' with init alone pinned to a fresh value
    runs = {(r["seed"], bool(r.get("pins"))): r for r in map(read_json, (tmp_path / "v").glob("*/*/result.json"))
            if "experiment=init_only" in r["group"].split(",") and ("seedexp_variance=init" in r["group"]
                                                                or r["group"] == "experiment=init_only")}
    pinned, base = runs[(7, True)], runs[(7, False)]
    assert pinned["pins"] == {"init": 1000007} and pinned["streams"]["split"] == base["streams"]["split"]
    assert pinned["streams"]["init"] != base["streams"]["init"]
    for other in ("split", "cv", "shuffle", "dropout"):
        assert table[other]["std"] == 0.0 and table[other]["share"] == 0.0
    md = (tmp_path / "v/variance.md").read_text()
    assert (tmp_path / "v/variance.png").is_file() and "| init | 20 |" in md
    assert "share of total variance [95% CI]" in proc.stdout


def test_variance_options_are_checked_before_any_run(tmp_path):
    for args, words in ((["--seeds", "12"], ["--seeds 12", "fewer than 20 runs", "--seeds 20"]),
                        (["--seeds", "0"], ["--seeds '0'"]),
                        (["--confidence", "1.5"], ["--confidence '1.5'", "(0, 1)"]),
                        (["--base-seeds", "5"], ["--base-seeds 5: no longer needed"]),
                        (["seed=3"], ["variance sets seed"])):
        proc = run_seedexp(["variance", "experiment=imbalanced_clf", *args, "--out", "v"], tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert all(w in proc.stderr for w in words), proc.stderr
    assert not (tmp_path / "v").exists()


def _series(root, name, values):
    from seedexp.record import SCHEMA
    from seedexp.sweepdir import write_record

    for seed, v in enumerate(values):
        write_record(root / name / f"seed={seed}", {"schema": SCHEMA, "status": "ok", "seed": seed, "group": name,
                                                    "metrics": {"m": float(v)}})


@pytest.mark.fast
def test_variance_pairs_runs_by_seed_and_flags_few_runs_shares_above_100_percent_and_interaction(tmp_path):
    from seedexp.variance import decompose

    rng = np.random.default_rng(0)
    others, source = rng.normal(size=60), rng.normal(size=60)
    total = others + source * (1 + 2 * (others > 1))  # the source matters three times as much for some others
    _series(tmp_path, "all", total)
    _series(tmp_path, "init", others + rng.normal(size=60) * (1 + 2 * (others > 1)))  # init is that source
    _series(tmp_path, "split", total + rng.normal(0, 3, 60))  # noisy beyond the total: share > 100%
    _series(tmp_path, "cv", total[:8] + rng.normal(0, 0.1, 8))  # 8 runs only
    result = decompose(tmp_path, ["init", "split", "cv"], n=60)
    init, split, cv = (result["table"]["m"][k] for k in ("init", "split", "cv"))
    assert init["n"] == 60 and init["share_ci_low"] < init["share"] < init["share_ci_high"]
    assert any("varies with the other sources" in f for f in init["flags"])
    assert split["share"] > 1 and any("share > 100%" in f for f in split["flags"])
    assert cv["n"] == 8 and any("N=8 < 20" in f for f in cv["flags"])


@pytest.mark.slow
def test_variance_on_imbalanced_clf_gives_table_and_plot(tmp_path):
    proc = run_seedexp(["variance", "experiment=imbalanced_clf", "experiment.n_estimators=10",
                        "experiment.n_samples=400", "--seeds", "20", "--out", "v"],
                       tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = read_json(tmp_path / "v/variance.json")
    assert set(result["streams"]) == {"split", "cv", "resample", "model"}
    assert result["table"]["test_f1"]["split"]["std"] > 0
    assert (tmp_path / "v/variance.png").is_file() and (tmp_path / "v/variance.csv").is_file()
    assert "share of total variance" in proc.stdout and "jackknife interval over the pairs" in proc.stdout


def test_variance_studies_the_global_streams_an_experiment_draws_from(tmp_path, monkeypatch):
    from conftest import TESTS

    from seedexp.variance import discover_streams

    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.chdir(tmp_path)
    streams = discover_streams(["--config-dir", str(TEST_CONF), "experiment=hash_order"], tmp_path / "v", 0)
    assert streams == ["numpy", "python", "split"]  # random.random() and np.random.rand(): both studied
