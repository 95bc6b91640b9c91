"""Aggregation: grouping, statistics vs numpy/scipy, bootstrap determinism, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from seedexp.aggregate import aggregate, describe, paired, summarize
from seedexp.errors import RecordError, SeedError
from seedexp.record import SCHEMA, group_of, write_record

VALUES = [0.71, 0.64, 0.69, 0.75, 0.70, 0.66, 0.73, 0.68]


def rec(group_overrides, seed, metrics, status="ok"):
    overrides = [*group_overrides, f"seed={seed}"]
    r = {"schema": SCHEMA, "status": status, "seed": seed, "overrides": overrides, "group": group_of(overrides),
         "metrics": metrics if status == "ok" else {}}
    if status == "failed":
        r["error"] = {"type": "RuntimeError", "message": "boom"}
    return r


def test_group_ignores_seed_and_order():
    assert group_of(["b=1", "seed=3", "a=2"]) == group_of(["seed=9", "a=2", "b=1"]) == "a=2,b=1"
    assert group_of(["seed=1"]) == "(defaults)"


def test_statistics_match_numpy_and_scipy():
    x = np.array(VALUES)
    s = describe(VALUES, np.random.default_rng(0))
    assert s["n"] == 8
    assert s["mean"] == pytest.approx(x.mean())
    assert s["std"] == pytest.approx(x.std(ddof=1))
    assert s["sem"] == pytest.approx(stats.sem(x))
    assert s["median"] == pytest.approx(np.median(x))
    # IQM of 8 values: the mean of the middle 4
    assert s["iqm"] == pytest.approx(np.sort(x)[2:6].mean())
    assert (s["min"], s["max"]) == (x.min(), x.max())
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (s["t_ci_low"], s["t_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert s["ci_low"] < s["mean"] < s["ci_high"]
    assert x.min() <= s["ci_low"] and s["ci_high"] <= x.max()


def test_single_value_has_no_spread():
    s = describe([0.5], np.random.default_rng(0))
    assert s["mean"] == 0.5 and s["std"] is None and s["t_ci_low"] is None and s["ci_low"] == 0.5


def _sweep(tmp_path, groups):
    for gi, (overrides, by_seed) in enumerate(groups):
        for seed, metrics in by_seed.items():
            r = rec(overrides, seed, metrics, status="failed" if metrics is None else "ok")
            write_record(tmp_path / f"g{gi}" / f"s{seed}", r)
    return tmp_path


def test_grouping_by_non_seed_overrides(tmp_path):
    rng = np.random.default_rng(1)
    _sweep(tmp_path, [
        (["experiment.model=rf"], {s: {"acc": float(rng.random())} for s in range(5)}),
        (["experiment.model=lr"], {s: {"acc": float(rng.random())} for s in range(5)}),
    ])
    summary = aggregate(tmp_path)
    names = [g["group"] for g in summary["groups"]]
    assert names == ["experiment.model=lr", "experiment.model=rf"]
    assert all(g["n_ok"] == 5 and g["seeds"] == [0, 1, 2, 3, 4] for g in summary["groups"])


def test_bootstrap_ci_is_identical_across_reports_and_controlled_by_its_seed(tmp_path):
    rng = np.random.default_rng(2)
    _sweep(tmp_path, [(["m=a"], {s: {"acc": float(rng.random())} for s in range(20)})])
    first, second = aggregate(tmp_path), aggregate(tmp_path)
    ci = lambda s: (s["groups"][0]["metrics"]["acc"]["ci_low"], s["groups"][0]["metrics"]["acc"]["ci_high"])  # noqa: E731
    assert ci(first) == ci(second)
    assert ci(aggregate(tmp_path, bootstrap_seed=1)) != ci(first)
    np.random.seed(123)  # the global RNG has no say
    assert ci(aggregate(tmp_path)) == ci(first)
    with pytest.raises(SeedError):
        aggregate(tmp_path, bootstrap_seed=-1)


def test_bootstrap_does_not_depend_on_group_order():
    recs = [rec(["m=a"], s, {"acc": s / 10}) for s in range(6)] + [rec(["m=b"], s, {"acc": s / 7}) for s in range(6)]
    assert summarize(recs)["groups"] == summarize(list(reversed(recs)))["groups"]


def test_paired_comparison_detects_a_planted_difference_and_not_a_null_one():
    rng = np.random.default_rng(3)
    base = rng.normal(0.7, 0.05, 30)  # seed-to-seed variation shared by both configs
    better = base + 0.02 + rng.normal(0, 0.003, 30)
    same = base + rng.normal(0, 0.003, 30)
    hit = paired(better, base, np.random.default_rng(0))
    assert hit["mean_diff"] == pytest.approx(0.02, abs=0.003)
    assert hit["t_pvalue"] < 1e-6 and hit["wilcoxon_pvalue"] < 1e-4 and hit["p_a_gt_b"] == 1.0
    assert hit["ci_low"] > 0
    null = paired(same, base, np.random.default_rng(0))
    assert null["t_pvalue"] > 0.05 and null["wilcoxon_pvalue"] > 0.05
    assert null["ci_low"] < 0 < null["ci_high"]
    assert null["t_pvalue"] == pytest.approx(stats.ttest_rel(same, base).pvalue)
    assert null["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(same, base).pvalue)


def test_comparisons_pair_by_seed_only_on_shared_seeds():
    recs = [rec(["m=a"], s, {"acc": 1.0 + s}) for s in range(5)] + [rec(["m=b"], s, {"acc": float(s)}) for s in range(2, 8)]
    comp = summarize(recs)["comparisons"]
    assert len(comp) == 1 and comp[0]["n_pairs"] == 3 and comp[0]["mean_diff"] == 1.0
    assert comp[0]["p_a_gt_b"] == 1.0 and comp[0]["t_pvalue"] is None  # identical diffs: no variance


def test_failures_are_counted_and_listed(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: None, 2: {"acc": 0.7}})])
    s = aggregate(tmp_path)
    assert s["n_failed"] == 1 and s["n_ok"] == 2
    assert s["groups"][0]["metrics"]["acc"]["n"] == 2 and s["groups"][0]["metrics"]["acc"]["n_failed"] == 1
    assert s["failures"][0]["seed"] == 1 and s["failures"][0]["message"] == "boom"


def test_corrupt_record_is_reported_not_deleted(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    bad = tmp_path / "g0" / "s1" / "result.json"
    bad.write_text('{"schema": "seedexp.result/1", "sta')
    s = aggregate(tmp_path)
    assert s["n_runs"] == 1 and len(s["corrupt"]) == 1 and str(bad) in s["corrupt"][0]
    assert "re-run the same command" in s["corrupt"][0]
    assert bad.exists()


def test_missing_or_empty_sweep_dir_errors_name_it(tmp_path):
    with pytest.raises(RecordError, match="does not exist"):
        aggregate(tmp_path / "nope")
    with pytest.raises(RecordError, match="no result.json"):
        aggregate(tmp_path)


def test_nan_metrics_are_excluded_from_statistics():
    recs = [rec(["m=a"], 0, {"acc": 0.5}), rec(["m=a"], 1, {"acc": None}), rec(["m=a"], 2, {"acc": 0.7})]
    st = summarize(recs)["groups"][0]["metrics"]["acc"]
    assert st["n"] == 2 and math.isclose(st["mean"], 0.6)
