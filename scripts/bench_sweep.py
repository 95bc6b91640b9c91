"""What a sweep costs per run, beyond the experiment (issue 16), measured as ratios in one run.

    .venv/bin/python scripts/bench_sweep.py [--seeds 1000] [--memory-runs 10000] [--report-records 100000]

Every variant runs in a fresh process; walls are whole-process walls (start-up
included) unless a line says otherwise. The experiment is
``scripts/benchlib.py::busy``: fixed pure-Python work calibrated here to ~3 ms
(or ~100 ms), returning a metric of its seed.

* bare loop    - one process calling the function for every seed (the floor)
* seedexp      - ``seedexp -m experiment=busy ... 'seed=range(0,N)'`` (basic launcher, fast path)
* full path    - the same with ``hydra.sweeper.fast=false`` (Hydra composes every job)
* resume       - the seedexp command again on its finished sweep dir
* joblib x2    - ``hydra/launcher=joblib hydra.launcher.n_jobs=2``; throughput is runs per
                 second between the first run's start and the last run's end (from the records)
* memory       - peak RSS of the seedexp process (``wait4``) at 100 and at --memory-runs runs
* report       - ``seedexp report`` on --report-records records written here
* API          - ``seedexp.sweep(busy, seeds=N)`` in one process, no Hydra

Per-run overhead = ((seedexp(N) - seedexp(1)) - (bare(N) - bare(1))) / (N - 1): start-up is
not counted, and the experiment's own time cancels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from benchlib import CONF, ROOT, SCRIPTS, calibrate, env, met, print_goals

BARE = """
import sys
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import busy
from seedexp import SeedPlan
for seed in range({n}):
    busy(SeedPlan(seed), iterations={it})
"""

API = """
import sys
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import busy
import seedexp
s = seedexp.sweep(busy, seeds={n}, params={{"iterations": [{it}]}}, out={out!r}, progress=False)
assert s.ok, s
"""


def measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a command run to its end; raises with its output if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out.read()[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def bare(n: int, it: int, cwd: Path) -> float:
    return measured([sys.executable, "-c", BARE.format(scripts=str(SCRIPTS), root=str(ROOT), n=n, it=it)], cwd)[0]


def seedexp(n: int, it: int, sweep_dir: Path, *extra: str) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "seedexp", "--config-dir", str(CONF), "-m", "experiment=busy",
           f"experiment.iterations={it}", f"seed=range(0,{n})", f"hydra.sweep.dir={sweep_dir}", *extra]
    return measured(cmd, sweep_dir.parent)


def span_throughput(sweep_dir: Path) -> float:
    """Runs per second from the first run's start to the last run's end (the launch phase only)."""
    starts, ends = [], []
    for path in sweep_dir.rglob("result.json"):
        rec = json.loads(path.read_text())
        t = datetime.fromisoformat(rec["started_at"]).timestamp()
        starts.append(t)
        ends.append(t + rec["duration_s"])
    return len(starts) / (max(ends) - min(starts))


def metrics_by_dir(sweep_dir: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(sweep_dir)): json.loads(p.read_text())["metrics"]
            for p in sweep_dir.rglob("result.json")}


def write_records(root: Path, n: int) -> None:
    """n records of 10 groups, as the run core writes them (one real record as the model)."""
    sys.path[:0] = [str(ROOT)]
    from seedexp.sweepdir import write_text_atomic

    model = next((root.parent / "model").rglob("result.json"))
    base = json.loads(model.read_text())
    for i in range(n):
        group, seed = i % 10, i // 10
        overrides = [f"experiment.iterations={group}", f"seed={seed}"]
        rec = dict(base, seed=seed, overrides=overrides, group=overrides[0],
                   metrics={"score": float((seed * 7919 + group * 104729) % 1000) / 1000.0})
        write_text_atomic(root / f"g{group}" / f"s{seed}" / "result.json", json.dumps(rec, indent=2) + "\n",
                          durable=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--memory-runs", type=int, default=10_000)
    ap.add_argument("--report-records", type=int, default=100_000)
    args = ap.parse_args()
    n = args.seeds
    it3, it100 = calibrate(0.003), calibrate(0.1)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="seedexp-bench-") as tmp:
        work = Path(tmp)
        print(f"calibrated: {it3} iterations ~ 3 ms, {it100} ~ 100 ms", flush=True)

        # -- per-run overhead, total wall, resume
        b1, bn = bare(1, it3, work), bare(n, it3, work)
        s1, _ = seedexp(1, it3, work / "s1")
        sn, _ = seedexp(n, it3, work / "sn")
        resume, _ = seedexp(n, it3, work / "sn")
        m = 100
        f1, _ = seedexp(1, it3, work / "f1", "hydra.sweeper.fast=false")
        fm, _ = seedexp(m, it3, work / "fm", "hydra.sweeper.fast=false")
        per_run = ((sn - s1) - (bn - b1)) / (n - 1) * 1e3
        per_run_full = ((fm - f1) - (bare(m, it3, work) - b1)) / (m - 1) * 1e3
        print(f"bare: 1 seed {b1:.2f} s, {n} seeds {bn:.2f} s; seedexp: 1 seed {s1:.2f} s, {n} seeds {sn:.2f} s; "
              f"resume of {n} {resume:.2f} s; full path: 1 seed {f1:.2f} s, {m} seeds {fm:.2f} s", flush=True)
        rows.append(("per-run overhead beyond the bare loop, default launcher", f"{per_run:.2f} ms "
                     f"(full composition: {per_run_full:.1f} ms)", "<= 5 ms", met(per_run <= 5)))
        rows.append((f"{n} seeds x ~3 ms: seedexp wall / bare-loop wall", f"{sn / bn:.2f}x ({sn:.2f} s / {bn:.2f} s)",
                     "<= 3x", met(sn / bn <= 3)))
        rows.append((f"resume of the finished {n}-run sweep (whole command)", f"{resume:.2f} s", "<= 3 s",
                     met(resume <= 3)))

        # -- two local workers
        k = 120
        serial100, _ = seedexp(k, it100, work / "p100s")
        par100, _ = seedexp(k, it100, work / "p100j", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
        par3, _ = seedexp(n, it3, work / "p3j", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
        for label, s_dir, p_dir, s_wall, p_wall, goal in (
                (f"{k} x 100 ms", "p100s", "p100j", serial100, par100, 1.9), (f"{n} x 3 ms", "sn", "p3j", sn, par3, 1.5)):
            ratio = span_throughput(work / p_dir) / span_throughput(work / s_dir)
            equal = metrics_by_dir(work / p_dir) == metrics_by_dir(work / s_dir)
            rows.append((f"joblib x2 throughput / serial, {label} (whole walls: {s_wall:.2f} s / {p_wall:.2f} s)",
                         f"{ratio:.2f}x; records equal: {equal}", f">= {goal}x, equal",
                         met(ratio >= goal and equal)))

        # -- memory
        _, rss100 = seedexp(100, 0, work / "mem100")
        _, rss_big = seedexp(args.memory_runs, 0, work / "membig")
        rows.append((f"peak RSS, 100 -> {args.memory_runs:,} runs", f"{rss100:.0f} -> {rss_big:.0f} MB "
                     f"(+{rss_big - rss100:.1f} MB)", "<= +10 MB", met(rss_big - rss100 <= 10)))

        # -- report on many records
        (work / "model").mkdir()
        seedexp(1, 0, work / "model" / "sweep")
        report_rows = []
        for count in (args.report_records // 10, args.report_records):
            root = work / f"records{count}"
            t0 = time.perf_counter()
            write_records(root, count)
            written = time.perf_counter() - t0
            wall, rss = measured([sys.executable, "-m", "seedexp", "report", str(root)], work)
            report_rows.append((count, wall, rss))
            print(f"report: {count:,} records (written in {written:.1f} s): {wall:.2f} s, peak {rss:.0f} MB",
                  flush=True)
        (c1, w1, r1), (c2, w2, r2) = report_rows
        rows.append((f"`seedexp report` on {c2:,} records", f"{w2:.1f} s, peak {r2:.0f} MB ({c1:,} records: "
                     f"{w1:.1f} s, {r1:.0f} MB)", "<= 20 s, bounded memory", met(w2 <= 20)))

        # -- the Python API
        api, _ = measured([sys.executable, "-c", API.format(scripts=str(SCRIPTS), root=str(ROOT), n=n, it=it3,
                                                             out=str(work / "api"))], work)
        api1, _ = measured([sys.executable, "-c", API.format(scripts=str(SCRIPTS), root=str(ROOT), n=1, it=it3,
                                                              out=str(work / "api1"))], work)
        api_per_run = ((api - api1) - (bn - b1)) / (n - 1) * 1e3
        rows.append(("per-run overhead of `seedexp.sweep` (no Hydra) beyond the bare loop", f"{api_per_run:.2f} ms "
                     f"({n} seeds: {api:.2f} s)", "<= 5 ms", met(api_per_run <= 5)))

    print_goals(rows)


if __name__ == "__main__":
    main()
