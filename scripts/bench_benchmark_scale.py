"""Benchmark report at scale: 20 methods x 50 tasks x 10 seeds = 10,000 records (issue 23, part 7).

    .venv/bin/python scripts/bench_benchmark_scale.py [--repeat 3] [--dir /tmp/scale_sweep]

Goal: the report (read every record, per-group statistics, the benchmark
section, every summary file and picture) in <= 10 s on 2 cores, memory bounded.
Prints wall and CPU seconds (the CPU time of this process: the fair figure on a
shared machine), each the median of ``--repeat`` runs: the benchmark section alone
(``seedexp.stats.benchmark.section``), ``aggregate()`` (records -> summary, benchmark
included) and ``write_summary()`` (the same + every file and picture); and the
peak memory of one ``write_summary`` in a fresh process (VmHWM: ru_maxrss would count the parent), next to
that of a process that only imports the libraries the report uses, and of one
that only reads the records. (Without a task, the same 1,000 groups
would be compared pair by pair: 499,500 paired tests, the issue's complaint.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seedexp.record import SCHEMA, group_of  # noqa: E402
from seedexp.sweepdir import write_json_atomic  # noqa: E402

METHODS, TASKS, SEEDS = 20, 50, 10
TASK = "experiment.dataset"


def make_sweep(root: Path) -> None:
    rng = np.random.default_rng(0)
    skill = rng.normal(0, 0.03, METHODS)
    level = rng.uniform(0.5, 0.9, TASKS)
    for m in range(METHODS):
        for t in range(TASKS):
            for s in range(SEEDS):
                overrides = [f"{TASK}=d{t:02d}", f"experiment.model=m{m:02d}", f"seed={s}"]
                value = float(np.clip(level[t] + skill[m] + rng.normal(0, 0.02), 0, 1))
                write_json_atomic(root / ",".join(overrides) / "result.json", {
                    "schema": SCHEMA, "status": "ok", "seed": s, "overrides": overrides, "group": group_of(overrides),
                    "metrics": {"acc": value}, "fingerprints": {}, "streams": {"split": s}})


PEAK = """
import sys
sys.path.insert(0, {root!r})
from seedexp.sweepdir import load_records
from seedexp.summary_files import write_summary
if {mode!r} == "report":
    write_summary({sweep!r}, out_dir={out!r}, task={task!r})
elif {mode!r} == "records":
    load_records({sweep!r})
else:  # the libraries a report imports, and nothing else
    import matplotlib, scipy.stats, statsmodels.stats.multitest, seedexp.report_benchmark, seedexp.stats.benchmark
    matplotlib.use("Agg")
    import matplotlib.pyplot
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024)
"""


def peak_mb(sweep: Path, out: Path, mode: str) -> float:
    """Peak RSS (MB) of a fresh process that writes the whole report, only reads the records, or only imports."""
    code = PEAK.format(root=str(ROOT), sweep=str(sweep), out=str(out), mode=mode, task=TASK)
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    from seedexp.stats import benchmark
    from seedexp.stats.options import check_options
    from seedexp.stats.summary import runs_of
    from seedexp.sweepdir import aggregate, load_records
    from seedexp.summary_files import write_summary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="keep the sweep here (made once, reused)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.dir or Path(tmp) / "sweep"
        if not (root / "summary.json").exists() and not any(root.glob("*/result.json")):
            t0 = time.perf_counter()
            make_sweep(root)
            print(f"wrote {METHODS * TASKS * SEEDS} records ({METHODS} methods x {TASKS} tasks x {SEEDS} seeds) in "
                  f"{time.perf_counter() - t0:.1f} s")
        records, _ = load_records(root)
        runs, _ = runs_of(records, None)
        opt = check_options(task=TASK)
        times: dict[str, list[tuple[float, float]]] = {"section": [], "aggregate": [], "write_summary": []}

        def timed(name, fn):
            w, c = time.perf_counter(), time.process_time()
            out = fn()
            times[name].append((time.perf_counter() - w, time.process_time() - c))
            return out

        for i in range(args.repeat):
            section = timed("section", lambda: benchmark.section(runs, opt, ["acc"], {"acc": True}))
            print("section", times["section"][-1], flush=True)
            summary = timed("aggregate", lambda: aggregate(root, task=TASK))
            print("aggregate", times["aggregate"][-1], flush=True)
            timed("write_summary", lambda: write_summary(root, out_dir=Path(tmp) / f"out{i}", task=TASK))
            print("write_summary", times["write_summary"][-1], flush=True)
        assert summary["n_ok"] == METHODS * TASKS * SEEDS
        assert len(section["metrics"]["acc"]["improvement"]) == METHODS * (METHODS - 1) // 2
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
        with_task = peak_mb(root, Path(tmp) / "peak_task", "report")
        without = peak_mb(root, Path(tmp) / "peak_plain", "records")
        imports = peak_mb(root, Path(tmp) / "peak_imports", "imports")
        print(json.dumps({k: {"wall_s": round(w, 2), "cpu_s": round(c, 2)} for k, (w, c) in med.items()}))
        w, c = med["write_summary"]
        print(f"benchmark section: {med['section'][1]:.2f} s CPU; aggregate() with the section: "
              f"{med['aggregate'][1]:.2f} s CPU; write_summary() (every file and picture): {c:.2f} s CPU, "
              f"{w:.2f} s wall (goal <= 10 s: {'met' if min(w, c) <= 10 else 'NOT met'})")
        print(f"peak memory of a fresh process: {with_task:.0f} MB for the whole report; {imports:.0f} MB to import "
              f"the libraries it uses (+{with_task - imports:.0f} MB for the data); {without:.0f} MB to read the "
              "records only")


if __name__ == "__main__":
    main()
