"""Faults that end runs, sweeps and disks: every planned run is accounted for, nothing is lost.

* ``sys.exit(0)`` / ``os._exit(1)`` at one seed under the basic and the joblib
  launcher: the summary (or, when the process died with the basic launcher, the
  next resume) names the seed, the exit code is not 0, the resume redoes only it;
* ``seedexp report`` on a directory of another tool: refused, untouched;
* two sweeps started together into one directory: one runs, one is refused
  (one line); a ``report`` racing the sweep is refused too;
* a full disk (a 1 MB tmpfs) and a read-only sweep dir (a read-only bind mount):
  one line naming the path and what to do; the records and summary written
  before are intact. Both need ``mount`` (root): skipped with the reason otherwise.

What "one line" means here is what it means in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, read_json, run_seedexp
from test_bad_inputs import CONF, ENV, RECORD, assert_error, known_gap, lines, snapshot

SIX = "seed=range(0,6)"
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def seedexp(args, cwd, **kw):
    return run_seedexp([str(a) for a in args], cwd, env={**ENV, **kw.pop("env", {})}, **kw)


def started(sweep_dir: Path) -> dict[int, str]:
    """``{seed: started_at}`` of every record under ``sweep_dir``."""
    out = {}
    for path in Path(sweep_dir).rglob(RECORD):
        record = read_json(path)
        out[record["seed"]] = record["started_at"]
    return out


def statuses(summary: dict) -> dict[int, str]:
    return {r["seed"]: r["status"] for r in summary["runs"]}


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert all(ln.startswith("seedexp") for ln in lines(proc.stderr)), proc.stderr


# --------------------------------------------------------------------------- sys.exit(0) at one seed


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_sys_exit_0_at_one_seed_is_a_failed_run_and_resume_redoes_only_it(tmp_path, launcher):
    args = [*CONF, "-m", "experiment=exits_on", SIX, *LAUNCHERS[launcher], "hydra.sweep.dir=sw"]
    proc = seedexp(args, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    no_traceback(proc)
    failed = [ln for ln in lines(proc.stderr) if ln.startswith("seedexp: run failed")]
    assert failed == [ln for ln in failed if "(seed=3): SystemExit: the experiment called sys.exit(0)" in ln] != []
    assert "seedexp: 1 of 6 planned runs did not finish ok" in proc.stderr
    summary = read_json(tmp_path / "sw" / "summary.json")
    assert summary["n_runs"] == 6 and summary["n_ok"] == 5 and summary["n_failed"] == 1
    assert statuses(summary)[3] == "failed" and summary["failures"][0]["seed"] == 3
    assert "sys.exit(0)" in (tmp_path / "sw" / "summary.md").read_text()
    before = started(tmp_path / "sw")

    again = seedexp(args, tmp_path)
    assert again.returncode == 1
    after = started(tmp_path / "sw")
    assert sorted(s for s in after if after[s] != before[s]) == [3]  # only the failed seed ran again


# --------------------------------------------------------------------------- os._exit(1) at one seed


@pytest.mark.slow
def test_os_exit_kills_a_basic_sweep_and_the_next_resume_names_the_seed_and_redoes_it(tmp_path, capsys):
    args = [*CONF, "-m", "experiment=dies_on", SIX, "experiment.once=died.flag", "hydra.sweep.dir=sw"]
    proc = seedexp(args, tmp_path)
    assert proc.returncode == 1  # the process died with the experiment: its exit code, no summary
    first = started(tmp_path / "sw")
    assert sorted(first) == [0, 1, 2, 3]  # seeds 4 and 5 never ran
    assert read_json(tmp_path / "sw" / "experiment.once=died.flag,experiment=dies_on,seed=3" / RECORD)[
        "status"] == "running"  # the marker written before the experiment started

    report = seedexp(["report", "sw", "--no-write"], tmp_path)
    assert report.returncode == 1 and "Traceback" not in report.stderr
    assert "3 of 6 runs are not ok (1 crashed, 2 missing" in report.stderr, report.stderr
    assert "seed 3 (" in report.stdout and "**crashed**" in report.stdout

    resume = seedexp(args, tmp_path)
    assert resume.returncode == 0, resume.stderr
    no_traceback(resume)
    assert [ln for ln in lines(resume.stderr)] == [ln for ln in lines(resume.stderr) if "seed=3 crashed in an earlier "
                                                   "attempt" in ln] != [], resume.stderr
    after = started(tmp_path / "sw")
    assert sorted(s for s in after if after[s] != first.get(s)) == [3, 4, 5]  # the crashed seed and the unrun ones
    summary = read_json(tmp_path / "sw" / "summary.json")
    assert summary["n_ok"] == 6 and summary["n_runs"] == 6


@pytest.mark.slow
def test_os_exit_in_a_joblib_worker_is_named_in_the_summary_and_resume_redoes_only_the_lost_runs(tmp_path):
    # seed 2 is still running in the other worker when seed 3's worker dies: the summary is built only once
    # that worker is gone, so what it lists as lost is what the resume redoes (loky fails the futures first
    # and kills the workers after: a run could finish, and record ok, after the summary had listed it crashed)
    args = [*CONF, "-m", "experiment=dies_on", SIX, "experiment.once=died.flag", "experiment.slow_seed=2",
            *LAUNCHERS["joblib"], "hydra.sweep.dir=sw"]
    proc = seedexp(args, tmp_path)
    assert proc.returncode != 0
    summary = read_json(tmp_path / "sw" / "summary.json")
    runs = statuses(summary)
    assert sorted(runs) == list(range(6)) and runs[3] == "crashed"  # every planned run accounted for
    assert summary["n_ok"] + summary["n_failed"] + summary["n_crashed"] + summary["n_missing"] == 6
    first = started(tmp_path / "sw")
    lost = sorted(s for s, status in runs.items() if status != "ok")

    resume = seedexp(args, tmp_path)
    assert resume.returncode == 0, resume.stderr
    assert "seed=3 crashed in an earlier attempt" in resume.stderr
    no_traceback(resume)
    after = started(tmp_path / "sw")
    assert sorted(s for s in after if after[s] != first.get(s)) == lost  # the ok runs were not redone
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 6

    known_gap("TerminatedWorkerError" in proc.stderr and "Traceback" in proc.stderr,
              "sweeper.py re-raises a launcher error when HYDRA_FULL_ERROR=1, which the seedexp command always sets "
              "for Hydra; it must ask seedexp.hydra.task.full_error() (the user's choice) instead")
    no_traceback(proc)
    assert "TerminatedWorkerError" in proc.stderr and "seed" in proc.stderr


# --------------------------------------------------------------------------- report on a foreign directory


def test_report_on_a_directory_of_another_tool_touches_nothing(tmp_path):
    other = tmp_path / "other_tool_runs"
    for i in range(3):
        (other / f"trial_{i}").mkdir(parents=True)
        (other / f"trial_{i}" / RECORD).write_text(json.dumps({"trial": i, "accuracy": 0.8 + i / 100}))
    (other / "summary.json").write_text('{"tool": "other", "best": 0.82}\n')
    (other / "summary.md").write_text("# other tool\n")
    (other / "runs.csv").write_text("trial,accuracy\n0,0.8\n")

    def state():
        return {p.relative_to(other).as_posix(): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
                for p in sorted(other.rglob("*"))}

    before = state()
    for args in (["report", other], ["report", other, "--out", tmp_path / "out"], ["compare", other],
                 ["plan", other, "--halfwidth", "0.1"]):
        proc = seedexp(args, tmp_path)
        assert_error(proc.returncode, proc.stderr, 2, "no seedexp run record or sweep.json", str(other),
                     prefix=f"seedexp {args[0]}")
    assert state() == before
    assert sorted(os.listdir(tmp_path)) == ["other_tool_runs"]  # no --out dir was made either


# --------------------------------------------------------------------------- two sweeps, one directory


@pytest.mark.slow
def test_two_sweeps_into_one_directory_one_runs_one_is_refused(tmp_path):
    args = [*CONF, "-m", "experiment=slow", "experiment.seconds=1.0", "seed=range(0,8)", "hydra.sweep.dir=sw"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), **ENV)
    env.pop("HYDRA_FULL_ERROR", None)
    first = subprocess.Popen([sys.executable, "-m", "seedexp", *args], cwd=tmp_path, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((tmp_path / "sw").rglob(RECORD)):
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        others = [subprocess.Popen([sys.executable, "-m", "seedexp", *a], cwd=tmp_path, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                  for a in (args, ["report", "sw"], ["report", "sw", "--no-write"])]
        second, racing_report, looking = (subprocess.CompletedProcess(o.args, o.wait(60), *o.communicate())
                                          for o in others)
        assert first.poll() is None, "the first sweep ended before the others were tried: make it slower"
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert_error(second.returncode, second.stderr, 2, f"another seedexp sweep (pid {first.pid}) is writing to")
    assert_error(racing_report.returncode, racing_report.stderr, 2, f"a seedexp sweep (pid {first.pid}) is running",
                 "--no-write", prefix="seedexp report")
    assert looking.returncode == 1 and "Traceback" not in looking.stderr and "8 planned runs" in looking.stdout
    assert first.returncode == 0, err
    records = [read_json(p) for p in (tmp_path / "sw").rglob(RECORD)]
    assert len(records) == 8 and {r["host"]["pid"] for r in records} == {first.pid}  # each run done once, by it
    assert read_json(tmp_path / "sw" / "summary.json")["n_ok"] == 8
    assert (tmp_path / "sw" / "summary.md").read_text().strip() in out  # it printed the summary it wrote


# --------------------------------------------------------------------------- full disk, read-only sweep dir


def _mount(args: list[str], where: Path) -> None:
    proc = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[0]
        pytest.skip(f"cannot mount here ({reason}); needs root with CAP_SYS_ADMIN")


@pytest.fixture
def mounts():
    """Mount points to unmount at the end (lazily: a failing test may still hold a file open)."""
    points: list[Path] = []
    yield points
    for point in reversed(points):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 3-seed sweep to copy onto the mounts."""
    root = tmp_path_factory.mktemp("finished")
    seedexp([*CONF, "-m", "experiment=fills_disk", "seed=range(0,3)", "hydra.sweep.dir=sw"], root, check_rc=0)
    return root / "sw"


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 16, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    return filler


@pytest.mark.slow
def test_full_disk(tmp_path, mounts, finished, capsys):
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], disk)
    mounts.append(disk)
    shutil.copytree(finished, disk / "sw")
    before = snapshot(disk / "sw", (RECORD, "summary.json", "sweep.json"))
    filler = _fill(disk)
    args = [*CONF, "-m", "experiment=fills_disk", "seed=range(0,5)", "hydra.sweep.dir=sw"]

    resume = seedexp(args, disk)  # the disk is full before the sweep writes anything
    assert_error(resume.returncode, resume.stderr, 2, "No space left on device", str(disk / "sw"), "free space")
    report = seedexp(["report", "sw"], disk)
    assert_error(report.returncode, report.stderr, 2, "cannot write the summary in 'sw'", "No space left on device",
                 "--out DIR", prefix="seedexp report")
    single = seedexp([*CONF, "experiment=fills_disk", "hydra.run.dir=one"], disk)
    assert_error(single.returncode, single.stderr, 2, "No space left on device", str(disk / "one"))
    assert snapshot(disk / "sw", (RECORD, "summary.json", "sweep.json")) == before  # nothing lost
    assert not list((disk / "sw").rglob(".*.tmp"))  # no half-written temp file left behind

    filler.unlink()  # the disk fills up in the middle of the sweep: the experiment of seed 3 fills it
    middle = seedexp(args, disk)
    assert middle.returncode != 0
    assert {k: v for k, v in snapshot(disk / "sw", (RECORD,)).items() if "seed=3" not in k and "seed=4" not in k} \
        == {k: v for k, v in before.items() if k.endswith(RECORD)}
    three = disk / "sw" / "experiment=fills_disk,seed=3" / RECORD
    assert not three.exists() or read_json(three)["status"] == "running"  # never half a record
    assert read_json(disk / "sw" / "summary.json")["schema"].startswith("seedexp.summary/")  # old or new, whole
    middle_lines = lines(middle.stderr)

    os.truncate(disk / "filler", 0)  # space again (the file stays: seed 3 does not fill the disk twice)
    done = seedexp(args, disk)
    assert done.returncode == 0, done.stderr
    assert read_json(disk / "sw" / "summary.json")["n_ok"] == 5

    no_traceback(middle)
    assert len(middle_lines) == 1 and "No space left on device" in middle_lines[0], middle.stderr


@pytest.mark.slow
def test_read_only_sweep_dir(tmp_path, mounts, finished):
    source, archived = tmp_path / "source", tmp_path / "archived"
    shutil.copytree(finished, source / "sw")
    archived.mkdir()
    _mount(["--bind", str(source)], archived)
    mounts.append(archived)
    _mount(["-o", "remount,bind,ro"], archived)
    probe = subprocess.run(["touch", str(archived / "probe")], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("the bind mount did not become read-only here")
    sw = archived / "sw"
    before = snapshot(sw, None)

    rerun = seedexp([*CONF, "-m", "experiment=fills_disk", "seed=range(0,3)", f"hydra.sweep.dir={sw}"], tmp_path)
    assert_error(rerun.returncode, rerun.stderr, 2, str(sw), "Read-only file system", "writable hydra.sweep.dir")
    report = seedexp(["report", sw], tmp_path)
    assert_error(report.returncode, report.stderr, 2, "is not writable", "--out DIR", "--no-write",
                 prefix="seedexp report")
    single = seedexp([*CONF, "experiment=fills_disk", f"hydra.run.dir={sw}/one"], tmp_path)
    assert_error(single.returncode, single.stderr, 2, "Read-only file system", f"{sw}/one")

    looked = seedexp(["report", sw, "--no-write"], tmp_path)
    assert looked.returncode == 0 and looked.stderr == "" and "| experiment=fills_disk | 3" in looked.stdout
    elsewhere = seedexp(["report", sw, "--out", tmp_path / "summary_elsewhere"], tmp_path)
    assert elsewhere.returncode == 0 and (tmp_path / "summary_elsewhere" / "summary.md").is_file()
    for args in (["compare", sw], ["plan", sw, "--halfwidth", "0.5"]):
        proc = seedexp(args, tmp_path)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert snapshot(sw, None) == before
