"""The examples of the README and the docs run as written (each finds its block with ``claimed``)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT
from docs_pages import blocks, claimed


def test_plain_scikit_learn_example_runs_and_is_reproducible():
    (block,) = claimed("test_plain_scikit_learn_example_runs_and_is_reproducible")
    code = block.code
    outs = [subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True,
                           check=True, timeout=300, env={"PYTHONHASHSEED": hs, "PATH": "/usr/bin:/bin"}).stdout
            for hs in ("1", "2")]
    assert outs[0] == outs[1]
    score, used = outs[0].splitlines()
    assert 0.8 < float(score) <= 1.0
    assert "'model/estimator__stack__rf__random_state'" in used and "'split'" in used


@pytest.mark.fast
def test_the_two_fresh_machine_commands_are_what_ci_runs():
    text = (ROOT / "README.md").read_text()
    fresh = text.split("## Fresh machine: the two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", fresh, flags=re.S)
    assert len(commands) == 2
    assert "seed=range(0,30)" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
    # the docs' getting-started page shows the same two commands
    assert [b.code.strip() for b in blocks("docs/getting-started.md", "bash")[:2]] == commands


def _env():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "HYDRA_FULL_ERROR")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def shown_lines_are_printed(shown: str, printed: str) -> None:
    """Every line of an output block is a line of what was printed, in order ("..." stands for lines left out)."""
    lines, at = printed.splitlines(), 0
    for line in shown.strip().splitlines():
        if line.strip() == "...":
            continue
        assert line in lines[at:], f"shown but not printed: {line!r}"
        at = lines.index(line, at) + 1


@pytest.mark.slow
def test_main_job_prints_what_the_pages_show(tmp_path):
    """The README's main job (getting started: the same) compares two models; the output the pages show is its own.

    The blocks: what the sweep prints (``text``), and ``seedexp report`` on its directory (``console``).
    """
    from conftest import run_seedexp

    text = (ROOT / "README.md").read_text()
    fresh = text.split("## Fresh machine: the two commands", 1)[1].split("\n## ", 1)[0]
    command = re.findall(r"```bash\n(.*?)\n```", fresh, flags=re.S)[0]
    args = shlex.split(command.split("&& .venv/bin/seedexp ", 1)[1])
    assert "experiment.model=rf,lr" in args and "seed=range(0,30)" in args  # two configurations, the same seeds
    sweep = run_seedexp(args, tmp_path, check_rc=0)
    assert "the seed changes nothing" not in sweep.stderr
    claims = claimed("test_main_job_prints_what_the_pages_show")
    assert {b.page for b in claims} >= {"README.md", "docs/getting-started.md"}
    for block in claims:
        if block.lang == "text":
            shown_lines_are_printed(block.code, sweep.stdout)
            continue
        assert block.lang == "console"
        shown, _, output = block.code.partition("\n")
        report = run_seedexp(shlex.split(shown[2:])[1:], tmp_path, check_rc=0)
        shown_lines_are_printed(output, report.stdout)


def test_own_hydra_app_route_runs_as_written(tmp_path):
    """The README's app (the docs show the same one): as written, on the README's seeds, printing what it shows."""
    claims = claimed("test_own_hydra_app_route_runs_as_written")
    (readme_command,) = [b for b in claims if b.page == "README.md" and b.lang == "bash"]
    (shown,) = [b for b in claims if b.lang == "text"]
    for page in {b.page for b in claims}:  # one example, shown on several pages
        assert [b.code for b in blocks(page, "yaml")][:1] == [b.code for b in blocks("README.md", "yaml")]
        assert [b.code for b in blocks(page, "python")][:1] == [b.code for b in blocks("README.md", "python")][:1]
    (config,) = [b.code for b in blocks("README.md", "yaml")]
    code = blocks("README.md", "python")[0].code
    (conf := tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "config.yaml").write_text(config)
    (conf / "rf.yaml").write_text("name: rf\nn_estimators: 50\n")  # as the README says
    (conf / "lr.yaml").write_text("name: lr\nC: 1.0\n")
    (tmp_path / "train.py").write_text(code)
    args = shlex.split(readme_command.code, comments=True)
    assert args[:2] == ["python", "train.py"]
    proc = subprocess.run([sys.executable, *args[1:], "hydra.sweep.dir=sw"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "_self_" not in proc.stderr  # no "Defaults list is missing `_self_`" warning
    summary = json.loads((tmp_path / "sw" / "summary.json").read_text())
    assert summary["n_ok"] == 10 and len(summary["groups"]) == 2 and summary["comparisons"]
    shown_lines_are_printed(shown.code, proc.stdout)


def test_hydra_app_page_search_runs_as_written(tmp_path):
    """The app page's model files and Optuna search config: the app runs under Hydra's Optuna sweeper as shown."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")  # the [test] extra brings it
    files = {"conf/config.yaml": blocks("README.md", "yaml")[0].code, "train.py": blocks("README.md", "python")[0].code}
    for block in claimed("test_hydra_app_page_search_runs_as_written"):  # each names its file on its first line
        files[block.code.splitlines()[0].lstrip("# ").split(":")[0].strip()] = block.code
    assert {"conf/model/rf.yaml", "conf/model/lr.yaml", "conf/search.yaml"} <= set(files)
    for name, code in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    search = subprocess.run([sys.executable, "train.py", "--config-name", "search", "-m", "hydra.sweeper.n_trials=2",
                             "hydra.sweep.dir=opt"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=_env())
    assert search.returncode == 0, search.stderr
    recs = [json.loads(p.read_text()) for p in (tmp_path / "opt").glob("*/result.json")]
    best = max(r["metrics"]["accuracy"] for r in recs)  # the task's dict: Optuna got the declared primary metric
    assert len(recs) == 2 and f"best_value: {best}" in (tmp_path / "opt" / "optimization_results.yaml").read_text()


def test_notebook_route_runs_as_written(tmp_path):
    """The README's notebook example (the docs show the same code) prints what the README shows."""
    claims = claimed("test_notebook_route_runs_as_written")
    codes = {b.code for b in claims if b.lang == "python"}
    assert len(codes) == 1  # the README and the docs page show the same code
    (shown,) = [b.code for b in claims if b.lang == "text"]
    proc = subprocess.run([sys.executable, "-c", codes.pop()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown
    assert (tmp_path / "multirun" / "notebook_demo" / "summary.json").is_file()


def test_tuning_example_prints_what_the_page_shows(tmp_path):
    """The tuning page's code as written (20 trials x 5 seeds, 3 finalists on 5 fresh seeds: about 15 s), and the
    output the page shows: the same numbers, seeded sampler and all."""
    code, shown = claimed("test_tuning_example_prints_what_the_page_shows")
    assert code.lang == "python" and shown.lang == "text"
    proc = subprocess.run([sys.executable, "-c", code.code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown.code, proc.stdout
    assert "Warning" not in proc.stderr, proc.stderr  # no matplotlib layout warning from the study's pages
    assert (tmp_path / "multirun" / "tune_forest" / "tuning.png").is_file()
