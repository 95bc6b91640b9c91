"""A benchmark is a sweep with a declared task key: Python API, the summary files, the CLI flag, the YAML key."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import seedexp
from seedexp.stats.options import check_options
from seedexp.errors import ConfigError
from seedexp.record import SCHEMA, group_of
from seedexp.sweepdir import write_record
from seedexp.summary_files import write_summary

from conftest import ROOT, run_seedexp


def records(tasks=("digits", "iris", "wine", "cancer", "moons"), methods=("rf", "lr", "svm"), seeds=5, drop=()):
    rng = np.random.default_rng(0)
    out = []
    for j, t in enumerate(tasks):
        for i, m in enumerate(methods):
            for s in range(seeds):
                overrides = [f"experiment.dataset={t}", f"experiment.model={m}", f"seed={s}"]
                status = "failed" if (t, m, s) in drop else "ok"
                out.append({"schema": SCHEMA, "group": group_of(overrides), "overrides": overrides, "seed": s,
                            "status": status, "error": {"type": "RuntimeError", "message": "boom"} if status != "ok"
                            else None, "metrics": {} if status != "ok" else
                            {"acc": float(rng.normal(0.6 + 0.05 * i + 0.04 * j, 0.04))}})
    return out


@pytest.mark.fast
def test_declared_task_gives_a_benchmark_section_and_only_within_task_comparisons():
    s = seedexp.summarize(records(drop={("iris", "rf", 2)}), task="experiment.dataset", baseline="experiment.model=lr")
    b = s.data["benchmark"]
    assert b["task_key"] == "experiment.dataset" and b["tasks"] == ["cancer", "digits", "iris", "moons", "wine"]
    acc = b["metrics"]["acc"]
    assert acc["methods"] == ["experiment.model=lr", "experiment.model=rf", "experiment.model=svm"]
    assert acc["missing"] == [{"method": "experiment.model=rf", "task": "iris", "seeds": [2], "statuses": ["failed"]}]
    assert acc["n_seeds"]["experiment.model=rf"]["iris"] == 4
    assert set(acc["aggregates"]["experiment.model=svm"]) == {"mean", "median", "iqm", "optimality_gap"}
    assert acc["ranks"]["friedman"]["pvalue"] is not None and acc["ranks"]["cd"] > 0
    # per-task comparisons: each method against lr, on the same task only (10 = 5 tasks x 2 methods)
    assert len(s.comparisons) == 10
    for c in s.comparisons:
        assert c["a"].split(",")[0] == c["b"].split(",")[0] and c["b"].endswith("model=lr")
    # the per-task tables stay: one group per (method, task)
    assert len(s.groups) == 15
    # without a baseline: no per-task test, the benchmark section answers
    assert seedexp.summarize(records(), task="experiment.dataset").comparisons == []


@pytest.mark.fast
@pytest.mark.parametrize("options, text", [
    ({"task": "dataset"}, "report.task='dataset' is not a swept key of group 'experiment.dataset=cancer,"
                          "experiment.model=lr'; name the key whose values are the tasks, one of: experiment.dataset, "
                          "experiment.model (e.g. report.task=experiment.dataset)"),
    ({"task": "experiment.dataset", "normalize": {"digits": [0.1, 1.0], "mnist": [0.1, 1.0]}},
     "report.normalize names task(s) mnist that the benchmark does not have"),
    ({"task": "experiment.dataset", "normalize": {"digits": [0.1, 1.0]}},
     "report.normalize has no reference scores for task(s) cancer, iris, moons, wine"),
    ({"task": "experiment.dataset", "baseline": "experiment.model=knn"}, "baseline 'experiment.model=knn' matches no "
                                                                         "method of the benchmark"),
])
def test_bad_benchmark_declarations_are_one_line(options, text):
    with pytest.raises(ConfigError) as err:
        seedexp.summarize(records(), **options)
    assert text in str(err.value) and "\n" not in str(err.value)


@pytest.mark.fast
def test_a_task_with_one_method_is_one_line():
    recs = records() + [r | {"group": "experiment.dataset=blobs,experiment.model=rf"} for r in records()[:3]]
    with pytest.raises(ConfigError, match=r"^task experiment.dataset=blobs was run with one method only "
                                          r"\(experiment.model=rf\); a benchmark compares methods on every task") as e:
        seedexp.summarize(recs, task="experiment.dataset")
    assert "\n" not in str(e.value)


@pytest.mark.fast
def test_options_are_checked_as_the_user_spelled_them():
    assert check_options(task="experiment.dataset", normalize="minmax")["normalize"] == "minmax"
    assert check_options({"normalize": "digits=0.1:1,wine=0.4:1"}, style="cli")["normalize"] == {
        "digits": (0.1, 1.0), "wine": (0.4, 1.0)}
    with pytest.raises(ConfigError, match=r"^--normalize='zscore': expected null \(raw scores\), minmax"):
        check_options({"normalize": "zscore"}, style="cli")
    with pytest.raises(ConfigError, match=r"^report.task=''"):
        check_options({"task": ""}, style="config")


def _write(tmp_path, recs):
    for r in recs:
        write_record(tmp_path / f"{r['group']},seed={r['seed']}", r)
    return tmp_path


@pytest.mark.fast
def test_summary_files_and_pictures_are_written_titled_with_method_and_counts(tmp_path):
    from PIL import Image

    _write(tmp_path, records(drop={("iris", "rf", 2)}))
    summary = write_summary(tmp_path, task="experiment.dataset", normalize="minmax")
    names = [f"benchmark_acc_{k}.png" for k in ("aggregates", "profiles", "improvement", "cd")]
    for name in names:
        title = Image.open(tmp_path / name).info["Title"]
        assert "3 methods × 5 tasks × 4-5 seeds" in title and "stratified bootstrap, 95%, 2000 resamples" in title
    md = (tmp_path / "summary.md").read_text()
    assert "## Benchmark: acc across tasks (experiment.dataset), 3 methods × 5 tasks × 4-5 seeds" in md
    assert "Missing runs: rf on iris: seed(s) 2 (failed)" in md and "min-max per task" in md
    assert "Friedman χ²" in md and "critical difference" in md
    csv = (tmp_path / "benchmark.csv").read_text().splitlines()
    assert csv[0] == "metric,method,statistic,estimate,ci_low,ci_high,n_tasks,normalization"
    assert len(csv) == 1 + 3 * 5 + 3  # (4 aggregates + mean rank) per method, one row per pair
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["benchmark"]["metrics"]["acc"]["normalization"]["kind"] == "minmax"
    assert data["options"]["task"] == "experiment.dataset"
    assert summary["benchmark"]["metrics"]["acc"]["aggregates"] == data["benchmark"]["metrics"]["acc"]["aggregates"]


def _cell(seeds, dataset, model):
    """A benchmark cell of the Python API: the score depends on the method, the task and the seed."""
    return {"acc": 0.5 + 0.1 * ["a", "b", "c"].index(model) + 0.01 * len(dataset) + 0.05 * seeds.generator("init").random()}


@pytest.mark.fast
def test_python_sweep_takes_the_task_and_refuses_one_it_does_not_sweep(tmp_path):
    s = seedexp.sweep(_cell, seeds=4, params={"dataset": ["x", "yy", "zzz"], "model": ["a", "b", "c"]},
                      task="dataset", out=tmp_path / "sw", progress=False)
    b = s.data["benchmark"]["metrics"]["acc"]
    assert b["ranks"]["mean_ranks"] == {"model=a": 3.0, "model=b": 2.0, "model=c": 1.0}
    assert (tmp_path / "sw" / "benchmark_acc_cd.png").is_file()
    with pytest.raises(ConfigError, match=r"^task='data' is not a key of params; the swept keys are: dataset, model$"):
        seedexp.sweep(_cell, seeds=2, params={"dataset": ["x"], "model": ["a"]}, task="data", out=tmp_path / "no",
                      progress=False)
    assert not (tmp_path / "no").exists()  # refused before any run
    with pytest.raises(ConfigError, match=r"^task dataset=x was run with one method only \(model=a\)"):
        seedexp.sweep(_cell, seeds=2, params={"dataset": ["x", "yy"], "model": ["a"]}, report={"task": "dataset"},
                      out=tmp_path / "one", progress=False)
    assert not list((tmp_path / "one").rglob("result.json"))  # checked on the plan, before any run


def test_example_benchmark_from_yaml_and_the_report_flag(tmp_path):
    """The docs' benchmark command, as written, in a fresh directory; then `seedexp report --task` on it."""
    from docs_pages import blocks, claimed

    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    (shown_block,) = claimed("test_example_benchmark_from_yaml_and_the_report_flag")  # the output the page shows
    (command,) = [b.code.strip() for b in blocks(shown_block.page, "bash")
                  if b.code.startswith("seedexp --config-dir conf --config-name benchmark_datasets")]
    proc = run_seedexp(command.split()[1:], tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = tmp_path / "multirun" / "benchmark_datasets"
    data = json.loads((sweep / "summary.json").read_text())
    b = data["benchmark"]["metrics"]["test_accuracy"]
    assert len(b["methods"]) == 3 and b["tasks"] == ["breast_cancer", "digits", "iris", "wine"]
    assert {n for per in b["n_seeds"].values() for n in per.values()} == {10}
    # the page's output is the real one: its benchmark block is what summary.md says
    shown = shown_block.code.strip()
    real = (sweep / "summary.md").read_text().split("## Benchmark: ", 1)[1].split("\n## ", 1)[0].strip()
    assert shown == "## Benchmark: " + real
    page = (sweep / "summary.html").read_text()  # the four pictures, embedded in the sweep's web page
    assert page.count('alt="Benchmark: benchmark_test_accuracy_') == 4 and "<h2 id=\"benchmark-" in page
    # the CLI flag: another normalisation, printed, nothing written; a bad key is one line, exit 2
    proc = run_seedexp(["report", str(sweep), "--task", "experiment.dataset", "--normalize", "minmax", "--no-write"],
                       tmp_path)
    assert proc.returncode == 0 and "min-max per task" in proc.stdout, proc.stderr
    proc = run_seedexp(["report", str(sweep), "--task", "dataset", "--no-write"], tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "report.task='dataset' is not a swept key" in proc.stderr
    # the YAML key, mistyped on the command line: one line before any run
    proc = run_seedexp(["--config-dir", "conf", "--config-name", "benchmark_datasets", "-m", "report.task=dataset",
                        "hydra.sweep.dir=bad"], tmp_path)
    assert proc.returncode != 0 and "report.task='dataset' is not a swept key" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and not list((tmp_path / "bad").rglob("result.json"))
