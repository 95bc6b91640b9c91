"""Sweeps sent to MLflow (a real server on loopback) and TensorBoard (read back with its own reader)."""

from __future__ import annotations

import doctest
import json
import math
import re
import shlex
import time
from pathlib import Path

import pytest

import seedexp
import seedexp.tracking
from seedexp.errors import ConfigError
from seedexp.tracking import check_config, send
from seedexp.tracking._sweep import read_sweep, slug

import tracking_experiments
from conftest import ROOT, read_json, run_seedexp
from mlflow_server import free_port, running_mlflow_server
from tracking_experiments import FAIL_ENV

SEEDS = range(4)
PARAMS = {"model": ["a", "b"]}


def make_sweep(out: Path, **kwargs) -> dict:
    """A 2-config x 4-seed sweep through the Python API; its summary."""
    return seedexp.sweep(tracking_experiments.noisy, seeds=SEEDS, params=PARAMS, out=out, progress=False, **kwargs).data


def sweep_files(sweep_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(sweep_dir)): p.read_bytes() for p in sorted(sweep_dir.rglob("*"))
            if p.is_file() and "tensorboard" not in p.parts and p.name != ".seedexp.lock"}


# --------------------------------------------------------------------------- settings


@pytest.mark.fast
@pytest.mark.parametrize("name", ["seedexp.tracking", "seedexp.tracking.mlflow", "seedexp.tracking._sweep",
                                  "seedexp.tracking.wandb"])
def test_docstring_examples(name):
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("given, backends", [
    (None, []), (False, []), ({"backend": None}, []), ("mlflow", ["mlflow"]),
    ("mlflow, tensorboard", ["mlflow", "tensorboard"]), (["tensorboard", "tensorboard"], ["tensorboard"]),
    ({"backend": "MLflow", "uri": "http://127.0.0.1:5000"}, ["mlflow"]),
])
def test_check_config_accepts_the_documented_forms(given, backends):
    out = check_config(given)
    assert out["backend"] == backends and set(out) == set(seedexp.tracking.DEFAULTS)


@pytest.mark.fast
def test_check_config_takes_an_omegaconf_block():
    from omegaconf import OmegaConf

    block = OmegaConf.create({"backend": ["mlflow"], "uri": "http://127.0.0.1:5000", "experiment": None,
                              "logdir": None})
    assert check_config(block)["backend"] == ["mlflow"]


@pytest.mark.fast
@pytest.mark.parametrize("given, words", [
    ({"backend": "neptune"}, "tracking.backend='neptune'"),
    ({"backend": "mlflow", "url": "x"}, "unknown tracking setting(s) tracking.url"),
    ({"backend": "mlflow", "uri": ""}, "tracking.uri=''"),
    ({"backend": "mlflow", "uri": 5}, "tracking.uri=5"),
    (3, "tracking=3"),
])
def test_check_config_names_what_is_wrong(given, words):
    with pytest.raises(ConfigError, match="^" + words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_config(given)


@pytest.mark.fast
def test_a_backend_that_is_not_installed_fails_early_and_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'seedexp\[mlflow\]'"):
        check_config("mlflow")
    assert send("x", {"runs": []}, "mlflow") == [
        "tracking: tracking.backend=mlflow needs the mlflow package, which is not installed: "
        "pip install 'seedexp[mlflow]' (or set tracking.backend=null)"]


@pytest.mark.fast
def test_the_adapter_reads_the_headline_under_either_name(tmp_path):
    flat = {"runs": [], "groups": [{"group": "m=1", "n_runs": 3, "n_failed": 1,
                                    "metrics": {"acc": {"n": 2, "mean": 0.5, "ci_low": 0.4, "ci_high": 0.6}}}]}
    nested = {"runs": [], "groups": [{"group": "m=1", "n_runs": 3, "n_failed": 1,
                                      "metrics": {"acc": {"n": 2, "mean": 0.5, "interval": {"low": 0.4, "high": 0.6}}}}]}
    for summary in (flat, nested):
        (group,) = read_sweep(tmp_path, summary).groups
        assert group.stats["acc"] == {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 2}
        assert group.counts == {"n_runs": 3, "n_failed": 1} and group.overrides == {"m": "1"}
    assert slug("experiment.model=rf,x=a/b") == "experiment.model_rf_x_a_b"


# --------------------------------------------------------------------------- MLflow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` on 127.0.0.1 with a SQLite store in its own temp dir; stopped at the end."""
    pytest.importorskip("mlflow")
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow_server")) as uri:
        yield uri


@pytest.fixture
def client(mlflow_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server)


def runs_of(client, experiment: str) -> tuple[dict, dict]:
    """(parent runs by group, child runs by (group, seed)) of an experiment; asserts no duplicates."""
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = {r.data.tags["seedexp.group"]: r for r in runs if r.data.tags.get("seedexp.kind") == "group"}
    children = {(r.data.tags["seedexp.group"], int(r.data.tags["seedexp.seed"])): r
                for r in runs if r.data.tags.get("seedexp.kind") == "seed"}
    assert len(parents) + len(children) == len(runs), "duplicate runs"
    return parents, children


@pytest.mark.slow
def test_mlflow_holds_the_summary_and_every_seed_and_a_resend_adds_nothing(tmp_path, mlflow_server, client):
    sweep_dir = tmp_path / "sweep"
    summary = make_sweep(sweep_dir)
    config = {"backend": "mlflow", "uri": mlflow_server, "experiment": "e2e"}
    assert send(sweep_dir, summary, config) == []

    parents, children = runs_of(client, "e2e")
    assert sorted(parents) == ["model=a", "model=b"] and len(children) == 8
    stored = json.loads((sweep_dir / "summary.json").read_text())
    for g in stored["groups"]:
        run = parents[g["group"]]
        metrics, tags = run.data.metrics, run.data.tags
        assert run.info.run_name == g["group"] and run.data.params == {"model": g["group"].split("=")[1]}
        for name, st in g["metrics"].items():
            for stat in ("mean", "ci_low", "ci_high", "n", "std"):
                assert metrics[f"{name}/{stat}"] == st[stat], (g["group"], name, stat)
        assert metrics["n_failed"] == g["n_failed"] == 0 and metrics["n_runs"] == g["n_runs"] == 4
        assert tags["seedexp.method"] == stored["methods"]["interval"]
        assert tags["seedexp.test"] == stored["methods"]["test"]
        assert "| acc | 4 |" in tags["mlflow.note.content"]
        local = client.download_artifacts(run.info.run_id, "seedexp/group_summary.json", str(tmp_path / g["group"]))
        assert json.loads(Path(local).read_text())["group"] == g
    # the paired comparisons are on group A, keyed by group B
    for c in stored["comparisons"]:
        metrics = parents[c["a"]].data.metrics
        prefix = f"{c['metric']}/vs/{slug(c['b'])}/"
        for field in ("mean_diff", "ci_low", "ci_high", "pvalue", "p_adjusted", "d_z", "win_rate"):
            if c[field] is not None:
                assert metrics[prefix + field] == c[field], (c["metric"], field)
    for (group, seed), run in children.items():
        record = json.loads(next(sweep_dir.glob(f"{group},seed={seed}/result.json")).read_text())
        assert run.info.run_name == f"seed={seed}" and run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parents[group].info.run_id
        assert run.data.tags["seedexp.config_hash"] == record["config_hash"]
        assert run.data.tags["seedexp.status"] == "ok"
        assert run.data.params["seed"] == str(seed)
        assert {k: v for k, v in run.data.params.items() if k.startswith("stream.")} == {
            f"stream.{k}": str(v) for k, v in record["streams"].items()}
        assert {"stream.init", "stream.dropout", f"stream.noise/{group[-1]}"} <= set(run.data.params)
        assert run.data.metrics == record["metrics"]
        assert [a.path for a in client.list_artifacts(run.info.run_id, "seedexp")] == ["seedexp/result.json"]

    before = {r.info.run_id: r.info.end_time for r in [*parents.values(), *children.values()]}
    summary_again = make_sweep(sweep_dir)  # a re-run: resumes, every record is there
    assert send(sweep_dir, summary_again, config) == []
    send(sweep_dir, summary_again, config)
    parents2, children2 = runs_of(client, "e2e")
    after = {r.info.run_id: r.info.end_time for r in [*parents2.values(), *children2.values()]}
    assert after == before  # the same runs, not even touched


@pytest.mark.slow
def test_mlflow_updates_the_same_runs_when_a_failed_seed_is_redone(tmp_path, mlflow_server, client, monkeypatch):
    from seedexp.tracking import mlflow as backend

    sweep_dir = tmp_path / "sweep"
    config = {"backend": "mlflow", "uri": mlflow_server, "experiment": "redo"}
    monkeypatch.setenv(FAIL_ENV, "b,2")
    summary = make_sweep(sweep_dir)
    assert send(sweep_dir, summary, config) == []
    parents, children = runs_of(client, "redo")
    failed = children[("model=b", 2)]
    assert failed.info.status == "FAILED" and failed.data.tags["seedexp.status"] == "failed"
    assert failed.data.tags["seedexp.error"].startswith("RuntimeError: planted failure")
    assert parents["model=b"].data.metrics["n_failed"] == 1 and parents["model=b"].data.metrics["acc/n"] == 3
    assert {a.path for a in client.list_artifacts(failed.info.run_id, "seedexp")} == {
        "seedexp/result.json", "seedexp/traceback.txt"}

    monkeypatch.delenv(FAIL_ENV)
    summary = make_sweep(sweep_dir)  # resume redoes the failed run only
    sent = backend.send(read_sweep(sweep_dir, summary), check_config(config))
    # model=b's statistics and model=a's comparison with it changed, and the redone seed
    assert (sent.created, sent.updated, sent.unchanged) == (0, 3, 7)
    parents2, children2 = runs_of(client, "redo")
    redone = children2[("model=b", 2)]
    assert redone.info.run_id == failed.info.run_id and redone.info.status == "FINISHED"
    assert redone.data.tags["seedexp.status"] == "ok" and set(redone.data.metrics) == {"acc", "loss"}
    assert parents2["model=b"].info.run_id == parents["model=b"].info.run_id
    assert parents2["model=b"].data.metrics["n_failed"] == 0 and parents2["model=b"].data.metrics["acc/n"] == 4


@pytest.mark.slow
def test_a_tracker_that_is_down_costs_one_warning_and_no_file(tmp_path):
    pytest.importorskip("mlflow")
    plain, tracked = tmp_path / "plain", tmp_path / "tracked"
    make_sweep(plain)
    summary = make_sweep(tracked)
    files = sweep_files(tracked)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    warnings = send(tracked, summary, {"backend": "mlflow", "uri": uri})
    assert time.monotonic() - started < 30
    assert len(warnings) == 1
    assert warnings[0].startswith(f"tracking: mlflow: ConnectionError: the MLflow server at {uri} does not answer")
    assert warnings[0].endswith(f"send them again with: seedexp report {tracked} --tracking mlflow")
    assert sweep_files(tracked) == files  # records and summary as they were
    records = {k for k in files if k.endswith("result.json")}
    assert records == {k for k in sweep_files(plain) if k.endswith("result.json")} and len(records) == 8
    assert json.loads(files["summary.json"])["n_ok"] == 8


# --------------------------------------------------------------------------- TensorBoard


def read_events(run_dir: Path):
    """TensorBoard's own reader on one run directory."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def scalar(acc, tag: str) -> float:
    from tensorboard.util import tensor_util

    (event,) = acc.Tensors(tag)
    return float(tensor_util.make_ndarray(event.tensor_proto))


@pytest.mark.slow
def test_tensorboard_event_files_hold_the_hparams_and_the_aggregated_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import metadata

    sweep_dir = tmp_path / "sweep"
    summary = make_sweep(sweep_dir)
    assert send(sweep_dir, summary, "tensorboard") == []
    assert send(sweep_dir, summary, {"backend": "tensorboard"}) == []  # again: replaces, adds nothing
    logdir = sweep_dir / "tensorboard"
    assert all(len(list(d.glob("events.out.tfevents.*"))) == 1
               for d in [logdir, *logdir.glob("summary/*"), *logdir.glob("seeds/*/*")])

    root = read_events(logdir)
    content = root.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content
    experiment = metadata.parse_experiment_plugin_data(content)
    assert [h.name for h in experiment.hparam_infos] == ["model"]
    assert sorted(m.name.tag for m in experiment.metric_infos) == ["acc", "loss"]

    stored = json.loads((sweep_dir / "summary.json").read_text())
    for g in stored["groups"]:
        acc = read_events(logdir / "summary" / slug(g["group"]))
        for name, st in g["metrics"].items():
            for stat in ("mean", "ci_low", "ci_high", "n"):
                assert scalar(acc, f"{name}/{stat}") == pytest.approx(st[stat], rel=1e-6)  # float32 in TensorBoard
        assert scalar(acc, "n_failed") == g["n_failed"]
        (text,) = acc.Tensors("seedexp/summary")
        assert b"95% interval" in text.tensor_proto.string_val[0]
    for c in stored["comparisons"]:
        acc = read_events(logdir / "summary" / slug(c["a"]))
        assert scalar(acc, f"{c['metric']}/vs/{slug(c['b'])}/mean_diff") == pytest.approx(c["mean_diff"], rel=1e-5)

    seed_dirs = sorted(logdir.glob("seeds/*/seed=*"))
    assert len(seed_dirs) == 8
    for run_dir in seed_dirs:
        group, seed = run_dir.parent.name.replace("_", "="), run_dir.name
        record = json.loads((sweep_dir / f"{group},{seed}" / "result.json").read_text())
        acc = read_events(run_dir)
        start = metadata.parse_session_start_info_plugin_data(
            acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content)
        assert start.group_name == group  # the trial id: one HParams group per configuration
        assert dict(start.hparams)["model"].string_value == group.split("=")[1]
        for name, value in record["metrics"].items():
            assert scalar(acc, name) == pytest.approx(value, rel=1e-6)
        (text,) = acc.Tensors("seedexp/record")
        assert f"| init | {record['streams']['init']} |".encode() in text.tensor_proto.string_val[0]


@pytest.mark.slow
def test_both_trackers_one_down_the_other_still_gets_the_sweep(tmp_path):
    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    sweep_dir = tmp_path / "sweep"
    summary = make_sweep(sweep_dir)
    logdir = tmp_path / "tb"
    warnings = send(sweep_dir, summary, {"backend": ["mlflow", "tensorboard"],
                                         "uri": f"http://127.0.0.1:{free_port()}", "logdir": str(logdir)})
    assert len(warnings) == 1 and warnings[0].startswith("tracking: mlflow: ConnectionError")
    assert len(list(logdir.glob("seeds/*/seed=*/events.out.tfevents.*"))) == 8
    assert not (sweep_dir / "tensorboard").exists()


def test_a_logdir_that_cannot_be_written_is_one_warning(tmp_path):
    pytest.importorskip("tensorboard")
    sweep_dir = tmp_path / "sweep"
    summary = make_sweep(sweep_dir)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    warnings = send(sweep_dir, summary, {"backend": "tensorboard", "logdir": str(blocker / "tb")})
    assert len(warnings) == 1 and warnings[0].startswith("tracking: tensorboard: ")
    assert math.isfinite(json.loads((sweep_dir / "summary.json").read_text())["groups"][0]["metrics"]["acc"]["mean"])


# --------------------------------------------------------------------------- curves and W&B


def make_curve_sweep(out: Path, seeds=range(3)) -> dict:
    """A 2-config x 3-seed sweep whose runs log a curve (seedexp.log); its summary."""
    return seedexp.sweep(tracking_experiments.curvy, seeds=seeds, params=PARAMS, out=out, progress=False,
                         report={"curve_threshold": {"val_acc": 0.7}}).data


@pytest.mark.slow
def test_mlflow_holds_the_stepped_aggregates_of_the_curves(tmp_path, mlflow_server, client):
    from seedexp.series import read_series

    sweep_dir = tmp_path / "sweep"
    summary = make_curve_sweep(sweep_dir)
    config = {"backend": "mlflow", "uri": mlflow_server, "experiment": "curves"}
    assert send(sweep_dir, summary, config) == []
    parents, children = runs_of(client, "curves")
    curves = summary["curves"]["metrics"]["val_acc"]
    for group, g in curves["groups"].items():
        run = parents[group]
        for stat in ("mean", "ci_low", "ci_high", "band_low", "band_high"):
            history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, f"curve/val_acc/{stat}"))
            assert history == list(zip(g["points"]["step"], g["points"][stat])), (group, stat)
        for scalar in ("final", "auc", "best_step"):
            assert run.data.metrics[f"curve/val_acc/{scalar}/mean"] == g["scalars"][scalar]["mean"]
    for c in summary["curves"]["comparisons"]:
        assert parents[c["a"]].data.metrics[f"curve/val_acc/{c['summary']}/vs/{slug(c['b'])}/p_adjusted"] == \
            c["p_adjusted"]
    for (group, seed), run in children.items():
        steps, values = read_series(sweep_dir / f"{group},seed={seed}" / "series.npz")["val_acc"]
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "curve/val_acc"))
        assert history == list(zip(steps.tolist(), values.tolist()))
    assert send(sweep_dir, summary, config) == []  # again: nothing changed, nothing logged twice
    run = runs_of(client, "curves")[0]["model=a"]
    assert len(client.get_metric_history(run.info.run_id, "curve/val_acc/mean")) == 8


@pytest.mark.slow
def test_tensorboard_holds_the_stepped_aggregates_and_each_seeds_curve(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.util import tensor_util

    sweep_dir = tmp_path / "sweep"
    summary = make_curve_sweep(sweep_dir)
    assert send(sweep_dir, summary, "tensorboard") == []
    for group, g in summary["curves"]["metrics"]["val_acc"]["groups"].items():
        acc = read_events(sweep_dir / "tensorboard" / "summary" / slug(group))
        for stat in ("mean", "band_low"):
            got = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(f"curve/val_acc/{stat}")]
            assert [s for s, _ in got] == g["points"]["step"]
            assert [v for _, v in got] == pytest.approx(g["points"][stat], rel=1e-6)
        assert scalar(acc, "curve/val_acc/final/mean") == pytest.approx(g["scalars"]["final"]["mean"], rel=1e-6)
    seed_run = read_events(sweep_dir / "tensorboard" / "seeds" / "model_a" / "seed=0")
    assert [e.step for e in seed_run.Tensors("curve/val_acc")] == list(range(8))


@pytest.mark.slow
def test_wandb_offline_files_hold_the_runs_their_groups_and_the_summary(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from seedexp.series import read_series
    from wandb_files import read_all

    monkeypatch.setenv("WANDB_MODE", "offline")  # no network: W&B writes its run files only
    sweep_dir = tmp_path / "sweep"
    summary = make_curve_sweep(sweep_dir)
    logdir = tmp_path / "wb"
    assert send(sweep_dir, summary, {"backend": "wandb", "logdir": str(logdir), "experiment": "curves"}) == []
    runs = read_all(logdir)
    seeds = [r for r in runs if r["job_type"] == "seed"]
    (total,) = [r for r in runs if r["job_type"] == "summary"]
    assert len(seeds) == 6 and {r["project"] for r in runs} == {"curves"}
    assert sorted((r["group"], r["name"]) for r in seeds) == [(f"model={m}", f"seed={s}") for m in "ab" for s in range(3)]
    for r in seeds:
        seed = int(r["name"].split("=")[1])
        record = json.loads((sweep_dir / f"{r['group']},seed={seed}" / "result.json").read_text())
        assert r["config"]["seed"] == seed and r["config"]["model"] == r["group"][-1]
        assert r["config"]["streams"] == record["streams"] and r["config"]["seedexp"]["status"] == "ok"
        assert r["summary"]["acc"] == record["metrics"]["acc"]
        steps, values = read_series(sweep_dir / f"{r['group']},seed={seed}" / "series.npz")["val_acc"]
        assert [(h["_step"], h["val_acc"]) for h in r["history"]] == list(zip(steps.tolist(), values.tolist()))
    assert total["group"] == "seedexp summary" and total["name"] == "summary"
    fields = total["summary"]
    for g in summary["groups"]:
        for stat in ("mean", "ci_low", "ci_high", "n"):
            assert fields[f"groups/{g['group']}/acc/{stat}"] == g["metrics"]["acc"][stat]
    (c,) = summary["comparisons"]
    assert fields[f"comparisons/acc/{c['a']} vs {c['b']}/p_adjusted"] == c["p_adjusted"]
    assert fields[f"comparisons/acc/{c['a']} vs {c['b']}/verdict"] == (f"{c['better']} better" if c["better"]
                                                                       else "no clear difference")
    curves = summary["curves"]
    for group, g in curves["metrics"]["val_acc"]["groups"].items():
        assert fields[f"curves/val_acc/{group}/auc/mean"] == g["scalars"]["auc"]["mean"]
        stepped = [(h["_step"], h[f"{group}/val_acc/band_high"]) for h in total["history"]
                   if f"{group}/val_acc/band_high" in h]
        assert stepped == list(zip(g["points"]["step"], g["points"]["band_high"]))
    for cc in curves["comparisons"]:
        prefix = f"curve_comparisons/val_acc/{cc['summary']}/{cc['a']} vs {cc['b']}"
        assert fields[f"{prefix}/mean_diff"] == cc["mean_diff"] and fields[f"{prefix}/verdict"]
    tables = {p.name.split("_")[0] for p in total["dir"].glob("files/media/table/*.table.json")}
    assert {"groups", "comparisons", "curve"} <= tables
    table = json.loads(next(total["dir"].glob("files/media/table/groups_*.table.json")).read_text())
    assert table["columns"][:4] == ["group", "metric", "n", "mean"] and len(table["data"]) == 2
    # sending again addresses the same W&B runs (ids from the sweep, group and seed)
    assert send(sweep_dir, summary, {"backend": "wandb", "logdir": str(logdir), "experiment": "curves"}) == []
    again = read_all(logdir)
    assert len(again) == 14 and {r["id"] for r in again} == {r["id"] for r in runs}


# --------------------------------------------------------------------------- README


TRACKERS_PAGE = "docs/how-to/trackers.md"


def readme_section() -> str:
    from docs_pages import section

    return section(TRACKERS_PAGE)


@pytest.mark.fast
def test_the_readme_shows_the_one_line_config_and_a_picture():
    section = readme_section()
    (command,) = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
    assert command.count("\n") == 0 and "tracking.backend=mlflow tracking.uri=http://" in command
    (picture,) = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", section)
    assert ((ROOT / TRACKERS_PAGE).parent / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ROOT / "scripts" / Path(picture).with_suffix(".py").name).is_file()  # the script that makes it


# --------------------------------------------------------------------------- the command line


def _sweeper_sends() -> bool:
    """The sweeper sends once seedexp's own config declares the ``tracking:`` block."""
    from omegaconf import OmegaConf

    return "tracking" in OmegaConf.load(ROOT / "seedexp" / "conf" / "seedexp.yaml")


def _report_sends() -> bool:
    return "--tracking" in (ROOT / "seedexp" / "_cli_report.py").read_text()


SWEEPER_SENDS = pytest.mark.skipif(not _sweeper_sends(), reason="the sweeper does not read tracking: yet")
REPORT_SENDS = pytest.mark.skipif(not _report_sends(), reason="seedexp report has no --tracking yet")
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def readme_args(uri: str, sweep_dir: Path, seeds: int, experiment: str) -> list[str]:
    """The README's one-line command, on fewer seeds, sent to ``uri``, into ``sweep_dir``."""
    (command,) = re.findall(r"```bash\n(.*?)\n```", readme_section(), flags=re.S)
    args = shlex.split(command)[1:]
    args = [f"seed=range(0,{seeds})" if a.startswith("seed=") else
            f"tracking.uri={uri}" if a.startswith("tracking.uri=") else a for a in args]
    return [*args, f"tracking.experiment={experiment}", f"hydra.sweep.dir={sweep_dir}"]


@pytest.mark.slow
@SWEEPER_SENDS
def test_the_readme_command_sends_a_hydra_sweep_to_mlflow_once(tmp_path, mlflow_server, client):
    args = readme_args(mlflow_server, tmp_path / "sweep", 4, "cli")
    run_seedexp(args, cwd=tmp_path, env=QUIET_MLFLOW, check_rc=0)
    parents, children = runs_of(client, "cli")
    summary = read_json(tmp_path / "sweep" / "summary.json")
    assert sorted(parents) == sorted(g["group"] for g in summary["groups"]) and len(parents) == 2
    assert not any("tracking" in name for name in parents)  # where results go does not make a configuration
    assert len(children) == 8
    for g in summary["groups"]:
        for name, st in g["metrics"].items():
            for stat in ("mean", "ci_low", "ci_high", "n"):
                assert parents[g["group"]].data.metrics[f"{name}/{stat}"] == st[stat]
    for (group, seed), run in children.items():
        record = read_json(next((tmp_path / "sweep").glob(f"*{group}*seed={seed}*/result.json")))
        assert run.data.params["stream.split"] == str(record["streams"]["split"])
    run_seedexp(args, cwd=tmp_path, env=QUIET_MLFLOW, check_rc=0)  # again: resumes, sends again
    again = runs_of(client, "cli")
    assert {k: r.info.run_id for k, r in again[0].items()} == {k: r.info.run_id for k, r in parents.items()}
    assert {k: r.info.run_id for k, r in again[1].items()} == {k: r.info.run_id for k, r in children.items()}


@pytest.mark.slow
@SWEEPER_SENDS
def test_a_hydra_sweep_whose_tracker_is_down_exits_as_without_tracking(tmp_path):
    pytest.importorskip("mlflow")
    dead = f"http://127.0.0.1:{free_port()}"
    tracked = run_seedexp(readme_args(dead, tmp_path / "tracked", 2, "down"), cwd=tmp_path, env=QUIET_MLFLOW)
    plain_args = [a for a in readme_args(dead, tmp_path / "plain", 2, "down") if not a.startswith("tracking.")]
    plain = run_seedexp(plain_args, cwd=tmp_path)
    assert tracked.returncode == plain.returncode == 0, tracked.stderr
    said = [line for line in (tracked.stdout + tracked.stderr).splitlines() if "tracking: mlflow" in line]
    assert len(said) == 1 and "mlflow" in said[0] and dead in said[0], said
    for name in ("tracked", "plain"):
        summary = read_json(tmp_path / name / "summary.json")
        assert summary["n_ok"] == 4 and len(list((tmp_path / name).rglob("result.json"))) == 4


@pytest.mark.slow
@REPORT_SENDS
def test_seedexp_report_sends_a_sweep_later(tmp_path, mlflow_server, client):
    sweep_dir = tmp_path / "sweep"
    make_sweep(sweep_dir)
    env = {**QUIET_MLFLOW, "MLFLOW_TRACKING_URI": mlflow_server}
    run_seedexp(["report", str(sweep_dir), "--tracking", "mlflow"], cwd=tmp_path, env=env, check_rc=0)
    run_seedexp(["report", str(sweep_dir), "--tracking", "mlflow"], cwd=tmp_path, env=env, check_rc=0)
    parents, children = runs_of(client, "tracking_experiments.noisy")
    assert sorted(parents) == ["model=a", "model=b"] and len(children) == 8


def test_the_python_api_checks_the_setting_first_and_sends_the_sweep(tmp_path):
    pytest.importorskip("tensorboard")
    from seedexp.errors import ConfigError

    with pytest.raises(ConfigError, match="mlfow"):
        make_sweep(tmp_path / "bad", tracking="mlfow")
    assert not (tmp_path / "bad").exists()  # refused before any run
    make_sweep(tmp_path / "sw", tracking="tensorboard")
    assert len(list((tmp_path / "sw" / "tensorboard").glob("seeds/*/seed=*"))) == 8
