"""Start once: an @seedexp.main script restarts under PYTHONHASHSEED=0 before its own heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, TESTS, only_record

APP = TESTS / "start_once_app" / "app.py"


def test_app_imports_its_heavy_modules_once_and_runs_under_the_fixed_hash_seed(tmp_path):
    marker = tmp_path / "imports.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "SEEDEXP_NO_REEXEC")}
    env.update(PYTHONPATH=os.pathsep.join([str(TESTS / "start_once_app"), str(ROOT)]), SEEDEXP_TEST_MARKER=str(marker))
    runs = [subprocess.run([sys.executable, str(APP), f"hydra.run.dir=run{i}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120) for i in range(2)]
    assert all(p.returncode == 0 for p in runs), runs[0].stderr
    lines = marker.read_text().splitlines()
    assert len(lines) == 2 and all(line.endswith("PYTHONHASHSEED=0") for line in lines)  # once per run
    first, second = only_record(tmp_path / "run0"), only_record(tmp_path / "run1")
    assert first["determinism"]["PYTHONHASHSEED"] == "0" and first["metrics"] == second["metrics"]
