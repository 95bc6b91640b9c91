"""Aggregation: grouping, statistics vs numpy/scipy, determinism, run statuses, options, what report may write."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from seedexp.stats.estimators import describe, paired
from seedexp.stats.summary import summarize
from seedexp.sweepdir import aggregate
from seedexp.errors import ConfigError, RecordError, SeedError
from seedexp.record import SCHEMA, group_of
from seedexp.sweepdir import write_record
from seedexp.report import to_markdown
from seedexp.summary_files import write_summary

VALUES = [0.71, 0.64, 0.69, 0.75, 0.70, 0.66, 0.73, 0.68]


def rec(group_overrides, seed, metrics, status="ok"):
    overrides = [*group_overrides, f"seed={seed}"]
    r = {"schema": SCHEMA, "status": status, "seed": seed, "overrides": overrides, "group": group_of(overrides),
         "metrics": metrics if status == "ok" else {}}
    if status == "failed":
        r["error"] = {"type": "RuntimeError", "message": "boom"}
    return r


@pytest.mark.fast
def test_group_ignores_seed_and_order():
    assert group_of(["b=1", "seed=3", "a=2"]) == group_of(["seed=9", "a=2", "b=1"]) == "a=2,b=1"
    assert group_of(["seed=1"]) == "(defaults)"


@pytest.mark.fast
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
    # the headline interval is Student t
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (s["ci_low"], s["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    # below bootstrap_min_n (20) there is no bootstrap interval at all
    assert s["boot_ci_low"] is None and s["boot_ci_high"] is None


@pytest.mark.fast
def test_single_value_has_no_spread_and_no_interval():
    s = describe([0.5], np.random.default_rng(0))
    assert s["mean"] == 0.5 and s["std"] is None and s["ci_low"] is None and s["ci_high"] is None
    assert s["boot_ci_low"] is None and s["median_ci_low"] is None


@pytest.mark.fast
def test_constant_series_has_an_exact_zero_spread():
    s = describe([0.25] * 6, np.random.default_rng(0))
    assert s["std"] == 0.0 and s["ci_low"] == s["ci_high"] == 0.25
    # 0.1 * 6 / 6 rounds to 0.09999999999999999: the interval is the value, not the rounded mean
    s = describe([0.1] * 6, np.random.default_rng(0))
    assert s["ci_low"] == s["mean"] == s["ci_high"] == 0.1


def _sweep(tmp_path, groups):
    for gi, (overrides, by_seed) in enumerate(groups):
        for seed, metrics in by_seed.items():
            r = rec(overrides, seed, metrics, status="failed" if metrics is None else "ok")
            write_record(tmp_path / f"g{gi}" / f"s{seed}", r)
    return tmp_path


@pytest.mark.fast
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


@pytest.mark.fast
def test_bootstrap_ci_is_identical_across_reports_and_controlled_by_its_seed(tmp_path):
    rng = np.random.default_rng(2)
    _sweep(tmp_path, [(["m=a"], {s: {"acc": float(rng.random())} for s in range(20)})])
    first, second = aggregate(tmp_path), aggregate(tmp_path)
    ci = lambda s: (s["groups"][0]["metrics"]["acc"]["boot_ci_low"], s["groups"][0]["metrics"]["acc"]["boot_ci_high"])  # noqa: E731
    assert ci(first)[0] is not None and ci(first) == ci(second)
    assert ci(aggregate(tmp_path, bootstrap_seed=1)) != ci(first)
    np.random.seed(123)  # the global RNG has no say
    assert ci(aggregate(tmp_path)) == ci(first)
    with pytest.raises(SeedError):
        aggregate(tmp_path, bootstrap_seed=-1)


@pytest.mark.fast
def test_same_records_give_a_bitwise_identical_summary(tmp_path):
    rng = np.random.default_rng(5)
    _sweep(tmp_path, [(["m=a"], {s: {"acc": float(rng.random())} for s in range(25)}),
                      (["m=b"], {s: {"acc": float(rng.random())} for s in range(25)})])
    dump = lambda: json.dumps(aggregate(tmp_path, test="permutation"), sort_keys=True)  # noqa: E731
    assert dump() == dump()


@pytest.mark.fast
def test_bootstrap_does_not_depend_on_group_order():
    recs = [rec(["m=a"], s, {"acc": s / 10}) for s in range(6)] + [rec(["m=b"], s, {"acc": s / 7}) for s in range(6)]
    assert summarize(recs)["groups"] == summarize(list(reversed(recs)))["groups"]


@pytest.mark.fast
def test_paired_comparison_detects_a_planted_difference_and_not_a_null_one():
    rng = np.random.default_rng(3)
    base = rng.normal(0.7, 0.05, 30)  # seed-to-seed variation shared by both configs
    better = base + 0.02 + rng.normal(0, 0.003, 30)
    same = base + rng.normal(0, 0.003, 30)
    hit = paired(better, base)
    assert hit["mean_diff"] == pytest.approx(0.02, abs=0.003)
    assert hit["pvalue"] < 1e-6 and hit["wins"] == 30 and hit["win_rate"] == 1.0
    assert hit["ci_low"] > 0 and hit["d_z_ci_low"] > 1
    null = paired(same, base)
    assert null["pvalue"] > 0.05
    assert null["ci_low"] < 0 < null["ci_high"]
    assert null["pvalue"] == pytest.approx(stats.ttest_rel(same, base).pvalue)
    lo, hi = stats.ttest_rel(same, base).confidence_interval(0.95)
    assert (null["ci_low"], null["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


@pytest.mark.fast
def test_comparisons_pair_by_seed_only_on_shared_seeds():
    recs = [rec(["m=a"], s, {"acc": 1.0 + s}) for s in range(5)] + [rec(["m=b"], s, {"acc": float(s)}) for s in range(2, 8)]
    comp = summarize(recs)["comparisons"]
    assert len(comp) == 1 and comp[0]["n_pairs"] == 3 and comp[0]["mean_diff"] == 1.0
    assert comp[0]["wins"] == 3 and comp[0]["win_rate"] == 1.0
    assert comp[0]["pvalue"] is None and comp[0]["better"] is None  # identical diffs: no variance, no test


@pytest.mark.fast
def test_failures_are_counted_and_listed(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: None, 2: {"acc": 0.7}})])
    s = aggregate(tmp_path)
    assert s["n_failed"] == 1 and s["n_ok"] == 2 and s["n_not_ok"] == 1
    g = s["groups"][0]
    assert g["metrics"]["acc"]["n"] == 2 and g["n_failed"] == 1 and g["n_runs"] == 3
    assert s["not_ok"][0]["seed"] == 1 and s["not_ok"][0]["message"] == "boom" and s["not_ok"][0]["status"] == "failed"


def _plan(tmp_path, planned):
    (tmp_path / "sweep.json").write_text(json.dumps({"schema": "seedexp.sweep/1", "planned": planned}))


@pytest.mark.fast
def test_every_planned_run_is_listed_ok_failed_crashed_or_missing(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: None, 2: {"acc": 0.7}, 3: {"acc": 0.6}})])
    running = rec(["m=a"], 3, {})
    running["status"], running["metrics"] = "running", {}
    write_record(tmp_path / "g0" / "s3", running)  # the process died: the marker is left
    _plan(tmp_path, [{"group": "m=a", "seed": s, "path": f"g0/s{s}"} for s in range(5)])
    s = aggregate(tmp_path)
    status = {r["seed"]: r["status"] for r in s["runs"]}
    assert status == {0: "ok", 1: "failed", 2: "ok", 3: "crashed", 4: "missing"}
    assert (s["n_ok"], s["n_failed"], s["n_crashed"], s["n_missing"], s["n_runs"]) == (2, 1, 1, 1, 5)
    g = s["groups"][0]
    assert (g["n_ok"], g["n_failed"], g["n_crashed"], g["n_missing"]) == (2, 1, 1, 1)
    md = to_markdown(s)
    for seed, word in ((1, "failed"), (3, "crashed"), (4, "missing")):
        assert f"- seed {seed} (m=a): **{word}**" in md


@pytest.mark.fast
def test_planned_runs_match_records_without_a_path(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    _plan(tmp_path, [{"group": "m=a", "seed": s, "overrides": ["m=a", f"seed={s}"]} for s in range(3)])
    s = aggregate(tmp_path)
    assert [r["status"] for r in s["runs"]] == ["ok", "ok", "missing"]


@pytest.mark.fast
def test_summarize_names_a_missing_record_field():
    with pytest.raises(RecordError, match="has no 'group' field"):
        summarize([{"seed": 0, "status": "ok", "metrics": {}}])
    with pytest.raises(RecordError, match="is ok but has no 'metrics'"):
        summarize([{"group": "g", "seed": 0, "status": "ok"}])


@pytest.mark.fast
def test_direction_and_verdict_follow_the_metric():
    recs = [rec(["m=a"], s, {"val_loss": 1.0 + 0.01 * s, "acc": 0.8 + 0.01 * s}) for s in range(8)]
    recs += [rec(["m=b"], s, {"val_loss": 1.2 + 0.01 * s + 0.001 * (s % 3), "acc": 0.7 + 0.01 * s + 0.001 * (s % 3)})
             for s in range(8)]
    s = summarize(recs)
    assert s["higher_is_better"] == {"acc": True, "val_loss": False}
    verdict = {c["metric"]: c["better"] for c in s["comparisons"]}
    assert verdict == {"acc": "m=a", "val_loss": "m=a"}  # a has the higher accuracy AND the lower loss
    loss = next(c for c in s["comparisons"] if c["metric"] == "val_loss")
    assert loss["wins"] == 8  # a "win" is a better (lower) loss
    flipped = summarize(recs, higher_is_better={"val_loss": True})
    assert {c["metric"]: c["better"] for c in flipped["comparisons"]}["val_loss"] == "m=b"


@pytest.mark.fast
def test_baseline_and_primary_metric():
    recs = [rec([f"m={m}"], s, {"acc": 0.5 + 0.01 * s + 0.1 * i + 0.001 * (s % 2) * i, "f1": 0.1 * s})
            for i, m in enumerate("abc") for s in range(6)]
    s = summarize(recs, baseline="m=a", primary_metric="f1")
    assert {(c["a"], c["b"]) for c in s["comparisons"]} == {("m=b", "m=a"), ("m=c", "m=a")}
    assert s["metrics"][0] == "f1" and {c["family"] for c in s["comparisons"]} == {"primary", "secondary"}
    with pytest.raises(ConfigError, match="matches no group"):
        summarize(recs, baseline="m=z")
    with pytest.raises(ConfigError, match="primary_metric"):
        summarize(recs, primary_metric="auc")


@pytest.mark.fast
@pytest.mark.parametrize("options, words", [
    ({"n_resamples": 0}, ["n_resamples=0", "[100, 100000]"]),
    ({"n_resamples": -5}, ["n_resamples=-5"]),
    ({"n_resamples": 1e9}, ["n_resamples=1000000000.0", "[100, 100000]"]),
    ({"confidence": 1.5}, ["confidence=1.5", "(0, 1)"]),
    ({"confidence": float("nan")}, ["confidence=nan", "(0, 1)"]),
    ({"confidence": 0}, ["confidence=0", "(0, 1)"]),
    ({"correction": "sidak"}, ["correction='sidak'", "holm, bh, none"]),
    ({"test": "wilcoxon"}, ["test='wilcoxon'", "t, permutation"]),
    ({"power": 1}, ["power=1"]),
    ({"target_halfwidth": -0.1}, ["target_halfwidth=-0.1"]),
    ({"nonsense": 1}, ["unknown report option(s) nonsense"]),
])
def test_options_are_range_checked_before_any_work(tmp_path, options, words):
    with pytest.raises(ConfigError) as err:
        aggregate(tmp_path / "does-not-exist", **options)  # the option error comes first
    assert all(w in str(err.value) for w in words) and "\n" not in str(err.value)


@pytest.mark.fast
def test_corrupt_record_is_reported_not_deleted(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    bad = tmp_path / "g0" / "s1" / "result.json"
    bad.write_text('{"schema": "seedexp.result/1", "sta')
    s = aggregate(tmp_path)
    assert s["n_runs"] == 1 and len(s["corrupt"]) == 1 and str(bad) in s["corrupt"][0]
    assert "re-run the same command" in s["corrupt"][0]
    assert bad.exists()


@pytest.mark.fast
def test_missing_or_empty_sweep_dir_errors_name_it(tmp_path):
    with pytest.raises(RecordError, match="does not exist"):
        aggregate(tmp_path / "nope")
    with pytest.raises(RecordError, match="no seedexp run record"):
        aggregate(tmp_path)


@pytest.mark.fast
def test_report_refuses_a_foreign_directory_and_leaves_it_untouched(tmp_path):
    (tmp_path / "result.json").write_text('{"accuracy": 0.9}')  # someone else's result.json
    (tmp_path / "summary.json").write_text('{"mine": true}')
    with pytest.raises(RecordError, match="no seedexp run record") as err:
        write_summary(tmp_path)
    assert "not a usable seedexp run record" in str(err.value) and "\n" not in str(err.value)
    assert (tmp_path / "summary.json").read_text() == '{"mine": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json", "summary.json"]


@pytest.mark.fast
def test_report_does_not_overwrite_a_summary_that_is_not_ours(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    (tmp_path / "summary.json").write_text('{"schema": "someone.else/3"}')
    with pytest.raises(ConfigError, match="not a seedexp summary.*--out DIR"):
        write_summary(tmp_path)
    assert (tmp_path / "summary.json").read_text() == '{"schema": "someone.else/3"}'
    (tmp_path / "summary.json").unlink()
    (tmp_path / "summary.md").write_text("my notes")
    with pytest.raises(ConfigError, match="no seedexp summary.json"):
        write_summary(tmp_path)
    assert (tmp_path / "summary.md").read_text() == "my notes"
    out = tmp_path / "elsewhere"
    s = write_summary(tmp_path, out_dir=out, png=False)
    assert s["out_dir"] == str(out.absolute()) and json.loads((out / "summary.json").read_text())["n_ok"] == 2
    assert (tmp_path / "summary.md").read_text() == "my notes"


@pytest.mark.fast
def test_report_overwrites_its_own_summary(tmp_path):
    _sweep(tmp_path, [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    write_summary(tmp_path, png=False)
    write_summary(tmp_path, png=False, confidence=0.9)
    assert json.loads((tmp_path / "summary.json").read_text())["options"]["confidence"] == 0.9


@pytest.mark.fast
def test_nan_metrics_are_excluded_from_statistics():
    recs = [rec(["m=a"], 0, {"acc": 0.5}), rec(["m=a"], 1, {"acc": None}), rec(["m=a"], 2, {"acc": 0.7})]
    st = summarize(recs)["groups"][0]["metrics"]["acc"]
    assert st["n"] == 2 and math.isclose(st["mean"], 0.6)


@pytest.mark.fast
def test_a_sweep_where_nothing_ran_still_gets_a_summary_naming_every_run(tmp_path):
    _plan(tmp_path, [{"group": "m=a", "seed": s, "overrides": ["m=a", f"seed={s}"]} for s in range(3)])
    s = write_summary(tmp_path)
    assert s["n_missing"] == 3 and s["metrics"] == [] and (tmp_path / "summary.png").is_file()
    assert to_markdown(s).count("**missing**") == 3


def test_the_config_report_block_is_the_report_options_with_their_defaults():
    from pathlib import Path

    import yaml

    import seedexp
    from seedexp.stats.options import DEFAULTS, check_options

    conf = yaml.safe_load((Path(seedexp.__file__).parent / "conf" / "seedexp.yaml").read_text())
    assert conf["report"] == DEFAULTS
    assert check_options(conf["report"], style="config") == DEFAULTS
    with pytest.raises(ConfigError, match=r"report.confidence=2 is out of range"):
        check_options({**conf["report"], "confidence": 2}, style="config")


def test_report_command_errors_are_one_line_and_touch_nothing(tmp_path):
    from conftest import run_seedexp

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "result.json").write_text('{"accuracy": 0.9}')
    (foreign / "summary.json").write_text('{"mine": true}')
    proc = run_seedexp(["report", str(foreign)], tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "no seedexp run record" in proc.stderr
    assert (foreign / "summary.json").read_text() == '{"mine": true}'
    sweep = _sweep(tmp_path / "sweep", [(["m=a"], {0: {"acc": 0.5}, 1: {"acc": 0.6}})])
    for flag, value, accepted in (("--resamples", "1e9", "[100, 100000]"), ("--resamples", "0", "[100, 100000]"),
                                  ("--confidence", "nan", "(0, 1)"), ("--confidence", "1.5", "(0, 1)")):
        for sub in ("report", "compare", "plan"):
            proc = run_seedexp([sub, str(sweep), flag, value, *(["--halfwidth", "0.01"] if sub == "plan" else [])],
                               tmp_path)
            assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
            assert f"{flag}='{value}'" in proc.stderr and accepted in proc.stderr
    assert not (sweep / "summary.json").exists()


@pytest.mark.fast
def test_plan_and_compare_print_without_writing(tmp_path, capsys):
    from seedexp._cli_report import main_compare, main_plan, main_report

    rng = np.random.default_rng(4)
    sweep = _sweep(tmp_path, [([f"m={m}"], {s: {"acc": float(rng.normal(0.7 + 0.05 * i, 0.02))} for s in range(6)})
                              for i, m in enumerate("ab")])
    assert main_plan([str(sweep), "--halfwidth", "0.01", "--difference", "acc=0.02"]) == 0
    out = capsys.readouterr().out
    assert "seeds for ±target" in out and "(±0.01)" in out and "(Δ=0.02)" in out
    assert main_compare([str(sweep), "--metric", "acc", "--test", "permutation"]) == 0
    assert "sign-flip permutation" in capsys.readouterr().out
    assert main_report([str(sweep), "--no-write"]) == 0
    assert "# seedexp summary" in capsys.readouterr().out and not (sweep / "summary.json").exists()
    with pytest.raises(ConfigError, match="--halfwidth H"):
        main_plan([str(sweep)])
