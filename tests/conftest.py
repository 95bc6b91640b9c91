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
    _absl_leaves_pytests_streams_alone()


def _absl_leaves_pytests_streams_alone() -> None:
    """absl (imported by TensorFlow/Keras) logs to the sys.stderr of the moment it was imported: in a test, pytest's
    capture file. Hydra's logging set-up (an in-process run) closes every handler, and absl's close() closes that
    file, which kills the session. Pointed at the real stderr, absl's handler closes nothing."""
    absl = sys.modules.get("absl.logging")
    if absl is not None:
        absl.get_absl_handler().python_handler.stream = sys.__stderr__


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


def records(sweep_dir, by: str = "dir", drop=(), only=None) -> dict:
    """Every readable record under ``sweep_dir`` (one being replaced right now is skipped).

    ``by``: the key, ``"dir"`` (the run dir relative to ``sweep_dir``), ``"seed"``
    or ``"group_seed"`` (``(group, seed)``). ``drop`` / ``only``: the fields kept.
    """
    out = {}
    for path in sorted(Path(sweep_dir).rglob("result.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        key = {"dir": lambda: str(path.parent.relative_to(sweep_dir)), "seed": lambda: rec["seed"],
               "group_seed": lambda: (rec["group"], rec["seed"])}[by]()
        out[key] = {k: v for k, v in rec.items() if k not in drop and (only is None or k in only)}
    return out


# --------------------------------------------------------------------------- test tiers

#: The tiers, as markers: fast (in-process, seconds in all), cluster (real SLURM/Ray), integration (the rest).
TIERS = ("fast", "integration", "cluster")
_TIER_TIME: dict[str, list[float]] = {}


def _tier(item) -> str:
    return next((t for t in ("fast", "cluster") if item.get_closest_marker(t)), "integration")


def pytest_collection_modifyitems(config, items):
    """Every test that is neither fast nor cluster is an integration test (``-m integration`` selects them)."""
    for item in items:
        if _tier(item) == "integration" and not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.integration)


def pytest_runtest_logreport(report):
    tier = next((t for t in ("fast", "cluster", "integration") if t in report.keywords), "integration")
    times = _TIER_TIME.setdefault(tier, [0.0, 0])
    times[0] += report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        times[1] += 1


def pytest_terminal_summary(terminalreporter):
    """Each tier's summed time (setup + call + teardown of its tests), so CI shows what each tier costs."""
    if not _TIER_TIME:
        return
    parts = [f"{tier} {seconds:.1f} s ({int(n)} tests)" for tier, (seconds, n) in
             sorted(_TIER_TIME.items(), key=lambda kv: TIERS.index(kv[0]) if kv[0] in TIERS else 9)]
    terminalreporter.write_line("seedexp test tiers: " + "; ".join(parts))
