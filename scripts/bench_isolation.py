"""What supervised runs cost (issue 27 part 2): isolation on and off, measured as ratios in one run.

    .venv/bin/python scripts/bench_isolation.py [--seeds 1000] [--memory-runs 1000]

The experiment is ``scripts/benchlib.py::busy``: fixed pure-Python work calibrated here
to ~3 ms, returning a metric of its seed. Every variant runs in a fresh process that
times itself (after its imports) and reports its CPU time, its own and its workers'
(``getrusage``); per-run overhead = ((T(N) - T(1)) - (bare(N) - bare(1))) / (N - 1), for
wall time and for CPU time, so start-up and the experiment's own time cancel.

* bare loop: the function called for every seed (the floor);
* ``seedexp.sweep(busy, seeds=N)``: ``isolation="none"`` (every run in this process),
  ``"process"`` (one warm worker, forked: the default) and ``"spawn"`` (a fresh
  interpreter as the worker);
* ``seedexp -m experiment=busy 'seed=range(0,N)'`` (basic launcher, fast path) with
  ``isolation=none`` and with the default;
* memory: peak RSS of the sweep's process and of its worker (``getrusage`` self and
  children) for ``seedexp.sweep``, and of the ``seedexp`` command (its process tree,
  ``wait4``), at 100 and at --memory-runs runs of a 0-work experiment.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import CONF, ROOT, SCRIPTS, calibrate, env, met, print_goals

BARE = """
import resource, sys, time
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import busy
from seedexp import SeedPlan
t0 = time.perf_counter()
for seed in range({n}):
    busy(SeedPlan(seed), iterations={it})
wall = time.perf_counter() - t0
print("BENCH", wall, 0.0, 0.0, 0.0)
"""

API = """
import resource, sys, time
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import busy
import seedexp
seedexp.sweep(busy, seeds=2, out={warm!r}, progress=False, isolation="none")  # imports are not a run's cost
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
c0, t0 = cpu(), time.perf_counter()
s = seedexp.sweep(busy, seeds={n}, params={{"iterations": [{it}]}}, out={out!r}, progress=False,
                  isolation={isolation!r})
wall, spent = time.perf_counter() - t0, cpu() - c0
assert s.ok, s
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("BENCH", wall, spent, own, workers)
"""


def python(code: str) -> tuple[float, float, float, float]:
    """(wall, CPU seconds, own peak RSS MB, children's peak RSS MB) a script reports."""
    proc = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed:\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH"))
    wall, cpu, own, workers = (float(x) for x in line.split()[1:])
    return wall, cpu, own, workers


def bare(n: int, it: int) -> tuple[float, float]:
    wall, _, _, _ = python(BARE.format(scripts=str(SCRIPTS), root=str(ROOT), n=n, it=it))
    return wall, wall  # one process, busy all along: its CPU time is its wall time


def api(n: int, it: int, out: Path, isolation: str) -> tuple[float, float, float, float]:
    return python(API.format(scripts=str(SCRIPTS), root=str(ROOT), n=n, it=it, out=str(out),
                             warm=str(out.parent / f"warm_{out.name}"), isolation=isolation))


def command(n: int, it: int, sweep_dir: Path, *extra: str) -> tuple[float, float, float]:
    """(wall, CPU of the process tree, peak RSS MB of the tree) of ``seedexp -m``, whole process."""
    import time

    cmd = [sys.executable, "-m", "seedexp", "--config-dir", str(CONF), "-m", "experiment=busy",
           f"experiment.iterations={it}", f"seed=range(0,{n})", f"hydra.sweep.dir={sweep_dir}", *extra]
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=sweep_dir.parent, env={**env(), "PYTHONHASHSEED": "0"}, stdout=out,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit(f"failed: {' '.join(cmd)}\n{out.read()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def metrics(sweep_dir: Path) -> dict[str, object]:
    return {str(p.parent.relative_to(sweep_dir)): json.loads(p.read_text())["metrics"]
            for p in sweep_dir.rglob("result.json")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--memory-runs", type=int, default=1000)
    args = ap.parse_args()
    n, k = args.seeds, args.memory_runs
    it = calibrate(0.003)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="seedexp-bench-iso-") as tmp:
        work = Path(tmp)
        print(f"calibrated: {it} iterations ~ 3 ms", flush=True)
        (b1, _), (bn, _) = bare(1, it), bare(n, it)
        print(f"bare loop: 1 seed {b1 * 1e3:.1f} ms, {n} seeds {bn:.2f} s", flush=True)

        api_rows = {}
        for mode in ("none", "process", "spawn"):
            w1, c1, _, _ = api(1, it, work / f"api1_{mode}", mode)
            wn, cn, _, _ = api(n, it, work / f"api_{mode}", mode)
            api_rows[mode] = (((wn - w1) - (bn - b1)) / (n - 1) * 1e3, ((cn - c1) - (bn - b1)) / (n - 1) * 1e3, wn)
            print(f"seedexp.sweep isolation={mode}: 1 seed {w1:.3f} s ({c1:.3f} s CPU), {n} seeds {wn:.2f} s "
                  f"({cn:.2f} s CPU)", flush=True)
        equal = metrics(work / "api_none") == metrics(work / "api_process") == metrics(work / "api_spawn")
        for mode, (wall, cpu, total) in api_rows.items():
            rows.append((f"`seedexp.sweep`, isolation={mode}: per-run overhead beyond the bare loop (wall; CPU)",
                         f"{wall:.2f} ms; {cpu:.2f} ms ({n} seeds: {total:.2f} s, bare {bn:.2f} s)",
                         "<= 5 ms" if mode != "none" else "-", met(wall <= 5) if mode != "none" else ""))
        extra = api_rows["process"][0] - api_rows["none"][0]
        rows.append(("... isolation's own cost per run (process minus none, wall)", f"{extra:.2f} ms", "-", ""))
        rows.append(("records of the three equal, metric for metric", str(equal), "True", met(equal)))

        cmd_rows = {}
        for mode, extra_args in (("none", ("isolation=none",)), ("process", ())):
            w1, c1, _ = command(1, it, work / f"cmd1_{mode}", *extra_args)
            wn, cn, _ = command(n, it, work / f"cmd_{mode}", *extra_args)
            cmd_rows[mode] = (((wn - w1) - (bn - b1)) / (n - 1) * 1e3, ((cn - c1) - (bn - b1)) / (n - 1) * 1e3, wn)
            print(f"seedexp -m isolation={mode}: 1 seed {w1:.2f} s ({c1:.2f} s CPU), {n} seeds {wn:.2f} s "
                  f"({cn:.2f} s CPU)", flush=True)
        for mode, (wall, cpu, total) in cmd_rows.items():
            rows.append((f"`seedexp -m` (basic launcher), isolation={mode}: per-run overhead beyond the bare loop "
                         "(wall; CPU)", f"{wall:.2f} ms; {cpu:.2f} ms ({n} seeds: {total:.2f} s)", "<= 5 ms",
                         met(wall <= 5)))
        rows.append(("`seedexp -m`: whole wall with isolation / without",
                     f"{cmd_rows['process'][2] / cmd_rows['none'][2]:.2f}x", "-", ""))

        for mode in ("none", "process"):
            _, _, own1, work1 = api(100, 0, work / f"mem100_{mode}", mode)
            _, _, ownk, workk = api(k, 0, work / f"mem{k}_{mode}", mode)
            print(f"memory, seedexp.sweep isolation={mode}: 100 runs {own1:.1f} MB (children {work1:.1f}), "
                  f"{k} runs {ownk:.1f} MB (children {workk:.1f})", flush=True)
            rows.append((f"`seedexp.sweep` isolation={mode}: the sweep process's peak RSS, 100 -> {k:,} runs",
                         f"{own1:.0f} -> {ownk:.0f} MB (+{ownk - own1:.1f} MB)", "flat (<= +10 MB)",
                         met(ownk - own1 <= 10)))
            if mode == "process":
                rows.append((f"... its worker's peak RSS, 100 -> {k:,} runs", f"{work1:.0f} -> {workk:.0f} MB "
                             f"(+{workk - work1:.1f} MB)", "flat (<= +10 MB)", met(workk - work1 <= 10)))
        for mode, extra_args in (("none", ("isolation=none",)), ("process", ())):
            _, _, rss1 = command(100, 0, work / f"cmem100_{mode}", *extra_args)
            _, _, rssk = command(k, 0, work / f"cmem{k}_{mode}", *extra_args)
            print(f"memory, seedexp -m isolation={mode}: 100 runs {rss1:.1f} MB, {k} runs {rssk:.1f} MB", flush=True)
            rows.append((f"`seedexp -m` isolation={mode}: peak RSS of its processes, 100 -> {k:,} runs",
                         f"{rss1:.0f} -> {rssk:.0f} MB (+{rssk - rss1:.1f} MB)", "flat (<= +10 MB)",
                         met(rssk - rss1 <= 10)))

    print_goals(rows)


if __name__ == "__main__":
    main()
