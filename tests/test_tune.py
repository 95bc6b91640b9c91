"""seedexp.tune: common seeds, adaptive seeds, finalists on fresh seeds, exact resume, parallel = serial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import seedexp
import tune_experiments as te
from seedexp.errors import ConfigError

pytest.importorskip("optuna")

SPACE = {"x": "interval(0, 1)", "kind": ["a", "b"]}


#: Streams a framework adapter hands out in every run of a process that imported the framework
#: (TensorFlow's global seed from ``shuffle``): an earlier test of this process may have imported it,
#: a fresh worker process has not.
_PROCESS_STREAMS = ("shuffle",)


def _records(root: Path) -> dict[str, dict]:
    """Every record under root, keyed by run dir, with what must not change between two runs of a study."""
    out = {}
    for path in sorted(root.rglob("result.json")):
        rec = json.loads(path.read_text())
        rec["streams"] = {k: v for k, v in rec["streams"].items() if k not in _PROCESS_STREAMS}
        out[str(path.parent.relative_to(root))] = {k: rec[k] for k in ("group", "seed", "status", "metrics", "streams",
                                                                        "config_hash")}
    return out


def _trials(result) -> list[tuple]:
    return [(t["number"], t["params"], t["state"], t["objective"], t["seeds"]) for t in result.data["trials"]]


def test_finds_the_optimum_and_every_trial_runs_the_same_seeds(tmp_path):
    r = seedexp.tune(te.bowl, SPACE, seeds=3, n_trials=15, finalists=3, out=tmp_path, progress=False)
    assert r.best["kind"] == te.OPTIMUM["kind"] and abs(r.best["x"] - te.OPTIMUM["x"]) < 0.15
    frame = r.trials
    assert list(frame["number"]) == list(range(15)) and set(frame["state"]) == {"complete"}
    assert all(t["seeds"] == [0, 1, 2] for t in r.data["trials"])  # common random numbers
    assert {"param_x", "param_kind", "objective", "ci_low", "ci_high"} <= set(frame.columns)
    # the objective is the mean of the per-seed values, recorded as ordinary records
    t0 = r.data["trials"][0]
    assert t0["objective"] == pytest.approx(sum(t0["values"]["score"].values()) / 3)
    assert seedexp.summarize(tmp_path / "search").data["n_ok"] == 45
    # finalists on fresh seeds never used in the search, compared with the winner (paired t, Holm)
    fresh = r.data["fresh_seeds"]
    assert fresh == [3, 4, 5] and len(r.finalists) == 3
    assert r.finalists[0]["vs_winner"] == "winner of the search"
    for f in r.finalists[1:]:
        assert f["test"] == "t" and f["p_adjusted"] is not None and f["p_adjusted"] >= f["pvalue"]
    fresh_runs = seedexp.summarize(tmp_path / "fresh").data
    assert fresh_runs["n_ok"] == 9 and {run["seed"] for run in fresh_runs["runs"]} == {3, 4, 5}
    for name in ("tuning.json", "trials.csv", "finalists.csv", "tuning.md", "tuning.png", "search/summary.json",
                 "fresh/summary.json"):
        assert (tmp_path / name).is_file(), name
    md = (tmp_path / "tuning.md").read_text()
    assert "search score vs fresh score" in md and "Verdict" in md


@pytest.mark.fast
def test_fresh_seeds_show_the_optimism_of_the_search(tmp_path):
    # every configuration is equally good (true loss 0): the search's best scores are luck
    r = seedexp.tune(te.flat, {"x": "interval(0, 1)"}, seeds=3, n_trials=10, finalists=3, out=tmp_path,
                     progress=False, plots=False)
    assert r.data["directions"] == ["minimize"]  # a loss, by its name
    optimism = [f["optimism"] for f in r.finalists]
    assert all(o > 0 for o in optimism), optimism  # each finalist looked better in the search than on fresh seeds
    assert r.data["optimism_mean"] == pytest.approx(sum(optimism) / 3)
    for f in r.finalists:  # search scores are below the truth (0), fresh intervals cover it
        assert f["search_objective"] < 0 and f["fresh_ci_low"] < 0 < f["fresh_ci_high"]
    assert "holds" in r.verdict


def test_a_killed_search_resumes_without_repeating_a_finished_run(tmp_path):
    kwargs = dict(seeds=3, n_trials=8, finalists=2, progress=False, plots=False)
    te.CALLS.clear()
    whole = seedexp.tune(te.bowl, SPACE, out=tmp_path / "whole", **kwargs)
    n_whole = len(te.CALLS)
    te.CALLS.clear()
    te.KILL_AT[:] = [14]
    try:
        with pytest.raises(KeyboardInterrupt):
            seedexp.tune(te.bowl, SPACE, out=tmp_path / "cut", **kwargs)
    finally:
        te.KILL_AT.clear()
    assert len(te.CALLS) == 14
    finished = set(te.CALLS[:13])
    te.CALLS.clear()
    resumed = seedexp.tune(te.bowl, SPACE, out=tmp_path / "cut", **kwargs)
    assert not finished & set(te.CALLS)  # zero finished runs repeated
    assert len(te.CALLS) == n_whole - 13
    assert _trials(resumed) == _trials(whole) and resumed.best == whole.best
    assert _records(tmp_path / "cut") == _records(tmp_path / "whole")
    te.CALLS.clear()
    again = seedexp.tune(te.bowl, SPACE, out=tmp_path / "cut", **kwargs)  # a finished study: nothing runs
    assert te.CALLS == [] and _trials(again) == _trials(whole)


def test_n_jobs_1_and_2_give_the_same_trials_and_records(tmp_path):
    kwargs = dict(seeds=6, n_trials=8, finalists=2, fresh_seeds=2, progress=False, plots=False,
                  adaptive={"min_seeds": 5, "batch": 1})
    one = seedexp.tune(te.bowl, SPACE, n_jobs=1, out=tmp_path / "one", **kwargs)
    two = seedexp.tune(te.bowl, SPACE, n_jobs=2, out=tmp_path / "two", **kwargs)
    assert {"complete", "stopped"} <= {t[2] for t in _trials(one)}  # the adaptive rule acted
    assert _trials(one) == _trials(two)
    assert _records(tmp_path / "one") == _records(tmp_path / "two")
    assert one.finalists == two.finalists and one.best == two.best


def test_adaptive_seeds_stop_clearly_worse_trials_and_give_contenders_every_seed(tmp_path):
    r = seedexp.tune(te.bowl, SPACE, seeds=8, n_trials=12, finalists=2, out=tmp_path, progress=False, plots=False,
                     adaptive={"min_seeds": 5, "batch": 1})
    trials = r.data["trials"]
    stopped = [t for t in trials if t["state"] == "stopped"]
    complete = [t for t in trials if t["state"] == "complete"]
    assert stopped and complete
    assert all(t["n_seeds"] < 8 for t in stopped) and all(t["n_seeds"] == 8 for t in complete)
    for t in stopped:  # only truly worse configurations were stopped, each against a trial that ran every seed
        inc = trials[t["stopped"]["incumbent"]]
        truth = [1.0 - (p["x"] - 0.3) ** 2 - (0.0 if p["kind"] == "a" else 0.15) for p in (t["params"], inc["params"])]
        assert truth[0] < truth[1] and inc["state"] == "complete"
        assert t["seeds"] == list(range(t["n_seeds"]))  # a prefix of the same search seeds
    assert r.best["kind"] == "a"
    assert r.study.trials[stopped[0]["number"]].state.name == "PRUNED"


@pytest.mark.fast
def test_bound_statistic_a_changed_study_and_report_of_the_root(tmp_path, capsys):
    r = seedexp.tune(te.bowl, SPACE, seeds=3, n_trials=4, finalists=1, statistic="bound", out=tmp_path,
                     progress=False, plots=False)
    t = r.data["trials"][0]
    assert t["objective"] == t["stats"]["score"]["ci_low"] < t["stats"]["score"]["mean"]
    with pytest.raises(ConfigError, match="holds a tuning study with another statistic"):
        seedexp.tune(te.bowl, SPACE, seeds=3, n_trials=4, finalists=1, out=tmp_path, progress=False, plots=False)
    from seedexp.cli import main

    assert main(["report", str(tmp_path)]) == 2  # one summary of both phases would mix search and fresh seeds
    assert "is a tuning study: report its two sweeps one at a time" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "search"), "--no-write"]) == 0


@pytest.mark.fast
def test_the_search_is_optunas_own_study_on_the_mean_over_seeds(tmp_path):
    """The same sampler seed and the same objective in plain Optuna: the same trials and values (TPE past its
    10 random start-up trials; the metric found from the first run, as when it is not named)."""
    import numpy as np
    import optuna

    from seedexp.seeds import SeedPlan

    r = seedexp.tune(te.bowl, SPACE, seeds=2, n_trials=12, finalists=1, out=tmp_path, progress=False, plots=False)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=SeedPlan(0).seed("tune.sampler")))

    def objective(trial):
        params = {"x": trial.suggest_float("x", 0, 1), "kind": trial.suggest_categorical("kind", ["a", "b"])}
        return float(np.mean([seedexp.run(te.bowl, seed=s, **params)["metrics"]["score"] for s in (0, 1)]))

    study.optimize(objective, n_trials=12)
    assert [t["params"] for t in r.data["trials"]] == [t.params for t in study.trials]
    assert [t["objective"] for t in r.data["trials"]] == [t.value for t in study.trials]


@pytest.mark.fast
def test_multi_objective_finalists_are_the_pareto_front(tmp_path):
    r = seedexp.tune(te.two_goals, {"x": "interval(0, 1)"}, seeds=2, n_trials=5, metric=["score", "cost"],
                     finalists=2, out=tmp_path, progress=False, plots=False, report={"higher_is_better": {"cost": False}})
    assert r.data["directions"] == ["maximize", "minimize"] and r.data["identity"]["sampler"] == "nsga2"
    assert len(r.study.directions) == 2 and len(r.study.best_trials) == 5  # every x is Pareto-optimal
    assert [f["number"] for f in r.finalists] == [t["number"] for t in sorted(
        r.data["trials"], key=lambda t: -t["objectives"][0])][:2]


def test_tracking_gets_both_phases_of_the_study(tmp_path):
    pytest.importorskip("tensorboard")
    seedexp.tune(te.bowl, SPACE, seeds=2, n_trials=2, finalists=2, out=tmp_path, progress=False, plots=False,
                 tracking={"backend": "tensorboard"})
    for phase in ("search", "fresh"):
        assert list((tmp_path / phase / "tensorboard").rglob("events.out.tfevents.*")), phase


@pytest.mark.fast
@pytest.mark.parametrize("space, message", [
    ({"kind": []}, "space kind=[] is an empty choice; give at least one value"),
    ({"kind": "choice()"}, "space kind='choice()' is an empty choice; give at least one value"),
    ({"x": "interval(1, 0)"}, "space x='interval(1, 0)': low 1 > high 0; write interval(0, 1)"),
    ({"n": "range(9, 2)"}, "space n='range(9, 2)': low 9 > high 2; write range(2, 9)"),
    ({"x": "normal(0, 1)"}, "space x='normal(0, 1)': unknown distribution; use interval(low, high)"),
    ({"x": {"low": 0, "high": 1}}, "space x={'low': 0, 'high': 1}: not a distribution"),
    ({"x": "tag(log, interval(0, 1))"}, "a log scale needs low > 0"),
    ({"x": "tag(int, interval(1, 2))"}, "unknown tag 'int'"),
    ({}, "the search space has no searched parameter"),
])
def test_bad_search_spaces_are_one_line(space, message):
    with pytest.raises(ConfigError) as info:
        seedexp.tune(te.bowl, space, n_trials=2, out="/nonexistent/never-written", progress=False, plots=False)
    text = str(info.value)
    assert message in text and "\n" not in text


@pytest.mark.fast
@pytest.mark.parametrize("kwargs, message", [
    ({"statistic": "median"}, "statistic='median': expected one of mean, bound"),
    ({"sampler": "grid"}, "sampler='grid': expected one of tpe, random, cmaes, nsga2"),
    ({"fresh_seeds": [2, 7]}, "fresh_seeds reuses search seed(s) 2"),
    ({"adaptive": {"min_seed": 2}}, "adaptive.min_seed is not an adaptive option"),
    ({"adaptive": {"min_seeds": 9}}, "adaptive.min_seeds=9 is more than the 3 search seeds"),
    ({"n_trials": 0}, "n_trials=0 must be an integer >= 1"),
])
def test_bad_settings_are_one_line_before_any_run(kwargs, message):
    te.CALLS.clear()
    with pytest.raises(ConfigError, match=None) as info:
        seedexp.tune(te.bowl, SPACE, seeds=3, out="/nonexistent/never-written", progress=False, plots=False, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert te.CALLS == []


def test_hydra_sweeper_runs_the_same_study_resumes_and_refuses_bad_spaces(tmp_path):
    from conftest import TEST_CONF, run_seedexp

    calls = tmp_path / "calls.txt"
    args = ["-m", "experiment=bowl", "seed=range(0,3)", "hydra/sweeper=seedexp_tune", "hydra.sweeper.n_trials=5",
            "hydra.sweeper.finalists=2", "experiment.x=interval(0,1)", "experiment.kind=choice(a,b)",
            "hydra.sweep.dir=study", "--config-dir", str(TEST_CONF)]
    proc = run_seedexp(args, tmp_path, env={"TUNE_CALLS_FILE": str(calls)}, check_rc=0)
    assert "**Verdict:** the search's winner" in proc.stdout and "study: " in proc.stdout
    data = json.loads((tmp_path / "study" / "tuning.json").read_text())
    n_runs = len(calls.read_text().splitlines())
    assert n_runs == 5 * 3 + 2 * 3 and data["directions"] == ["maximize"]
    # the same study through the Python API: the same sampler seed, the same configurations and scores
    py = seedexp.tune(te.bowl, {"x": "interval(0,1)", "kind": "choice(a,b)"}, seeds=3, n_trials=5, finalists=2,
                      out=tmp_path / "py", progress=False, plots=False)
    assert [t["objective"] for t in data["trials"]] == [t["objective"] for t in py.data["trials"]]
    assert [{k.split(".")[-1]: v for k, v in t["params"].items()} for t in data["trials"]] == \
        [t["params"] for t in py.data["trials"]]
    # the same command again: every run is found on disk, nothing runs
    run_seedexp(args, tmp_path, env={"TUNE_CALLS_FILE": str(calls)}, check_rc=0)
    assert len(calls.read_text().splitlines()) == n_runs
    assert json.loads((tmp_path / "study" / "tuning.json").read_text())["trials"] == data["trials"]
    bad_args = [a.replace("interval(0,1)", "interval(1,0)").replace("=study", "=bad") for a in args]
    bad = run_seedexp(bad_args, tmp_path, check_rc=2)
    assert bad.stderr.strip().splitlines() == ["seedexp: error: space experiment.x='interval(1,0)': low 1 > high 0; "
                                               "write interval(0, 1) (HYDRA_FULL_ERROR=1 shows the traceback)"]
    assert not (tmp_path / "bad" / "search").exists()


@pytest.mark.fast
def test_adaptive_rule_stops_an_equal_trial_rarely_at_any_look_monte_carlo(tmp_path):
    """The stop rule, seeded Monte Carlo: a trial as good as the incumbent is stopped at some look of 3..20
    seeds in at most 1 - confidence of studies (anytime-valid); one a whole sd worse is stopped in most."""
    import numpy as np

    from seedexp.tuning.space import parse_space
    from seedexp.tuning.settings import Adaptive, Settings
    from seedexp.tuning.study import Search

    seeds = list(range(20))
    settings = Settings(experiment="mc", space=parse_space({"x": "interval(0, 1)"}), seeds=seeds, metrics=["score"],
                        statistic="mean", sampler="random", sampler_seed=0, adaptive=Adaptive(min_seeds=3),
                        directions={}, n_trials=1, finalists=1, fresh_seeds=[20, 21], report={})
    search = Search(settings, runner=None, out_dir=tmp_path, make_sampler=lambda: None)
    rng = np.random.default_rng(2024)

    def stopped_rate(shift, n_sims=300):
        hits = 0
        for _ in range(n_sims):
            inc = rng.normal(size=20)
            trial = inc + shift + rng.normal(size=20)  # paired differences ~ N(shift, 1)
            incumbent = {"number": 0, "values": {"score": {str(s): float(v) for s, v in zip(seeds, inc)}}}
            hits += any(search._clearly_worse({s: float(trial[s]) for s in seeds[:n]}, incumbent) is not None
                        for n in range(3, 21))
        return hits / n_sims

    assert stopped_rate(0.0) <= 0.05
    assert stopped_rate(-1.0) >= 0.8


@pytest.mark.fast
def test_fixed_parameters_reach_every_run_and_stay_out_of_the_trials(tmp_path):
    r = seedexp.tune(te.bowl, {"x": "interval(0, 1)"}, fixed={"kind": te.Kind()}, seeds=2,
                     n_trials=2, finalists=1, out=tmp_path, progress=False, plots=False)
    assert [sorted(t["params"]) for t in r.data["trials"]] == [["x"], ["x"]] and sorted(r.best) == ["x"]
    assert {t["state"] for t in r.data["trials"]} == {"complete"}  # kind="b" reached bowl: 0.15 below kind=a
    assert all(t["stats"]["score"]["mean"] < 0.9 for t in r.data["trials"])
