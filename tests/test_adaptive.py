"""Adaptive seed sweeps (``seed=auto``) through the real CLI, and the pieces they rest on.

The planted experiment (tests/planted_adaptive.py, experiment=noisy_score) draws
``score`` with a known sd, so the seed count at which a target is met is a few
batches away and the whole file runs in seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from conftest import ROOT, TEST_CONF, read_json, run_seedexp
from seedexp.hydra.plan import launcher_parallelism
from seedexp.report import stopping_section
from seedexp.sweepdir import load_stopping
from seedexp.sequential import CONFIG_KEYS, StopRule, fixed_width_halfwidth

NOISY = ["--config-dir", str(TEST_CONF), "-m", "experiment=noisy_score"]


def records(sweep):
    """(group, seed) -> record of every result.json under ``sweep``."""
    out = {}
    for path in sweep.rglob("result.json"):
        r = read_json(path)
        out[(r["group"], r["seed"])] = r
    return out


def test_adaptive_sweep_stops_at_the_target_and_resumes_to_the_same_decision(tmp_path):
    args = [*NOISY, "seed=auto", "stop.halfwidth=0.6", "stop.max_seeds=30", "stop.metric=score",
            "hydra.sweep.dir=sw"]
    first = run_seedexp(args, tmp_path, check_rc=0)
    sw = tmp_path / "sw"
    stopping = read_json(sw / "stopping.json")
    n = stopping["n_seeds"]
    assert stopping["stop"] and stopping["cause"] == "halfwidth" and 5 < n < 30
    assert stopping["metric"] == "score" and stopping["metric_source"] == "stop.metric"
    assert stopping["design"] == "group_sequential" and stopping["looks"] == list(range(5, n + 1))  # 1 seed a batch
    (group,) = stopping["groups"]
    assert group["group"] == "experiment=noisy_score" and group["method"] == "fixed-width"
    # seeds 0..n-1 and nothing else, in run dirs named as the fixed sweep names them (no stop.*)
    recs = records(sw)
    assert sorted(recs) == [("experiment=noisy_score", k) for k in range(n)]
    assert sorted(p.name for p in sw.glob("experiment=*")) == sorted(f"experiment=noisy_score,seed={k}" for k in range(n))
    # the interval reported is the fixed-width interval of those records: mean +/- the target
    values = np.array([recs[("experiment=noisy_score", k)]["metrics"]["score"] for k in range(n)])
    assert group["low"] == pytest.approx(values.mean() - 0.6) and group["high"] == pytest.approx(values.mean() + 0.6)
    assert group["rule_halfwidth"] == pytest.approx(fixed_width_halfwidth(values.std(ddof=1), n))
    assert group["rule_halfwidth"] <= 0.6
    assert fixed_width_halfwidth(values[:-1].std(ddof=1), n - 1) > 0.6  # it stopped at the first count that met it
    # every planned run is accounted for
    plan = read_json(sw / "sweep.json")
    assert [p["seed"] for p in plan["planned"]] == list(range(n))
    summary = read_json(sw / "summary.json")
    assert summary["stopping"]["n_seeds"] == n and summary["n_runs"] == summary["n_ok"] == n
    md = (sw / "summary.md").read_text()
    assert "## Verdict of seed=auto" in md and stopping["reason"] in md and "fixed-width" in md
    assert "the stop rule watches score (stop.metric)" in first.stdout
    assert first.stdout.strip().splitlines()[-1].startswith(f"seedexp: seed=auto stopped: {stopping['reason']}")

    # the same command again: nothing runs, the same decision
    again = run_seedexp(args, tmp_path, check_rc=0)
    assert {k: r["started_at"] for k, r in records(sw).items()} == {k: r["started_at"] for k, r in recs.items()}
    assert read_json(sw / "stopping.json") == stopping
    assert again.stdout.strip().splitlines()[-1] == first.stdout.strip().splitlines()[-1]

    # the adaptive sweep is a prefix of the fixed one: seed=range(0,n) re-uses every run
    run_seedexp([*NOISY, f"seed=range(0,{n})", "hydra.sweep.dir=sw"], tmp_path, check_rc=0)
    assert {k: r["started_at"] for k, r in records(sw).items()} == {k: r["started_at"] for k, r in recs.items()}
    assert not (sw / "stopping.json").exists() and "stopping" not in read_json(sw / "summary.json")


def test_two_configurations_decide_a_planted_difference(tmp_path):
    proc = run_seedexp([*NOISY, "experiment.mean=0,1", "experiment.own_sd=0.5", "seed=auto", "stop.decide=true",
                        "stop.baseline='experiment.mean=0'", "stop.max_seeds=40", "stop.metric=score",
                        "hydra.sweep.dir=sw"],
                       tmp_path, check_rc=0)
    stopping = read_json(tmp_path / "sw" / "stopping.json")
    assert stopping["stop"] and stopping["cause"] == "decided" and stopping["n_seeds"] < 40
    assert stopping["metric"] == "score"
    (cmp,) = stopping["comparisons"]
    base = "experiment.mean=0,experiment.own_sd=0.5,experiment=noisy_score"
    assert cmp["baseline"] == base and cmp["group"] == base.replace("mean=0", "mean=1")
    assert cmp["state"] == "better" and cmp["low"] > 0 and cmp["p_value"] <= 0.05
    md = (tmp_path / "sw" / "summary.md").read_text()
    assert "decided" in proc.stdout and "| **better** |" in md and "repeated p" in md
    # the verdict of the design that was run comes first; the fixed-n tables after it, labelled
    assert md.index("## Verdict of seed=auto (group-sequential design)") < md.index("**Method of the fixed-n tables:**") \
        < md.index("## Paired comparisons (same seeds) — fixed-n, not valid at a seed=auto stop")
    assert "fixed-n, not valid at a seed=auto stop" in md and "not valid here" in md
    assert "**experiment.mean=1" not in md.split("## Paired comparisons")[1]  # no bold fixed-n verdict
    assert read_json(tmp_path / "sw" / "summary.json")["stopping"]["fixed_n_tables_valid"] is False
    recs = records(tmp_path / "sw")
    assert len(recs) == 2 * stopping["n_seeds"]  # both configurations, same seeds


def test_without_stop_metric_the_first_metric_alphabetically_is_watched_and_named(tmp_path):
    # noisy_score also reports n_params (constant): picked when nothing names the metric, and said so;
    # with no maximum the sweep is open-ended, and the confidence sequence holds at any stop
    proc = run_seedexp([*NOISY, "seed=auto", "stop.halfwidth=0.5", "stop.max_seeds=null", "hydra.sweep.dir=sw"],
                       tmp_path, check_rc=0)
    assert "the stop rule watches n_params (the first metric alphabetically" in proc.stdout
    assert "no maximum (confidence-sequence design)" in proc.stdout
    stopping = read_json(tmp_path / "sw" / "stopping.json")
    assert stopping["metric"] == "n_params" and stopping["cause"] == "halfwidth" and stopping["n_seeds"] == 5
    assert stopping["design"] == "confidence_sequence" and stopping["groups"][0]["method"] == "anytime-valid"


def test_a_failed_seed_is_left_out_and_a_sweep_where_every_run_fails_halts(tmp_path):
    proc = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=fails_on", "seed=auto",
                        "stop.halfwidth=2.0", "stop.max_seeds=30", "hydra.sweep.dir=sw"], tmp_path)
    assert proc.returncode == 1  # seed 3 failed: the sweep stops on the others, and says a run failed
    stopping = read_json(tmp_path / "sw" / "stopping.json")
    assert stopping["stop"] and stopping["groups"][0]["n"] == stopping["n_seeds"] - 1
    halted = run_seedexp(["--config-dir", str(TEST_CONF), "-m", "experiment=returns_text_metric", "seed=auto",
                          "stop.halfwidth=0.1", "stop.max_seeds=50", "hydra.sweep.dir=bad"], tmp_path)
    assert halted.returncode == 1
    assert "no run of experiment=returns_text_metric gave a finite" in halted.stderr
    assert len(records(tmp_path / "bad")) == 5  # min_seeds, not max_seeds
    assert read_json(tmp_path / "bad" / "stopping.json")["cause"] == "failed_runs"


@pytest.mark.parametrize("args, message", [
    (["seed=auto"], "seed=auto needs something to stop on: set stop.halfwidth="),
    (["seed=auto", "stop.halfwidth=-1"], "stop.halfwidth=-1 is not accepted"),
    (["seed=range(0,3)", "stop.halfwidth=0.1"], "stop.halfwidth=0.1 has no effect without seed=auto"),
    (["seed=auto", "stop.decide=true", "stop.baseline=nope", "experiment.mean=0,1"],
     "stop.baseline 'nope' matches no group"),
    (["seed=auto", "stop.decide=true", "stop.baseline='experiment=noisy_score'"],
     "stop.decide=true needs two or more groups"),
])
def test_stop_settings_are_checked_before_anything_runs(tmp_path, args, message):
    proc = run_seedexp([*NOISY, *args, "hydra.sweep.dir=sw"], tmp_path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("seedexp: error: ") and message in lines[0], proc.stderr
    assert not list(tmp_path.rglob("result.json"))


# -- the pieces, in process ----------------------------------------------------


@pytest.mark.fast
def test_the_stop_block_lists_every_key_with_the_rules_defaults():
    block = yaml.safe_load((ROOT / "seedexp" / "conf" / "seedexp.yaml").read_text())["stop"]
    assert tuple(block) == CONFIG_KEYS
    assert StopRule.from_config({**block, "halfwidth": 0.01}) == StopRule(halfwidth=0.01)


@pytest.mark.fast
@pytest.mark.parametrize("launcher, max_batch_size, expected", [
    ({"n_jobs": 3}, None, 3),
    ({"n_jobs": -1}, None, "cpus"),
    ({"array_parallelism": 32, "partition": None}, 4, 32),
    ({"ray": {"init": {"address": None, "num_cpus": 8}, "remote": {"num_cpus": 2}}}, None, 4),
    ({"ray": {"init": {"address": "auto"}, "remote": {"num_cpus": 1}}}, 6, 6),
    ({}, 5, 5),
    ({}, None, 1),
])
def test_batch_size_follows_the_launchers_parallelism(launcher, max_batch_size, expected):
    import os

    config = OmegaConf.create({"hydra": {"launcher": launcher}})
    want = len(os.sched_getaffinity(0)) if expected == "cpus" else expected
    assert launcher_parallelism(config, max_batch_size) == want


@pytest.mark.fast
def test_report_shows_a_stopping_decision_and_refuses_a_foreign_file(tmp_path):
    assert load_stopping(tmp_path) == (None, None)
    (tmp_path / "stopping.json").write_text(json.dumps({"schema": "other"}))
    data, problem = load_stopping(tmp_path)
    assert data is None and "not a seedexp stopping decision" in problem
    decision = {"schema": "seedexp.stopping/1", "stop": False, "cause": None, "reason": "continue after 7 seeds: x",
                "n_seeds": 7, "method": "M", "confidence": 0.95, "metric": "acc", "metric_source": "stop.metric",
                "groups": [{"group": "g", "n": 7, "mean": 0.5, "low": None, "high": None, "halfwidth": None}],
                "comparisons": [], "rule": {"halfwidth": 0.01}}
    (tmp_path / "stopping.json").write_text(json.dumps(decision))
    data, problem = load_stopping(tmp_path)
    text = "\n".join(stopping_section({"stopping": data}))
    assert problem is None and "**Not stopped:**" in text and "[unbounded, unbounded]" in text
    assert "stop.halfwidth=0.01" in text and not np.isnan(data["groups"][0]["mean"])
    assert "holds runs of seeds ≥ 7" not in text
    later = stopping_section({"stopping": data, "runs": [{"seed": 7, "status": "ok"}]})
    assert "holds runs of seeds ≥ 7, which the rule did not look at" in "\n".join(later)
    assert stopping_section({}) == []
