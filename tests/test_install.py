"""A wheel, installed (not editable) in a fresh venv outside the clone, works from any directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, read_json

pytestmark = pytest.mark.slow


def sh(args, cwd, env=None, timeout=900):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env or {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHASHSEED")})
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def user_package(where):
    """A user's own package named `experiments` (the name seedexp once installed)."""
    src = where / "user_pkg"
    (src / "experiments").mkdir(parents=True)
    (src / "experiments" / "__init__.py").write_text("MINE = 'user experiments'\n")
    (src / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "user-experiments"
        version = "1.0"
        [tool.setuptools]
        packages = ["experiments"]
        """))
    return src


def test_wheel_in_a_fresh_venv_runs_from_an_unrelated_directory(tmp_path):
    dist = tmp_path / "dist"
    sh([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, ROOT], tmp_path)
    (wheel,) = dist.glob("seedexp-*.whl")
    venv = tmp_path / "venv"
    sh([sys.executable, "-m", "venv", venv], tmp_path)
    pip, py = venv / "bin" / "pip", venv / "bin" / "python"
    sh([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path / "user_dist",
        user_package(tmp_path)], tmp_path)
    sh([pip, "install", "-q", *(tmp_path / "user_dist").glob("*.whl")], tmp_path)
    sh([pip, "install", "-q", "-c", ROOT / ".ci" / "constraints.txt", wheel], tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    seedexp = venv / "bin" / "seedexp"
    helped = sh([seedexp, "--help"], elsewhere)
    groups = [ln for ln in helped.stdout.splitlines() if ln.startswith("experiment: ")]  # Hydra's group list
    assert helped.stdout.startswith("usage: seedexp") and len(groups) == 1 and "imbalanced_clf" in groups[0]
    assert sh([seedexp, "--version"], elsewhere).stdout.startswith("seedexp ")
    one = sh([seedexp, "experiment=imbalanced_clf", "experiment.n_estimators=5", "seed=1", "hydra.run.dir=one"],
             elsewhere)
    assert "seedexp: seed=1" in one.stdout and read_json(elsewhere / "one" / "result.json")["status"] == "ok"
    sh([seedexp, "-m", "experiment=imbalanced_clf", "experiment.n_estimators=5", "seed=range(0,3)",
        "hydra.sweep.dir=sw"], elsewhere)
    assert read_json(elsewhere / "sw" / "summary.json")["n_ok"] == 3
    # the user's `experiments` package and seedexp live side by side; uninstalling seedexp keeps it
    both = sh([py, "-c", "import experiments, seedexp, hydra_plugins.seedexp; print(experiments.MINE)"], elsewhere)
    assert "user experiments" in both.stdout
    sh([pip, "uninstall", "-q", "-y", "seedexp"], elsewhere)
    assert "user experiments" in sh([py, "-c", "import experiments; print(experiments.MINE)"], elsewhere).stdout
    shutil.rmtree(venv, ignore_errors=True)
