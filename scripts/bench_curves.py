"""Curves at scale and in coverage (issue 25): BENCHMARKS.md's "Learning curves" figures.

1. **Scale.** Writes a synthetic sweep of RUNS runs (2 configurations) whose
   records each index a ``series.npz`` of METRICS series of STEPS steps, then
   times ``seedexp report`` on it in a fresh process (summary.json/md/csv/png,
   curves.csv and one figure per metric) and reads that process's peak memory
   (``ru_maxrss``). The same records without series are reported too, so the
   cost of the curves is a ratio measured in the same run.
2. **Coverage.** Seeded Monte Carlo of the pointwise and simultaneous bands on
   smooth Gaussian-process curves (a mean curve plus a squared-exponential
   process of length ``scale``; rougher curves too), at n = 5, 10, 30.

    .venv/bin/python scripts/bench_curves.py                 # 1,000 runs x 10,000 steps x 4 metrics
    .venv/bin/python scripts/bench_curves.py --runs 100 --steps 1000 --reps 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seedexp.record import SCHEMA  # noqa: E402
from seedexp.sweepdir import write_record  # noqa: E402
from seedexp.series import write_series  # noqa: E402

METRIC_NAMES = ("loss", "val_loss", "acc", "val_acc")


def make_sweep(root: Path, runs: int, steps: int, metrics: int, with_series: bool) -> float:
    """RUNS run dirs (two groups, seeds 0..RUNS/2-1); returns the seconds it took to write them."""
    t0 = time.perf_counter()
    grid = np.arange(steps, dtype=np.int64)
    t = np.linspace(0.0, 1.0, steps)
    for i in range(runs):
        group, seed = ("lr=0.1", "lr=0.3")[i % 2], i // 2
        rng = np.random.Generator(np.random.PCG64([seed, i % 2]))
        run_dir = root / f"{group},seed={seed}"
        record = {"schema": SCHEMA, "status": "ok", "experiment": "bench.curves", "seed": seed, "group": group,
                  "overrides": [group, f"seed={seed}"], "metrics": {"final": float(rng.normal())},
                  "streams": {}, "pins": {}, "config_hash": "x"}
        if with_series:
            rate = 3.0 if i % 2 else 2.0
            level = 0.05 * rng.normal()
            data = {}
            for k in range(metrics):
                walk = np.cumsum(rng.normal(0, 0.002, steps))
                data[METRIC_NAMES[k % 4] + ("" if k < 4 else str(k))] = (grid, 0.9 - 0.5 * np.exp(-rate * t) + level
                                                                         + walk)
            record["series"] = write_series(run_dir, data, durable=False)
        write_record(run_dir, record, durable=False)
    return time.perf_counter() - t0


def report(sweep: Path) -> tuple[float, float]:
    """Seconds and peak MiB of ``seedexp report SWEEP --out`` in a fresh interpreter."""
    code = ("import resource, sys, time\n"
            "t0 = time.perf_counter()\n"
            "from seedexp.summary_files import write_summary\n"
            f"write_summary({str(sweep)!r}, out_dir={str(sweep / 'report')!r})\n"
            "print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    seconds, mib = proc.stdout.split()
    return float(seconds), float(mib)


def coverage(reps: int, ns: tuple[int, ...], scales: tuple[float, ...], steps: int = 100) -> list[dict]:
    from seedexp.stats.curves import pointwise_band, simultaneous_band

    rows = []
    t = np.linspace(0.0, 1.0, steps)
    mean = 0.9 - 0.5 * np.exp(-4 * t)
    for scale in scales:
        kernel = np.exp(-0.5 * (t[:, None] - t[None, :]) ** 2 / scale ** 2) + 1e-9 * np.eye(steps)
        chol = np.linalg.cholesky(kernel)
        for n in ns:
            rng = np.random.Generator(np.random.PCG64([n, int(scale * 1000)]))
            point = whole = point_whole = bonferroni = 0
            for _ in range(reps):
                Y = mean + (rng.standard_normal((n, steps)) @ chol.T) * (0.02 + 0.05 * t)
                p, b = pointwise_band(Y), simultaneous_band(Y)
                k = rng.integers(steps)
                point += p["ci_low"][k] <= mean[k] <= p["ci_high"][k]
                whole += bool(np.all((b["band_low"] <= mean) & (mean <= b["band_high"])))
                point_whole += bool(np.all((p["ci_low"] <= mean) & (mean <= p["ci_high"])))
                bonferroni += b["method"] == "bonferroni"
            rows.append({"scale": scale, "n": n, "pointwise": point / reps, "simultaneous": whole / reps,
                         "pointwise_whole_curve": point_whole / reps, "bonferroni_share": bonferroni / reps})
            print(json.dumps(rows[-1]), flush=True)
    return rows


class _Skip(Exception):
    """--runs 0: the coverage part only."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs of the scale part (0: skip it)")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=4)
    parser.add_argument("--reps", type=int, default=2000, help="Monte Carlo repetitions per cell (0: skip)")
    parser.add_argument("--keep", type=Path, default=None, help="write the sweeps here and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="seedexp_bench_curves_"))
    try:
        if not args.runs:
            raise _Skip
        plain, curved = base / "plain", base / "curves"
        make_sweep(plain, args.runs, args.steps, args.metrics, with_series=False)
        written = make_sweep(curved, args.runs, args.steps, args.metrics, with_series=True)
        size = sum(p.stat().st_size for p in curved.rglob("series.npz")) / 2 ** 20
        t_plain, m_plain = report(plain)
        t_curves, m_curves = report(curved)
        print(json.dumps({"runs": args.runs, "steps": args.steps, "metrics": args.metrics,
                          "series_mib_on_disk": round(size, 1), "write_s": round(written, 1),
                          "report_s_without_series": round(t_plain, 2), "report_s_with_series": round(t_curves, 2),
                          "peak_mib_without_series": round(m_plain), "peak_mib_with_series": round(m_curves),
                          "time_ratio": round(t_curves / t_plain, 2), "memory_ratio": round(m_curves / m_plain, 2),
                          "values_mib_in_all": round(args.runs * args.steps * args.metrics * 8 / 2 ** 20)}),
              flush=True)
    except _Skip:
        pass
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    if args.reps:
        coverage(args.reps, (5, 10, 30), (0.2, 0.1, 0.05, 0.02))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
