from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
TEST_CONF = TESTS / "conf"


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Every test leaves os.environ and the global RNGs as it found them."""
    env = dict(os.environ)
    py_state = random.getstate()
    np_state = np.random.get_state()
    yield
    os.environ.clear()
    os.environ.update(env)
    random.setstate(py_state)
    np.random.set_state(np_state)


def run_seedexp(args, cwd, *, env=None, timeout=600, check_rc=None):
    """Run ``python -m seedexp ARGS`` in a fresh process; return CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("HYDRA_FULL_ERROR", None)
    full_env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "seedexp", *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout,
    )
    if check_rc is not None and proc.returncode != check_rc:
        raise AssertionError(f"rc={proc.returncode}\nSTDOUT:\n{proc.stdout}\nSTDERR:\n{proc.stderr}")
    return proc


def read_json(path):
    return json.loads(Path(path).read_text())


def only_record(run_root: Path) -> dict:
    found = list(Path(run_root).rglob("result.json"))
    assert len(found) == 1, found
    return read_json(found[0])
