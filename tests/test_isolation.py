"""A crash, a hang or an out-of-memory kill costs one run, never the sweep (issue 27, parts 1 and 2).

One sweep of 12 seeds plants every fault once (``tests/conf/experiment/crashes.yaml``):
``os._exit`` (seed 1), a segfault (3), SIGKILL of the run's own process (5), a hang past
``timeout`` (7), a ``MemoryError`` (9) and growth past ``memory_limit`` (11); seeds 0, 2,
..., 10 are fine. Under the default launcher, the joblib launcher and :func:`seedexp.sweep`:
the six fine seeds are ok, the summary names each lost seed with its cause (exit code,
signal, the limit, the error), the sweep exits 1 (``Summary.ok`` is False), and the same
command again runs only the six lost seeds (each fault happens once, so they are ok then).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import planted_faults
import seedexp
from conftest import TESTS, read_json, run_seedexp
from seedexp.errors import ConfigError, SeedexpWarning
from seedexp.supervise import RunInfo, Supervisor, Task, check_limits, parse_memory

FAULTS = {1: "exit", 3: "segfault", 5: "sigkill", 7: "hang", 9: "memory_error", 11: "grows"}
FINE = [0, 2, 4, 6, 8, 10]
TIMEOUT, MEMORY = 2, "400MB"
CONF = ["--config-dir", str(TESTS / "conf")]

#: What the summary must say of each lost seed: its status and words of its cause.
EXPECTED = {
    1: ("crashed", "ProcessDied", "exited with code 3"),
    3: ("crashed", "ProcessDied", "killed by signal 11 (SIGSEGV"),
    5: ("crashed", "ProcessDied", "killed by signal 9 (SIGKILL"),
    7: ("timed_out", "Timeout", f"no result after timeout={TIMEOUT} s"),
    9: ("failed", "MemoryError", ""),
    11: ("crashed", "MemoryLimit", "over memory_limit=381.5 MiB"),
}


def _started(sweep_dir: Path) -> dict[int, str]:
    return {read_json(p)["seed"]: read_json(p).get("started_at") for p in Path(sweep_dir).rglob("result.json")}


def _check_lost(summary: dict) -> None:
    """The summary: six ok, each lost seed named with its status, type and cause; the log tail of the crashes."""
    statuses = {r["seed"]: r["status"] for r in summary["runs"]}
    assert {s: statuses[s] for s in FINE} == {s: "ok" for s in FINE}, statuses
    assert summary["n_ok"] == 6 and summary["n_crashed"] == 4 and summary["n_timed_out"] == 1 \
        and summary["n_failed"] == 1, statuses
    lost = {f["seed"]: f for f in summary["not_ok"]}
    assert sorted(lost) == sorted(FAULTS)
    for seed, (status, kind, words) in EXPECTED.items():
        entry = lost[seed]
        assert (entry["status"], entry["type"]) == (status, kind), entry
        assert words in entry["message"], entry
        if status != "failed":  # the run printed this line before it died: its log tail has it
            assert f"about to {FAULTS[seed]} at seed {seed}" in entry["log_tail"], entry
    assert "in crashes (planted_faults.py:" in lost[3]["message"]  # where the segfault was (faulthandler)
    assert "in crashes (planted_faults.py:" in lost[7]["message"]  # where the hang was


# --------------------------------------------------------------------------- seedexp.sweep


@pytest.mark.integration
def test_python_sweep_survives_every_fault_and_a_rerun_runs_only_the_lost_seeds(tmp_path):
    kw = dict(seeds=range(12), params={"faults": [FAULTS], "once": [str(tmp_path / "flags")]}, out=tmp_path / "sw",
              progress=False, timeout=TIMEOUT, memory_limit=MEMORY, n_jobs=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.monotonic()
        first = seedexp.sweep(planted_faults.crashes, **kw)
        took = time.monotonic() - t0
    assert not first.ok and took < 30  # the hang cost its timeout, not the sweep
    _check_lost(first.data)
    said = [str(w.message) for w in caught if issubclass(w.category, SeedexpWarning)]
    assert sorted(int(line.split("seed=")[1].split(")")[0]) for line in said) == [1, 3, 5, 7, 11], said
    assert all(line.startswith("seedexp: run ") and "\n" not in line for line in said)
    on_disk = read_json(tmp_path / "sw" / "summary.json")
    assert on_disk["n_not_ok"] == 6 and "log_tail" in {f["seed"]: f for f in on_disk["not_ok"]}[3]
    run_dir = next((tmp_path / "sw").glob("*seed=3"))
    record = read_json(run_dir / "result.json")
    assert record["crash"] == {"exit_code": None, "signal": 11, "signal_name": "SIGSEGV"}
    assert record["config_hash"] and record["host"]["pid"] != os.getpid()  # the worker's running marker, completed
    assert "Fatal Python error: Segmentation fault" in (run_dir / "traceback.txt").read_text()
    before = _started(tmp_path / "sw")

    again = seedexp.sweep(planted_faults.crashes, **kw)
    assert again.ok
    after = _started(tmp_path / "sw")
    assert sorted(s for s in after if after[s] != before[s]) == sorted(FAULTS)  # only the lost seeds ran again


@pytest.mark.fast
def test_limits_are_checked_before_any_run(tmp_path):
    for kw, words in (({"timeout": 0}, "timeout=0: expected a number of seconds > 0"),
                      ({"timeout": "1h"}, "timeout='1h'"),
                      ({"memory_limit": "lots"}, "memory_limit='lots': expected a memory size"),
                      ({"memory_limit": 10}, "at least 1 MiB"),
                      ({"isolation": "thread"}, "isolation='thread': expected one of process, fork, spawn, none"),
                      ({"isolation": "none", "timeout": 5}, "timeout needs isolation"),
                      ({"isolation": "none", "n_jobs": 2}, "isolation='none' runs every run in this process")):
        with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
            seedexp.sweep(planted_faults.crashes, seeds=2, out=tmp_path / "never", progress=False, **kw)
        assert not (tmp_path / "never").exists()
    assert parse_memory("1.5GiB") == 3 * 2 ** 29 and parse_memory(2 ** 30) == 2 ** 30
    assert check_limits("process", None, None) == ("process", None, None)


@pytest.mark.integration  # it forks a worker
def test_isolation_none_runs_in_this_process(tmp_path):
    pids = seedexp.sweep(_pid, seeds=2, out=tmp_path / "none", progress=False, isolation="none")
    here = {r["metrics"]["pid"] for r in pids.runs}
    assert here == {float(os.getpid())}
    forked = seedexp.sweep(_pid, seeds=3, out=tmp_path / "proc", progress=False)
    there = {r["metrics"]["pid"] for r in forked.runs}
    assert len(there) == 1 and there != here  # one warm worker, reused run after run


def _pid(seeds):
    return {"pid": float(os.getpid())}


@pytest.mark.integration
def test_a_spawned_worker_gets_a_function_made_here(tmp_path):
    """A closure (a notebook's function): cloudpickled to a fresh interpreter, run under PYTHONHASHSEED=0."""
    scale = 3.0

    def local(seeds):
        return {"value": scale * seeds.generator("init").normal(), "hash_seed": float(os.environ["PYTHONHASHSEED"])}

    spawned = seedexp.sweep(local, seeds=3, out=tmp_path / "spawn", progress=False, isolation="spawn")
    here = seedexp.sweep(local, seeds=3, out=tmp_path / "here", progress=False, isolation="none") \
        if os.environ.get("PYTHONHASHSEED") == "0" else None
    assert spawned.ok and {r["metrics"]["hash_seed"] for r in spawned.runs} == {0.0}
    values = [r["metrics"]["value"] for r in spawned.runs]
    assert values == [scale * seedexp.SeedPlan(s).generator("init").normal() for s in range(3)]
    if here is not None:
        assert [r["metrics"]["value"] for r in here.runs] == values


@pytest.mark.integration  # it forks a worker
def test_breakpoint_in_a_worker_says_to_use_isolation_none(tmp_path):
    def stops(seeds):
        breakpoint()
        return {"x": 1.0}

    summary = seedexp.sweep(stops, seeds=1, out=tmp_path / "bp", progress=False)
    failure = summary.data["not_ok"][0]
    assert failure["type"] == "RuntimeError" and "isolation=none" in failure["message"]


@pytest.mark.integration  # it forks a worker
def test_supervisor_relays_output_and_reuses_its_worker(capfd):
    with Supervisor(1) as pool:
        pool.share("say", _say)
        results = [r for _, r in pool.map(Task("say", (i,), RunInfo(None)) for i in range(3))]
    assert len({pid for pid, _ in results}) == 1 and [i for _, i in results] == [0, 1, 2]
    out, err = capfd.readouterr()
    assert out.splitlines() == ["out 0", "out 1", "out 2"] and err.splitlines() == ["err 0", "err 1", "err 2"]


def _say(i):
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
    return os.getpid(), i


# --------------------------------------------------------------------------- the seedexp command


LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


@pytest.mark.integration
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_seedexp_command_survives_every_fault_and_a_rerun_runs_only_the_lost_seeds(tmp_path, launcher):
    args = [*CONF, "-m", "experiment=crashes", "seed=range(0,12)", f"timeout={TIMEOUT}", f"memory_limit={MEMORY}",
            *LAUNCHERS[launcher], "hydra.sweep.dir=sw"]
    t0 = time.monotonic()
    proc = run_seedexp(args, tmp_path, env={"PYTHONHASHSEED": "0"}, timeout=120)
    assert proc.returncode == 1 and time.monotonic() - t0 < 60, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "Fatal Python error" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert all(ln.startswith("seedexp: ") for ln in lines), proc.stderr  # the workers' dumps stay in the records
    named = {int(ln.split("(seed=")[1].split(")")[0]): ln for ln in lines if "(seed=" in ln}
    assert sorted(named) == sorted(FAULTS), proc.stderr  # one line per lost seed, as it happened
    assert "run timed out (seed=7)" in named[7] and "last output: about to hang at seed 7" in named[7]
    assert "run failed (seed=9): MemoryError: an allocation failed" in named[9]
    assert "seedexp: 6 of 12 planned runs did not finish ok" in proc.stderr
    summary = read_json(tmp_path / "sw" / "summary.json")
    _check_lost(summary)
    md = (tmp_path / "sw" / "summary.md").read_text()
    assert "12 planned runs in 1 group(s): 6 ok, 1 failed, 4 crashed, 1 timed out." in md
    assert "**timed out** — Timeout: no result after timeout=2 s" in md and "last output: " in md
    before = _started(tmp_path / "sw")

    again = run_seedexp(args, tmp_path, env={"PYTHONHASHSEED": "0"}, timeout=120)
    assert again.returncode == 0, again.stderr
    after = _started(tmp_path / "sw")
    assert sorted(s for s in after if after[s] != before[s]) == sorted(FAULTS)  # only the lost seeds ran again
    said = [ln for ln in again.stderr.splitlines() if ln.strip()]
    assert len(said) == 5 and all("in an earlier attempt" in ln for ln in said), again.stderr  # not the failed one
    assert "seed=7 timed out in an earlier attempt (no result after timeout=2 s" in again.stderr


_THREADS_SCRIPT = """
import threading

from seedexp.supervise import FORK_LOCK, fork_is_unsafe, progress_bar, start_method

assert fork_is_unsafe() is None and start_method("process") == "fork"
bar = progress_bar(total=3, disable=False)  # tqdm's monitor thread would make this process unsafe to fork
try:
    assert fork_is_unsafe() is None
finally:
    bar.close()
stop = threading.Event()

class Ours(threading.Thread):
    fork_safe = True  # works under FORK_LOCK, as the sweep's progress line does

for thread, unsafe in ((threading.Thread(target=stop.wait, name="user-thread"), True), (Ours(target=stop.wait), False)):
    thread.start()
    try:
        why = fork_is_unsafe()
        assert (why is not None and "user-thread" in why) if unsafe else why is None
        assert start_method("process") == ("spawn" if unsafe else "fork")
        assert start_method("fork") == "fork"  # forced
    finally:
        stop.set()
        thread.join()
        stop.clear()
assert not FORK_LOCK.locked()
"""


@pytest.mark.fast
def test_a_process_with_another_thread_is_not_forked_but_ours_and_bars_do_not_count():
    # in a fresh interpreter: the test process has imported tensorflow and may hold other tests' threads
    proc = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
