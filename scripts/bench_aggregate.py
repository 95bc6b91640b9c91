"""Aggregation speed: 10,000 records (4 groups, 3 metrics) with bootstrap CIs.

    .venv/bin/python scripts/bench_aggregate.py

Goal (issue 3): at most 2 s to aggregate. Prints the time to aggregate
(read every record + statistics + bootstrap + paired comparisons) and to
write every summary file, median of 3.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedexp.sweepdir import aggregate  # noqa: E402
from seedexp.record import SCHEMA, group_of  # noqa: E402
from seedexp.sweepdir import write_json_atomic  # noqa: E402
from seedexp.summary_files import write_summary  # noqa: E402

N_RECORDS, GROUPS, METRICS = 10_000, ["model=rf", "model=lr", "model=hgb", "model=et"], ["acc", "f1", "auc"]


def make_sweep(root: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(N_RECORDS):
        group, seed = GROUPS[i % 4], i // 4
        overrides = [f"experiment.{group}", f"seed={seed}"]
        record = {"schema": SCHEMA, "status": "ok", "seed": seed, "overrides": overrides,
                  "group": group_of(overrides), "metrics": {m: float(rng.random()) for m in METRICS},
                  "fingerprints": {}, "streams": {"split": seed}}
        write_json_atomic(root / f"{group},seed={seed}" / "result.json", record)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_sweep(root)
        print(f"wrote {N_RECORDS} records in {time.perf_counter() - t0:.1f} s")
        agg, full = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            summary = aggregate(root)
            agg.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            write_summary(root)
            full.append(time.perf_counter() - t0)
        assert summary["n_ok"] == N_RECORDS and len(summary["groups"]) == 4
        a, f = statistics.median(agg), statistics.median(full)
        print(f"aggregate(): {a:.2f} s (goal <= 2 s: {'met' if a <= 2 else 'NOT met'}); "
              f"all summary files incl. plot: {f:.2f} s; "
              f"{len(summary['comparisons'])} paired comparisons, {summary['bootstrap']['n_resamples']} resamples")


if __name__ == "__main__":
    main()
