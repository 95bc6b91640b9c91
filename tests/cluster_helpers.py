"""Start and stop the real clusters of tests/test_clusters.py, and read what a sweep left.

The clusters are started by the scripts users run (``scripts/slurm_cluster.py``,
``scripts/ray_cluster.py``), in fresh processes, and always stopped again: the
context managers stop them in ``finally``. When a cluster cannot be had (not root,
no apt-get, a daemon that will not start) the test is skipped with the script's
one-line reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import ROOT, TESTS

SCRIPTS = ROOT / "scripts"

#: The sweep every launcher must agree on: small, fast, strict determinism switched on.
SWEEP = ["-m", "experiment=imbalanced_clf", "experiment.n_estimators=10", "experiment.n_samples=400",
         "seed=range(0,4)", "determinism.strict=true"]
SEEDS = {0, 1, 2, 3}


def _reason(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
    return lines[-1] if lines else f"rc={proc.returncode}"


def seedexp_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment conftest.run_seedexp gives ``python -m seedexp``, plus ``extra``."""
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT)])
    env.update(extra or {})
    return env


def start_sweep(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """``python -m seedexp ARGS`` in the background (a fault is injected while it runs)."""
    return subprocess.Popen([sys.executable, "-m", "seedexp", *args], cwd=cwd, env=seedexp_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """Wait for a background sweep; kill its process group if it overruns."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        raise AssertionError(f"sweep still running after {timeout} s\nSTDOUT:\n{out}\nSTDERR:\n{err}") from None
    return proc.returncode, out, err


def stop_sweep(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.communicate()


def records(sweep_dir: Path) -> dict[int, dict]:
    """``{seed: record}`` of every readable ``result.json`` under ``sweep_dir``."""
    out = {}
    for path in Path(sweep_dir).rglob("result.json"):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):  # being replaced right now: next poll
            continue
        out[rec["seed"]] = rec
    return out


def wait_for(what: str, found: Callable[[], object], timeout: float, proc: subprocess.Popen | None = None):
    """Poll ``found()`` until it returns something truthy; fail after ``timeout`` s or if ``proc`` ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the sweep ended (rc={proc.returncode}) before {what}\n"
                                 f"STDOUT:\n{out}\nSTDERR:\n{err}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {timeout} s")


def not_ok(summary: dict) -> dict[int, str]:
    """``{seed: status}`` of the planned runs the summary lists as not ok."""
    return {r["seed"]: r["status"] for r in summary["not_ok"]}


# -- SLURM ---------------------------------------------------------------------------------


@contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A running one-node SLURM cluster (installed with apt-get when missing); yields its env."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("SLURM cluster: needs root on Linux (apt-get install, daemons run as root)")
    root = Path(tempfile.mkdtemp(prefix="sxs", dir="/tmp"))  # short: the munge socket path
    script = [sys.executable, str(SCRIPTS / "slurm_cluster.py")]
    try:
        proc = subprocess.run([*script, "start", str(root), "--install", "--cpus", "2"], capture_output=True,
                              text=True, timeout=900)
        if proc.returncode != 0:
            pytest.skip(f"SLURM cluster not available: {_reason(proc)}")
        yield {"SLURM_CONF": str(root / "slurm.conf")}
    finally:
        subprocess.run([*script, "stop", str(root)], capture_output=True, timeout=180)
        shutil.rmtree(root, ignore_errors=True)


def slurm(cmd: list[str], env: dict[str, str], check: bool = True) -> str:
    """Run a SLURM client command (``sacct``, ``scancel``...) against the test cluster."""
    proc = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 or not check, f"{' '.join(cmd)}: rc={proc.returncode}\n{proc.stderr}"
    return proc.stdout


def sacct_states(array_job_id: str, env: dict[str, str]) -> dict[str, str]:
    """``{"JOB_TASK": state}`` of an array job's tasks, from accounting."""
    out = slurm(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", array_job_id], env)
    return {job: state.split()[0] for job, state in (line.split("|") for line in out.splitlines() if line)}


# -- Ray -----------------------------------------------------------------------------------


@contextmanager
def ray_cluster(home: Path, workers: int = 1) -> Iterator[dict]:
    """A head and ``workers`` worker nodes, 1 CPU each, separate processes on this machine.

    Yields ``{"env": ..., "state": cluster.json, "script": [...], "root": Path}``. The
    nodes' workers import seedexp and tests/planted.py (PYTHONPATH as in the sweeps).
    """
    pytest.importorskip("ray")
    root = Path(tempfile.mkdtemp(prefix="sxc", dir="/tmp"))  # short: Ray's AF_UNIX socket paths
    env = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_ADDRESS": "",
           "HOME": str(home), "RAY_TMPDIR": str(root)}
    script = [sys.executable, str(SCRIPTS / "ray_cluster.py")]
    try:
        # cwd: the nodes' workers resolve relative paths there (never in the repository)
        proc = subprocess.run([*script, "start", str(root), "--workers", str(workers), "--cpus", "1"], cwd=root,
                              env=seedexp_env(env), capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            pytest.skip(f"Ray cluster not available: {_reason(proc)}")
        yield {"env": env, "state": json.loads((root / "cluster.json").read_text()), "script": script,
               "root": root}
    finally:
        subprocess.run([*script, "stop", str(root)], env=seedexp_env(env), capture_output=True, timeout=180)
        shutil.rmtree(root, ignore_errors=True)


def ray_script(cluster: dict, *args: str) -> dict:
    """Run ``scripts/ray_cluster.py ARGS DIR ...`` on the test cluster; return the new cluster.json."""
    command, rest = args[0], args[1:]
    proc = subprocess.run([*cluster["script"], command, str(cluster["root"]), *rest], cwd=cluster["root"],
                          env=seedexp_env(cluster["env"]), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cluster["state"] = json.loads((cluster["root"] / "cluster.json").read_text())
    return cluster["state"]


def node_ids(cluster: dict) -> dict[str, str]:
    """``{node name: Ray node id}`` of the test cluster."""
    return {n["name"]: n["node_id"] for n in cluster["state"]["nodes"]}
