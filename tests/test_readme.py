"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys

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


def test_the_two_fresh_machine_commands_are_what_ci_runs():
    text = (ROOT / "README.md").read_text()
    fresh = text.split("## Fresh machine: the two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", fresh, flags=re.S)
    assert len(commands) == 2
    assert "seed=range(0,30)" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
