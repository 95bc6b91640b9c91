"""Learning curves: series recorded in a run, stored beside result.json, aggregated into honest bands."""

from __future__ import annotations

import doctest
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import seedexp
from seedexp import series
from seedexp.stats import curves
from seedexp.errors import ConfigError, ExperimentError, RecordError


def smooth_curves(rng: np.random.Generator, reps: int, n: int, steps: int = 60, scale: float = 0.2) -> tuple:
    """``reps`` samples of ``n`` smooth curves: a mean curve plus a Gaussian process (squared-exponential
    kernel, length ``scale`` of the span) whose spread grows along the curve."""
    t = np.linspace(0.0, 1.0, steps)
    kernel = np.exp(-0.5 * (t[:, None] - t[None, :]) ** 2 / scale ** 2) + 1e-9 * np.eye(steps)
    chol = np.linalg.cholesky(kernel)
    mean = 0.9 - 0.5 * np.exp(-4 * t)
    noise = rng.standard_normal((reps, n, steps)) @ chol.T
    return mean, mean + noise * (0.02 + 0.05 * t)


# --------------------------------------------------------------------------- recording


@pytest.mark.fast
def test_the_log_keeps_steps_in_order_and_refuses_what_is_not_a_number():
    log = series.SeriesLog()
    log.log(0, loss=np.float32(0.5), acc=1)
    log.log(loss=0.25)
    arrays = log.arrays()
    assert arrays["loss"][0].tolist() == [0, 1] and arrays["loss"][1].tolist() == [0.5, 0.25]
    assert arrays["acc"][1].dtype == np.float64
    with pytest.raises(ExperimentError, match=r"^seedexp.log: 'loss' at step 1 after step 1; steps must increase"):
        log.log(1, loss=0.1)
    with pytest.raises(ExperimentError, match=r"^seedexp.log: step=-1 for 'acc' is not an integer >= 0"):
        log.log(-1, acc=0.1)
    with pytest.raises(ExperimentError, match=r"^seedexp.log: acc='high' \(str\) is not a number|acc='high' is a str"):
        log.log(5, acc="high")
    with pytest.raises(ExperimentError, match=r"^seedexp.log: acc has 3 elements; log one number per step"):
        log.log(5, acc=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ConfigError, match=r"^seedexp.log\(\) was called outside a seedexp run"):
        seedexp.log(0, loss=1.0)
    with pytest.raises(ConfigError, match="outside a seedexp run"):
        seedexp.SeedPlan(0).log(0, loss=1.0)


def noisy_training(seeds, lr=0.1, epochs=6):
    """A plain loop: seedexp.log, seeds.log and a returned list, all in one run."""
    rng = seeds.generator("init")
    acc = []
    for epoch in range(epochs):
        seedexp.log(epoch, loss=float(np.exp(-lr * epoch) + 0.05 * rng.random()))
        acc.append(0.5 + 0.4 * (1 - np.exp(-lr * epoch)) + 0.02 * rng.normal())
    seeds.log(0, lr=lr)
    return {"final_acc": acc[-1], "acc": acc, "eval": {"steps": [0, 10], "values": [0.1, 0.2]}}


@pytest.mark.fast
def test_a_run_writes_its_series_beside_the_record_and_resume_keeps_them(tmp_path):
    record = seedexp.run(noisy_training, seed=3, out=tmp_path)
    run_dir = tmp_path / "seed=3"
    assert record["status"] == "ok" and record["metrics"] == {"final_acc": pytest.approx(record["metrics"]["final_acc"])}
    index = record["series"]
    assert index["file"] == "series.npz" and set(index["metrics"]) == {"loss", "acc", "lr", "eval"}
    assert index["metrics"]["eval"] == {"n": 2, "first_step": 0, "last_step": 10}
    stored = json.loads((run_dir / "result.json").read_text())
    assert stored["series"] == index
    with np.load(run_dir / "series.npz", allow_pickle=False) as data:  # a plain .npz, no pickle
        assert str(data["schema"]) == series.SERIES_SCHEMA and list(data["names"]) == ["loss", "lr", "acc", "eval"]
    read = series.read_series(run_dir / "series.npz")
    assert read["acc"][1][-1] == record["metrics"]["final_acc"] and read["eval"][0].tolist() == [0, 10]
    assert not list(run_dir.glob(".*.tmp"))

    # the same seed again: bitwise the same series; resume does not touch the file
    again_dir = tmp_path / "again"
    seedexp.run(noisy_training, seed=3, out=again_dir)
    assert (again_dir / "seed=3" / "series.npz").read_bytes() == (run_dir / "series.npz").read_bytes()
    before = (run_dir / "series.npz").stat().st_mtime_ns
    resumed = seedexp.run(noisy_training, seed=3, out=tmp_path)
    assert resumed["resumed"] and (run_dir / "series.npz").stat().st_mtime_ns == before

    # a series file that was altered (or removed) is not complete: the run is done again
    (run_dir / "series.npz").write_bytes(b"not a series")
    redone = seedexp.run(noisy_training, seed=3, out=tmp_path)
    assert not redone.get("resumed") and series.intact(run_dir, redone)
    (run_dir / "series.npz").unlink()
    assert not seedexp.run(noisy_training, seed=3, out=tmp_path).get("resumed")


@pytest.mark.fast
def test_bad_series_fail_the_run_with_one_line_and_a_corrupt_file_is_named(tmp_path):
    def mismatched(seeds):
        return {"acc": {"steps": [0, 1, 2], "values": [0.1, 0.2]}}

    def twice(seeds):
        seedexp.log(0, acc=0.1)
        return {"acc": [0.1, 0.2]}

    for fn, words in ((mismatched, "series 'acc': 3 steps but 2 values"),
                      (twice, "series 'acc' was both logged with seedexp.log and returned")):
        record = seedexp.run(fn, seed=0, out=tmp_path / fn.__name__)
        assert record["status"] == "failed" and record["error"]["message"].startswith(words)
    bad = tmp_path / "series.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(RecordError, match=r"series.npz is not a readable seedexp series file .*re-run the same command"):
        series.read_series(bad)


# --------------------------------------------------------------------------- statistics


@pytest.mark.fast
def test_docstring_examples():
    for module in (curves, series):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


@pytest.mark.fast
def test_the_pointwise_band_is_scipys_t_interval_and_the_band_lies_between_pointwise_and_bonferroni():
    from scipy import stats

    rng = np.random.default_rng(1)
    _, Y = smooth_curves(rng, 1, 7)
    Y = Y[0]
    point = curves.pointwise_band(Y)
    ci = stats.ttest_1samp(Y, 0.0, axis=0).confidence_interval(0.95)
    np.testing.assert_allclose(point["ci_low"], ci.low, rtol=1e-12)
    np.testing.assert_allclose(point["ci_high"], ci.high, rtol=1e-12)
    band = curves.simultaneous_band(Y)
    assert stats.t.ppf(0.975, 6) < band["crit"] < stats.t.ppf(1 - 0.025 / Y.shape[1], 6)
    half = (point["ci_high"] - point["ci_low"]) / 2
    np.testing.assert_allclose(band["band_high"] - point["mean"], half * band["crit"] / stats.t.ppf(0.975, 6))
    # white noise across steps: the Kac-Rice value would exceed Bonferroni, which is used instead
    white = rng.standard_normal((6, 200))
    assert curves.simultaneous_band(white)["method"] == "bonferroni"


@pytest.mark.fast
@pytest.mark.parametrize("n", [5, 10])
def test_band_coverage_by_seeded_monte_carlo(n):
    """Pointwise bands cover the mean at a step, the simultaneous band the whole mean curve, >= 93% of the time."""
    rng = np.random.default_rng(20 + n)
    reps = 600
    mean, samples = smooth_curves(rng, reps, n)
    pointwise = simultaneous = 0
    for Y in samples:
        point = curves.pointwise_band(Y)
        band = curves.simultaneous_band(Y)
        k = rng.integers(Y.shape[1])
        pointwise += point["ci_low"][k] <= mean[k] <= point["ci_high"][k]
        simultaneous += bool(np.all((band["band_low"] <= mean) & (mean <= band["band_high"])))
    assert pointwise / reps >= 0.93, pointwise / reps
    assert simultaneous / reps >= 0.93, simultaneous / reps
    assert simultaneous / reps <= 0.99, "the band is far wider than it needs to be"


@pytest.mark.fast
def test_pointwise_bands_alone_do_not_cover_the_whole_curve():
    """Why the simultaneous band exists: the pointwise band misses somewhere far more than 5% of the time."""
    rng = np.random.default_rng(7)
    mean, samples = smooth_curves(rng, 300, 10)
    whole = sum(bool(np.all((p["ci_low"] <= mean) & (mean <= p["ci_high"])))
                for p in (curves.pointwise_band(Y) for Y in samples))
    assert whole / 300 < 0.85


@pytest.mark.fast
def test_scalar_summaries_by_hand_and_against_scipys_trapezoid():
    from scipy import integrate

    Y = np.array([[1.0, 0.6, 0.4, 0.5], [0.9, 0.8, 0.3, 0.2]])
    grid = np.array([0, 2, 3, 7])
    s = curves.curve_scalars(Y, grid, higher_is_better=False, threshold=0.45)
    assert s["final"].tolist() == [0.5, 0.2] and s["best"].tolist() == [0.4, 0.2]
    assert s["best_step"].tolist() == [3.0, 7.0] and s["steps_to_threshold"].tolist() == [3.0, 3.0]
    np.testing.assert_allclose(s["auc"], integrate.trapezoid(Y, grid, axis=1) / 7)
    never = curves.curve_scalars(Y, grid, threshold=2.0)["steps_to_threshold"]
    assert np.isnan(never).all()


@pytest.mark.fast
def test_alignment_rules():
    a, b = np.array([0, 1, 2, 3, 4]), np.array([0, 2, 4, 6])
    with pytest.raises(ConfigError, match=r"^curves of 'acc': B logged 4 steps 0..6 but A logged 5 steps 0..4 "
                                          r"\(first difference at step 1\); .*report.curve_align=common"):
        curves.align_grid([a, b], "exact", ["A", "B"], "acc")
    assert curves.align_grid([a, b], "common").tolist() == [0, 2, 4]
    grid = curves.align_grid([a, b], "interpolate")
    assert grid.tolist() == [0, 1, 2, 3, 4]
    assert curves.align(b, np.array([0.0, 2.0, 4.0, 6.0]), grid, "interpolate").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ConfigError, match="share 1 step"):
        curves.align_grid([np.array([0, 1]), np.array([1, 2])], "common")


# --------------------------------------------------------------------------- a sweep's summary


def curve_exp(seeds, lr=0.1, grid="even", nan_seed=-1):
    """Accuracy curves whose level depends on the seed (shared by configs) and the learning rate."""
    level = 0.05 * seeds.generator("init").normal()  # shared by the configurations of a seed
    rng = seeds.generator(f"noise/{lr}")
    steps = list(range(0, 20, 2)) if grid == "even" or seeds.master % 2 == 0 else list(range(0, 21, 3))
    for step in steps:
        value = 0.9 - 0.5 * math.exp(-lr * step) + level + 0.01 * rng.normal()
        seedexp.log(step, val_acc=math.nan if seeds.master == nan_seed and step == 4 else value)
    return {"speed": lr}


@pytest.mark.fast
def test_the_summary_holds_bands_scalars_and_paired_comparisons(tmp_path):
    from scipy import stats

    out = seedexp.sweep(curve_exp, seeds=6, params={"lr": [0.1, 0.3]}, out=tmp_path, progress=False,
                        report={"curve_threshold": {"val_acc": 0.7}, "baseline": "lr=0.1"}).data
    c = out["curves"]
    entry = c["metrics"]["val_acc"]
    assert entry["n_steps"] == 10 and entry["grid"] == {"first": 0, "last": 18} and entry["higher_is_better"]
    for group in ("lr=0.1", "lr=0.3"):
        g = entry["groups"][group]
        assert g["n"] == 6 and g["band_method"] == "kac-rice" and len(g["points"]["step"]) == 10
        p = g["points"]
        assert all(bl <= lo <= m <= hi <= bh for bl, lo, m, hi, bh in
                   zip(p["band_low"], p["ci_low"], p["mean"], p["ci_high"], p["band_high"]))
        assert g["scalars"]["steps_to_threshold"]["reached"] == 6
    # the comparison of a scalar is the paired t-test of the per-seed values
    data = {}
    for group in ("lr=0.1", "lr=0.3"):
        for seed in range(6):
            steps, values = series.read_metric(tmp_path / f"lr={group[3:]},seed={seed}" / "series.npz", "val_acc")
            data[(group, seed)] = values[-1]
    final = next(x for x in c["comparisons"] if x["summary"] == "final")
    assert (final["a"], final["b"]) == ("lr=0.3", "lr=0.1")
    expected = stats.ttest_rel([data[("lr=0.3", s)] for s in range(6)], [data[("lr=0.1", s)] for s in range(6)])
    assert final["pvalue"] == pytest.approx(expected.pvalue, rel=1e-9) and final["better"] == "lr=0.3"
    assert {x["summary"] for x in c["comparisons"]} == set(curves.SCALARS)
    assert all(x["family_size"] == len([y for y in c["comparisons"] if y["pvalue"] is not None])
               for x in c["comparisons"])
    # the files: csv, one figure, a section in summary.md
    csv_rows = (tmp_path / "curves.csv").read_text().splitlines()
    assert csv_rows[0] == "metric,group,step,n,mean,sd,ci_low,ci_high,band_low,band_high" and len(csv_rows) == 21
    assert (tmp_path / "curves_val_acc.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "summary.md").read_text()
    assert "## Curves (per-step series)" in md and "![val_acc: mean per step" in md and "Kac-Rice" in md
    assert json.loads((tmp_path / "summary.json").read_text())["curves"]["metrics"]["val_acc"]["n_steps"] == 10


@pytest.mark.fast
def test_misaligned_steps_are_refused_with_one_line_or_aligned_as_declared(tmp_path):
    from seedexp.summary_files import write_summary

    seedexp.sweep(curve_exp, seeds=4, params={"grid": ["mixed"]}, out=tmp_path, progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    refused = summary["curves"]["metrics"]["val_acc"]["refused"]
    assert "\n" not in refused and refused.startswith("curves of 'val_acc': grid=mixed,seed=1 logged 7 steps 0..18 "
                                                      "but grid=mixed,seed=0 logged 10 steps 0..18")
    assert refused in summary["warnings"] and "report.curve_align=interpolate" in refused
    assert f"⚠ Not aggregated: {refused}" in (tmp_path / "summary.md").read_text()
    common = write_summary(tmp_path, curve_align="common")["curves"]["metrics"]["val_acc"]
    assert common["n_steps"] == 4 and common["grid"] == {"first": 0, "last": 18}  # steps 0, 6, 12, 18
    inter = write_summary(tmp_path, curve_align="interpolate")["curves"]["metrics"]["val_acc"]
    assert inter["n_steps"] == 13 and inter["groups"]["grid=mixed"]["n"] == 4
    with pytest.raises(ConfigError, match=r"^report.curve_align='nearest': expected one of exact, common, interpolate"):
        from seedexp.stats.options import check_options

        check_options({"curve_align": "nearest"}, style="config")


@pytest.mark.fast
def test_a_seed_with_a_non_finite_value_is_left_out_and_named(tmp_path):
    out = seedexp.sweep(curve_exp, seeds=5, params={"nan_seed": [2]}, out=tmp_path, progress=False).data
    g = out["curves"]["metrics"]["val_acc"]["groups"]["nan_seed=2"]
    assert g["n"] == 4 and g["n_nonfinite"] == 1
    assert any("1 seed(s) have a non-finite value on the grid (seeds 2)" in w for w in out["warnings"])


# --------------------------------------------------------------------------- frameworks (a fresh process)


def test_series_from_a_keras_fit_and_a_plain_pytorch_loop_are_recorded_and_resumed(tmp_path):
    import subprocess
    import sys

    from conftest import ROOT, TESTS

    pytest.importorskip("torch")
    pytest.importorskip("keras")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(TESTS / "curves_frameworks.py"), str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    keras_out, torch_out, resume, index = lines
    assert resume == {"fn": "resume", "untouched": True, "files": 8}
    assert keras_out["n_ok"] == 2 and keras_out["curves"] == {"loss": {"(defaults)": 2}, "val_loss": {"(defaults)": 2}}
    assert torch_out["n_ok"] == 2 and torch_out["curves"] == {"loss": {"(defaults)": 2}, "weight": {"(defaults)": 2}}
    assert index["series"]["file"] is None and set(index["series"]["metrics"]) == {"loss", "weight"}
    for name, metrics in (("keras_fit", {"loss", "val_loss"}), ("torch_loop", {"loss", "weight"})):
        for seed in (0, 1):
            run_dir = tmp_path / name / f"seed={seed}"
            record = json.loads((run_dir / "result.json").read_text())
            read = series.read_series(run_dir / "series.npz")
            assert set(read) == metrics and series.intact(run_dir, record)
            assert all(steps.tolist() == [0, 1, 2] and np.isfinite(values).all() for steps, values in read.values())
            assert not list(run_dir.glob(".*.tmp"))
    first = series.read_series(tmp_path / "torch_loop" / "seed=0" / "series.npz")
    other = series.read_series(tmp_path / "torch_loop" / "seed=1" / "series.npz")
    assert first["loss"][1].tolist() != other["loss"][1].tolist()  # another seed, another curve


# --------------------------------------------------------------------------- README


CURVES_PAGE = "docs/how-to/curves.md"


def curves_readme() -> str:
    from docs_pages import section

    return section(CURVES_PAGE)


@pytest.mark.fast
def test_the_readme_shows_a_curve_picture_and_the_command_that_makes_it():
    import re

    from conftest import ROOT

    section = curves_readme()
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
    assert command.startswith("seedexp -m experiment=digits_curves ") and "\n" not in command
    (picture,) = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", section)
    assert ((ROOT / CURVES_PAGE).parent / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_readme_command_makes_the_curve_figures(tmp_path):
    import re
    import shlex

    from conftest import run_seedexp

    (command,) = re.findall(r"```bash\n(.*?)\n```", curves_readme(), flags=re.S)
    args = [a if not a.startswith("seed=") else "seed=range(0,3)" for a in shlex.split(command)[1:]]
    args = [a for a in args if not a.startswith("hydra.sweep.dir=")] + [f"hydra.sweep.dir={tmp_path / 'sw'}",
                                                                       "experiment.epochs=5"]
    run_seedexp(args, cwd=tmp_path, check_rc=0)
    summary = json.loads((tmp_path / "sw" / "summary.json").read_text())
    entry = summary["curves"]["metrics"]["val_accuracy"]
    assert sorted(entry["groups"]) == [f"experiment.epochs=5,experiment.lr={lr},experiment=digits_curves"
                                       for lr in ("0.001", "0.01")]
    assert all(g["n"] == 3 and g["n_steps"] == 5 for g in entry["groups"].values())
    assert (tmp_path / "sw" / "curves_val_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert "![val_accuracy: mean per step" in (tmp_path / "sw" / "summary.md").read_text()
