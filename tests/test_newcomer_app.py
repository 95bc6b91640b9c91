"""Issue 31: a public Hydra app gains seedexp (tests/newcomer_app), and what a newcomer hit there.

The app returns a float (as Hydra's Optuna sweeper wants), keeps its own run dir names
(``hydra.sweep.subdir: ${hydra.job.id}``) and job logging (a file per job under
``${hydra.run.dir}/${hydra.job.id}``), has a ``seed:`` key of its own, an Optuna search
config, a deterministic LogisticRegression on a fixed split and a forest whose
``random_state`` is ``${seed}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import logging
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, read_json

APP = TESTS / "newcomer_app"


def app_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "app"
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("runs", "outputs", "__pycache__"))
    return dest


def run(app: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PYTHONHASHSEED")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "train.py", *args], cwd=app, env=env, capture_output=True, text=True,
                          timeout=timeout)


def records(root: Path) -> dict[str, dict]:
    return {p.parent.name: read_json(p) for p in root.rglob("result.json")}


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("seedexp: error:")]


def test_sweep_keeps_the_apps_run_dirs_and_logs_warns_when_the_seed_changes_nothing_and_never_overwrites(tmp_path):
    app = app_copy(tmp_path)
    first = run(app, "-m", "model=rf,lr", "seed=range(0,3)")
    assert first.returncode == 0, first.stderr
    recs = records(app / "runs")
    # part 2: the app's own subdir (${hydra.job.id}) and its log file per job
    assert sorted(recs) == ["0", "1", "2", "3", "4", "5"]
    assert [(recs[k]["group"], recs[k]["seed"]) for k in sorted(recs)] == \
        [("model=rf", 0), ("model=rf", 1), ("model=rf", 2), ("model=lr", 0), ("model=lr", 1), ("model=lr", 2)]
    for name, rec in recs.items():
        log = (app / "runs" / name / "output.log").read_text()
        assert f"seed {rec['seed']}: validation accuracy" in log
    # part 1: the float is recorded as the default metric and returned as is
    assert all(set(r["metrics"]) == {"objective"} and r["returned"] == "objective" for r in recs.values())
    # part 4: lr on a fixed split does not move with the seed; the forest (random_state: ${seed}) does
    summary = read_json(app / "runs" / "summary.json")
    said = [w for w in summary["warnings"] if w.startswith("the seed changes nothing")]
    assert len(said) == 1 and "model=lr" in said[0] and "random_state hard-coded" in said[0]
    assert "seedexp: warning: the seed changes nothing in model=lr" in first.stderr
    assert "the seed changes nothing in model=lr" in (app / "runs" / "summary.md").read_text()
    assert len({r["metrics"]["objective"] for r in recs.values() if r["group"] == "model=rf"}) > 1

    # part 3: more seeds shift the job ids: job 3 (rf, seed 3) would land in the dir of (lr, seed 0)
    before = {k: (app / "runs" / k / "result.json").read_bytes() for k in recs}
    again = run(app, "-m", "model=rf,lr", "seed=range(0,4)")
    assert again.returncode == 2, again.stderr
    (line,) = error_lines(again)
    assert f"{app / 'runs' / '3'} holds the record of another run (model=lr, seed 0" in line
    assert "not of this one (model=rf, seed 3)" in line and "Traceback" not in again.stderr
    assert {k: (app / "runs" / k / "result.json").read_bytes() for k in recs} == before  # nothing overwritten
    assert "seedexp: 3 run(s) skipped" in again.stdout  # part 6: the resumed runs are counted


def test_optuna_sweeper_gets_the_tasks_float_and_a_resumed_search_gets_the_same(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    app = app_copy(tmp_path)
    args = ["--config-name", "search", "-m", "report.primary_metric=accuracy"]
    first = run(app, *args)
    assert first.returncode == 0, first.stderr
    assert "float-castable" not in first.stdout + first.stderr
    recs = records(app / "runs")
    assert len(recs) == 4
    assert all(r["status"] == "ok" and r["returned"] == "accuracy" and r["seed"] == 42 for r in recs.values())
    best = (app / "runs" / "optimization_results.yaml").read_text()
    assert f"best_value: {max(r['metrics']['accuracy'] for r in recs.values())}" in best
    # the same search again: every trial resumes from its record and hands Optuna the same float
    stamps = {k: (app / "runs" / k / "result.json").read_bytes() for k in recs}
    (app / "runs" / "optimization_results.yaml").unlink()
    again = run(app, *args)
    assert again.returncode == 0, again.stderr
    assert {k: (app / "runs" / k / "result.json").read_bytes() for k in recs} == stamps
    assert (app / "runs" / "optimization_results.yaml").read_text() == best


def test_seed_key_logging_errors_and_the_defaults_order(tmp_path):
    app = app_copy(tmp_path)
    # part 5: cfg.seed is the app's own seed: 42, recorded
    own = run(app, "hydra.run.dir=r42")
    assert own.returncode == 0, own.stderr
    assert read_json(app / "r42" / "result.json")["seed"] == 42
    assert "seed 42: validation accuracy" in (app / "r42" / "output.log").read_text()
    # seed=null: the task sees the seed that is recorded, a 32-bit one (it is random_state=${seed} here)
    drawn = run(app, "seed=null", "hydra.run.dir=rnull")
    assert drawn.returncode == 0, drawn.stderr
    rec = read_json(app / "rnull" / "result.json")
    assert rec["seed_drawn"] is True and 0 <= rec["seed"] < 2**32 and rec["config"]["seed"] is None
    assert f"seed {rec['seed']}: validation accuracy" in (app / "rnull" / "output.log").read_text()
    # a seed scikit-learn cannot take: the failure says what to do
    big = run(app, f"seed={2**64 + 1}", "hydra.run.dir=rbig")
    assert big.returncode == 1
    assert "cannot be a random_state" in big.stderr and "seeds.seed('model')" in big.stderr
    # part 4: a hard-coded random_state and nothing drawn: the single run says so
    fixed = run(app, "model.random_state=0", "hydra.run.dir=rfixed")
    assert fixed.returncode == 0, fixed.stderr
    assert "seedexp: note: the seed reached nothing seedexp seeds" in fixed.stderr
    assert "seed reached nothing" not in own.stderr  # random_state: ${seed} passes the seed on
    # part 2: a log handler whose directory does not exist: one line naming the file
    bad = run(app, "hydra.run.dir=rlog", "hydra.job_logging.handlers.file.filename=/nonexistent/dir/output.log")
    assert bad.returncode == 2
    (line,) = error_lines(bad)
    assert "/nonexistent/dir/output.log" in line and "handler 'file'" in line and "Traceback" not in bad.stderr
    swept = run(app, "-m", "seed=0,1", "hydra.sweep.dir=slog",  # ... and in a sweep: its summary is still written
                "hydra.job_logging.handlers.file.filename=/nonexistent/dir/output.log")
    assert swept.returncode == 2 and (app / "slog" / "summary.json").is_file()
    (line,) = error_lines(swept)
    assert "/nonexistent/dir/output.log" in line and "Traceback" not in swept.stderr
    # part 5: `_self_` before `- seedexp`: seedexp's default replaced the app's seed, and it is said
    config = (app / "conf" / "config.yaml").read_text()
    config = config.replace("  - seedexp ", "  - _self_\n  - seedexp ", 1).replace("  - _self_\n\n", "\n", 1)
    (app / "conf" / "config.yaml").write_text(config)
    late = run(app, "hydra.run.dir=rlate")
    assert late.returncode == 0, late.stderr
    assert read_json(app / "rlate" / "result.json")["seed"] == 0
    warned = [ln for ln in late.stderr.splitlines() if "sets seed: 42" in ln]
    assert len(warned) == 1 and warned[0].startswith("seedexp: warning:") and "Put `_self_` last" in warned[0]


@pytest.mark.fast
def test_task_return_value_is_the_tasks_own():
    from seedexp.core import check_result
    from seedexp.hydra.job_return import job_status, task_return

    assert check_result(0.5, "t") == ({"objective": 0.5}, {})
    assert check_result(3, "t", number_metric="accuracy") == ({"accuracy": 3.0}, {})
    with pytest.raises(Exception, match="returned bool, not a dict"):
        check_result(True, "t")
    rec = {"status": "ok", "seed": 1, "group": "g", "metrics": {"accuracy": 0.5}, "returned": "accuracy"}
    assert task_return(rec) == 0.5 and type(task_return(rec)) is float
    nan = task_return({**rec, "metrics": {"accuracy": None}})
    assert nan != nan
    both = {"status": "ok", "metrics": {"a": 1.0, "b": None}, "fingerprints": {"w": "ab"}}
    out = task_return(both)
    assert out["a"] == 1.0 and out["b"] != out["b"] and out["fingerprints"] == {"w": "ab"}
    from omegaconf import OmegaConf

    from seedexp.hydra.job_return import objective

    declared = OmegaConf.create({"report": {"primary_metric": "b"}})
    assert objective({"metrics": {"a": 1.0, "b": 2.0}}, declared) == 2.0  # what a search sweeper optimizes
    assert objective({"metrics": {"a": 1.0}}, OmegaConf.create({})) == {"a": 1.0}
    assert json.dumps(job_status({**rec, "resumed": True, "config": {"big": 1}})) == \
        '{"status": "ok", "seed": 1, "group": "g", "resumed": true}'


@pytest.mark.fast
def test_a_sweeps_run_dir_holding_another_runs_record_is_refused_before_anything_is_written(tmp_path):
    from seedexp.core import RunSpec, execute
    from seedexp.errors import ConfigError
    from seedexp.hydra.run_dirs import check_same_run
    from seedexp.record import group_of

    def spec(overrides, seed):
        return RunSpec(seed=seed, experiment="t", group=group_of(overrides), overrides=overrides,
                       config_hash=",".join(overrides))

    first = execute(spec(["model=lr", "seed=0"], 0), lambda plan: lambda: 0.5, tmp_path, quiet=True)
    assert first["status"] == "ok"
    text = (tmp_path / "result.json").read_bytes()
    for overrides, seed in ((["model=rf", "seed=3"], 3), (["model=lr", "seed=1"], 1)):
        with pytest.raises(ConfigError, match="holds the record of another run"):
            check_same_run(tmp_path, spec(overrides, seed))  # what a sweep's job asks before it runs
        assert (tmp_path / "result.json").read_bytes() == text
    # the same run (resume=false, ++ prefix and all) runs again in its own directory
    check_same_run(tmp_path, spec(["++model=lr", "seed=0", "resume=false"], 0))
    again = execute(spec(["++model=lr", "seed=0", "resume=false"], 0), lambda plan: lambda: 0.6, tmp_path,
                    resume=False, quiet=True)
    assert again["metrics"] == {"objective": 0.6}


@pytest.mark.fast
def test_sweep_settings_keep_the_apps_own_values():
    from omegaconf import OmegaConf

    from seedexp.hydra.run_dirs import apply_sweep_settings
    from seedexp.redact import DEFAULT_SUBDIR

    def config(subdir, exclude):
        return OmegaConf.create({"resume": True, "determinism": {}, "report": {"test": "t"}, "stop": {}, "hydra": {
            "sweep": {"dir": "x", "subdir": subdir}, "overrides": {"hydra": []},
            "job": {"config": {"override_dirname": {"exclude_keys": exclude}}}}})

    default = config("${hydra.job.num}", [])
    added = apply_sweep_settings(default)
    assert OmegaConf.to_container(default.hydra.sweep, resolve=False)["subdir"] == DEFAULT_SUBDIR  # masks secrets
    assert added[0] == f"hydra.sweep.subdir='{DEFAULT_SUBDIR}'"
    assert list(default.hydra.job.config.override_dirname.exclude_keys) == \
        ["resume", "report", "report.test", "tracking", "stop", "isolation", "timeout", "memory_limit"]
    assert OmegaConf.to_container(default.hydra.overrides.hydra, resolve=False) == added  # jobs compose with them
    own = config("${hydra.job.id}", ["data.path"])
    apply_sweep_settings(own)
    assert OmegaConf.to_container(own.hydra.sweep, resolve=False)["subdir"] == "${hydra.job.id}"
    assert list(own.hydra.job.config.override_dirname.exclude_keys)[0] == "data.path"


@pytest.mark.fast
def test_identical_metrics_and_seedless_runs_are_named():
    from seedexp import summarize
    from seedexp.diagnose import run_note

    recs = [{"group": g, "seed": s, "status": "ok", "metrics": {"acc": 0.8 if g == "lr" else 0.8 + 0.01 * s,
                                                                "f1": 0.5 if g == "lr" else 0.4 + 0.01 * s}}
            for g in ("lr", "rf") for s in range(4)]
    said = [w for w in summarize(recs).data["warnings"] if w.startswith("the seed changes nothing")]
    assert len(said) == 1 and said[0].startswith("the seed changes nothing in lr: its 4 seeds gave the same value "
                                                 "of every metric (acc, f1)")
    base = {"status": "ok", "streams": {"python": 1, "numpy": 2}, "global_draws": []}
    assert run_note(base) is not None and "random_state hard-coded" in run_note(base)
    assert run_note({**base, "global_draws": ["numpy"]}) is None
    assert run_note({**base, "streams": {"python": 1, "split": 3}}) is None
    assert run_note(base, reads_seed=True) is None


@pytest.mark.fast
def test_summary_md_ties_digits_targets_and_disagreeing_metrics():
    from seedexp.report import to_markdown
    from seedexp.stats.summary import summarize

    noise = [0.011, -0.004, 0.007, -0.012, 0.003, 0.009, -0.006, 0.001]
    recs = []
    for s, e in enumerate(noise):
        recs.append({"group": "model=lr", "seed": s, "status": "ok",
                     "metrics": {"bal_acc": 0.80 + e, "f1": 0.40 + e}})
        recs.append({"group": "model=rf", "seed": s, "status": "ok",  # lr's bal_acc tied on seed 0
                     "metrics": {"bal_acc": 0.80 + e if s == 0 else 0.75 + e / 2, "f1": 0.48 + e / 3}})
    summary = summarize(recs)
    md = to_markdown(summary)
    row = next(ln for ln in md.splitlines() if ln.startswith("| bal_acc | model=lr"))
    assert "7/7 (+1 tie) [0.590, 1.000]" in row  # the tie is out of the count, as the footnote says
    comp = next(c for c in summary["comparisons"] if c["metric"] == "bal_acc")
    assert comp["win_rate"] == 1.0 and comp["ties"] == 1
    mean_cell = row.split(" | ")[4]  # mean(A−B) [CI]: one number of decimals throughout
    decimals = {len(x.split(".")[1]) for x in mean_cell.replace("[", "").replace("]", "").replace(",", "").split()}
    assert len(decimals) == 1, mean_cell
    assert "seeds for ±target" not in md and "| – |" not in md.split("## How many seeds")[1]
    assert "No target was set" in md
    assert ("the metrics disagree (model=lr better on bal_acc; model=rf better on f1) and no primary metric was "
            "declared") in md
    assert "the metrics disagree" not in to_markdown(summarize(recs, primary_metric="f1"))


def test_verify_targets_a_seedexp_main_app(tmp_path):
    app = app_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PYTHONHASHSEED")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "seedexp", "verify", "train.py", "model=lr", "seed=3"], cwd=app,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REPRODUCIBLE: 2 fresh runs of __main__.train (seed=3) gave 1 metric(s)" in proc.stdout
    assert not (app / "runs").exists() and not (app / "outputs").exists()  # the runs went to fresh dirs


@pytest.mark.fast
def test_group_names_drop_hydras_plus_prefixes_and_the_caption_fits_the_figure():
    from seedexp.record import group_of
    from seedexp.report import figure
    from seedexp.stats.summary import summarize

    assert group_of(["++model.C=1", "+extra=2", "seed=3", "~drop"]) == "extra=2,model.C=1,~drop"
    recs = [{"group": g, "seed": s, "status": "ok", "metrics": {"accuracy": 0.8 + 0.01 * s + (g == "b") * 0.01}}
            for g in ("a", "b") for s in range(5)]
    fig = figure(summarize(recs))
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # one metric: the caption is wrapped, not clipped
    assert "\n" in fig._suptitle.get_text()


@pytest.mark.fast
@pytest.mark.parametrize("logs_series", [False, True])
def test_a_user_task_that_returns_nothing_is_an_ok_run_and_hands_none_back(tmp_path, logs_series):
    """A user's Hydra task may return nothing (most do): an ok record without metrics, a warning unless it logged
    per-step series (those are its result), and None handed back to the sweeper, as the task returned."""
    import warnings

    import seedexp
    from seedexp.core import RunSpec, execute
    from seedexp.hydra.job_return import task_return

    def prepare(plan):
        def call():
            if logs_series:
                for step in range(3):
                    seedexp.log(step, loss=1.0 / (step + 1))
        return call

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = execute(RunSpec(seed=1, experiment="t", metrics_required=False), prepare, tmp_path, resume=False,
                      quiet=True)
    assert rec["status"] == "ok" and rec["metrics"] == {}, rec.get("error")
    said = [str(w.message) for w in caught if "returned nothing" in str(w.message)]
    assert len(said) == (0 if logs_series else 1)
    assert task_return(rec) is None


@pytest.mark.fast
@pytest.mark.parametrize("raised, code, line", [
    ("failed_run", 1, "seedexp: run failed (seed=3): ValueError: bad"),
    ("interrupt", 130, "seedexp: interrupted; records already written are kept"),
    ("null_group", 2, "seedexp: error: model=null: a config group takes the name of one of its configs"),
])
def test_an_apps_sweep_that_stops_is_one_line_and_the_commands_exit_code(monkeypatch, caplog, raised, code, line):
    """What @seedexp.main's apps print and exit with when Hydra's call ends early: a run failed under another
    sweeper (Optuna's, past its max_failure_rate): 1, it ran; Ctrl-C: 130; a config group set to null: 2."""
    from seedexp.hydra.app import run_app
    from seedexp.hydra.job_return import failed_run_error

    monkeypatch.setattr(sys, "argv", ["train.py", "-m", "model=null"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.delenv("SEEDEXP_FULL_ERROR", raising=False)

    def hydra_main():
        if raised == "failed_run":
            raise failed_run_error({"seed": 3, "error": {"type": "ValueError", "message": "bad"}})
        if raised == "interrupt":
            raise KeyboardInterrupt
        raise ValueError("Config group override must be a string or a list. Got NoneType")

    caplog.set_level(logging.INFO, logger="seedexp.console")  # what the app's handler prints on stderr
    with pytest.raises(SystemExit) as stopped:
        run_app(hydra_main)
    said = [r.getMessage() for r in caplog.records if r.name == "seedexp.console"]
    assert stopped.value.code == code and len(said) == 1 and "\n" not in said[0] and said[0].startswith(line), said
