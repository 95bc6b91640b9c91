"""Sweep throughput per launcher: 20 one-second CPU-bound jobs.

    .venv/bin/python scripts/bench_launchers.py [--jobs 20] [--launchers basic,joblib,ray,submitit_local]

For each launcher: the wall time of 20 jobs of 1 s of fixed CPU work, the
start-up cost (the same sweep with 20 empty jobs: interpreter, Hydra,
launcher start, summary), and the throughput relative to the serial
(basic) launcher. Two workers everywhere (the machine has 2 cores).
Goal (issue 3): joblib(2) >= 1.8x the serial throughput.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchlib import calibrate, seedexp_cmd, timed

LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "ray": ["hydra/launcher=ray_local", "hydra.launcher.ray.init.num_cpus=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.sweeper.max_batch_size=2"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--launchers", default=",".join(LAUNCHERS))
    ns = parser.parse_args()
    iterations = calibrate(1.0)
    print(f"{ns.jobs} jobs of {iterations} iterations (~1 s of CPU each on an idle core)")
    tmp = Path(tempfile.mkdtemp(prefix="sxb", dir="/tmp"))  # short: Ray's socket paths
    rows = {}
    try:
        for name in ns.launchers.split(","):
            extra = {"RAY_TMPDIR": str(tmp / "ray")} if name == "ray" else {}
            (tmp / "ray").mkdir(exist_ok=True)
            base = ["-m", "experiment=busy", f"seed=range(0,{ns.jobs})", *LAUNCHERS[name]]
            startup = timed(seedexp_cmd(*base, "experiment.iterations=0", f"hydra.sweep.dir={tmp}/{name}-empty"),
                            tmp, extra)
            wall = timed(seedexp_cmd(*base, f"experiment.iterations={iterations}", f"hydra.sweep.dir={tmp}/{name}"),
                         tmp, extra)
            rows[name] = (wall, startup)
            print(f"  {name}: {wall:.1f} s (empty jobs: {startup:.1f} s)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    serial = rows.get("basic")
    print(f"\n| launcher | wall, {ns.jobs} x 1 s | same sweep, empty jobs (start-up + per-job cost) "
          "| throughput vs serial | excluding the empty-job cost |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, startup) in rows.items():
        ratio = f"{serial[0] / wall:.2f}x" if serial else "–"
        steady = f"{(serial[0] - serial[1]) / (wall - startup):.2f}x" if serial else "–"
        print(f"| {name} | {wall:.1f} s | {startup:.1f} s | {ratio} | {steady} |")


if __name__ == "__main__":
    main()
