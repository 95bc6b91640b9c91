"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT


def python_blocks(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_plain_scikit_learn_example_runs_and_is_reproducible():
    (code,) = python_blocks("Use with plain scikit-learn code")
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


def blocks(section: str, lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def _env():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "HYDRA_FULL_ERROR")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_own_hydra_app_route_runs_as_written(tmp_path):
    (config,) = blocks("Your own Hydra app", "yaml")
    (code,) = blocks("Your own Hydra app", "python")
    (conf := tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "config.yaml").write_text(config)
    (conf / "rf.yaml").write_text("name: rf\nn_estimators: 10\n")
    (conf / "lr.yaml").write_text("name: lr\nC: 1.0\n")
    (tmp_path / "train.py").write_text(code)
    proc = subprocess.run([sys.executable, "train.py", "-m", "model=rf,lr", "seed=range(0,3)", "hydra.sweep.dir=sw"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr
    import json

    summary = json.loads((tmp_path / "sw" / "summary.json").read_text())
    assert summary["n_ok"] == 6 and len(summary["groups"]) == 2 and summary["comparisons"]


def test_notebook_route_runs_as_written(tmp_path):
    (code,) = blocks("In a notebook", "python")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "model=rf" in proc.stdout and "paired comparison(s)" in proc.stdout
    assert (tmp_path / "multirun" / "notebook_demo" / "summary.json").is_file()


def test_tuning_example_runs_as_written_on_a_smaller_budget(tmp_path):
    (code,) = blocks("Hyper-parameter tuning on common seeds", "python")
    small = code.replace("n_trials=20", "n_trials=3").replace("seeds=5", "seeds=2").replace("n_jobs=2", "n_jobs=1")
    assert small.count("n_trials=3") == 1 and small.count("seeds=2") == 1
    proc = subprocess.run([sys.executable, "-c", small], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=_env())
    assert proc.returncode == 0, proc.stderr
    assert "winner of the search" in proc.stdout and "max_depth" in proc.stdout
    assert (tmp_path / "multirun" / "tune_forest" / "tuning.png").is_file()
