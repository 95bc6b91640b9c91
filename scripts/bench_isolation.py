"""What supervised runs cost (issue 27 part 2): isolation on and off, measured as ratios in one run.

    .venv/bin/python scripts/bench_isolation.py [--seeds 1000] [--memory-runs 5000] [--no-hydra]

The experiment is ``scripts/benchlib.py::busy``: fixed pure-Python work calibrated here
to ~3 ms, returning a metric of its seed.

* Python API, in this process: a bare loop over the seeds (the floor), then
  ``seedexp.sweep(busy, seeds=N)`` with ``isolation="none"`` (every run in this process),
  ``"process"`` (a warm worker, forked: the default here) and ``"spawn"`` (a fresh
  interpreter as the worker). Per-run overhead = ((sweep(N) - sweep(1)) - (bare(N) -
  bare(1))) / (N - 1): start-up and the experiment's own time cancel.
* The ``seedexp`` command (basic launcher, fast path), each variant a fresh process:
  ``isolation=none`` and the default, N seeds and 1 seed, the same formula.
* Memory: peak RSS of the sweep's process and of its workers (``getrusage``: self and
  children) for ``seedexp.sweep`` at 100 and at --memory-runs runs of a 0-work experiment,
  each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import CONF, ROOT, SCRIPTS, busy, calibrate, env

MEMORY = """
import resource, sys
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import busy
import seedexp
s = seedexp.sweep(busy, seeds={n}, out={out!r}, progress=False, isolation={isolation!r})
assert s.ok, s
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{{own:.1f}} {{workers:.1f}}")
"""


def bare(n: int, it: int) -> float:
    from seedexp import SeedPlan

    t0 = time.perf_counter()
    for seed in range(n):
        busy(SeedPlan(seed), iterations=it)
    return time.perf_counter() - t0


def api(n: int, it: int, out: Path, isolation: str) -> float:
    import seedexp

    t0 = time.perf_counter()
    s = seedexp.sweep(busy, seeds=n, params={"iterations": [it]}, out=out, progress=False, isolation=isolation)
    dt = time.perf_counter() - t0
    assert s.ok, s
    return dt


def command(n: int, it: int, sweep_dir: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "seedexp", "--config-dir", str(CONF), "-m", "experiment=busy",
           f"experiment.iterations={it}", f"seed=range(0,{n})", f"hydra.sweep.dir={sweep_dir}", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=sweep_dir.parent, env=env(), capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return dt


def memory(n: int, out: Path, isolation: str) -> tuple[float, float]:
    code = MEMORY.format(scripts=str(SCRIPTS), root=str(ROOT), n=n, out=str(out), isolation=isolation)
    proc = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"memory run failed:\n{proc.stderr[-3000:]}")
    own, workers = proc.stdout.split()[-2:]
    return float(own), float(workers)


def metrics(sweep_dir: Path) -> dict[str, object]:
    return {str(p.parent.relative_to(sweep_dir)): json.loads(p.read_text())["metrics"]
            for p in sweep_dir.rglob("result.json")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--memory-runs", type=int, default=5000)
    ap.add_argument("--no-hydra", action="store_true", help="skip the seedexp command's figures")
    args = ap.parse_args()
    n = args.seeds
    it = calibrate(0.003)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="seedexp-bench-iso-") as tmp:
        work = Path(tmp)
        print(f"calibrated: {it} iterations ~ 3 ms", flush=True)
        b1, bn = bare(1, it), bare(n, it)
        api(2, it, work / "warm_up", "none")  # imports (the summary's matplotlib...) are not a run's cost
        walls = {}
        for mode in ("none", "process", "spawn"):
            w1 = api(1, it, work / f"api1_{mode}", mode)
            wn = api(n, it, work / f"api_{mode}", mode)
            walls[mode] = (w1, wn)
            print(f"seedexp.sweep isolation={mode}: 1 seed {w1:.2f} s, {n} seeds {wn:.2f} s", flush=True)
        print(f"bare loop: 1 seed {b1 * 1e3:.1f} ms, {n} seeds {bn:.2f} s", flush=True)
        per = {m: ((wn - w1) - (bn - b1)) / (n - 1) * 1e3 for m, (w1, wn) in walls.items()}
        equal = metrics(work / "api_none") == metrics(work / "api_process") == metrics(work / "api_spawn")
        for mode in ("none", "process", "spawn"):
            rows.append((f"`seedexp.sweep`, isolation={mode}: per-run overhead beyond the bare loop",
                         f"{per[mode]:.2f} ms ({n} seeds: {walls[mode][1]:.2f} s, bare {bn:.2f} s)",
                         "<= 5 ms" if mode != "none" else "-", _met(per[mode] <= 5) if mode != "none" else ""))
        rows.append(("records of the three equal, metric for metric", str(equal), "True", _met(equal)))

        if not args.no_hydra:
            c = {}
            for label, extra in (("none", ("isolation=none",)), ("process", ())):
                c1 = command(1, it, work / f"cmd1_{label}", *extra)
                cn = command(n, it, work / f"cmd_{label}", *extra)
                c[label] = (c1, cn)
                print(f"seedexp -m isolation={label}: 1 seed {c1:.2f} s, {n} seeds {cn:.2f} s", flush=True)
            cper = {m: ((cn - c1) - (bn - b1)) / (n - 1) * 1e3 for m, (c1, cn) in c.items()}
            for mode in ("none", "process"):
                rows.append((f"`seedexp -m` (basic launcher), isolation={mode}: per-run overhead beyond the bare loop",
                             f"{cper[mode]:.2f} ms ({n} seeds: {c[mode][1]:.2f} s)",
                             "<= 5 ms", _met(cper[mode] <= 5)))
            rows.append(("`seedexp -m`: wall with isolation / without", f"{c['process'][1] / c['none'][1]:.2f}x", "-",
                         ""))

        k = args.memory_runs
        for mode in ("none", "process"):
            small, large = memory(100, work / f"mem100_{mode}", mode), memory(k, work / f"mem{k}_{mode}", mode)
            print(f"memory isolation={mode}: 100 runs {small}, {k} runs {large} (sweep process, workers; MB)",
                  flush=True)
            grow = large[0] - small[0]
            rows.append((f"`seedexp.sweep` isolation={mode}: peak RSS, 100 -> {k:,} runs (sweep process)",
                         f"{small[0]:.0f} -> {large[0]:.0f} MB (+{grow:.1f} MB)", "flat (<= +10 MB)", _met(grow <= 10)))
            if mode == "process":
                wgrow = large[1] - small[1]
                rows.append((f"... its worker's peak RSS, 100 -> {k:,} runs", f"{small[1]:.0f} -> {large[1]:.0f} MB "
                             f"(+{wgrow:.1f} MB)", "flat (<= +10 MB)", _met(wgrow <= 10)))

    print("\n| goal | measured | target | |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


if __name__ == "__main__":
    sys.path[:0] = [str(SCRIPTS), str(ROOT)]
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
