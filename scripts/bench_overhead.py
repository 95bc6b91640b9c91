"""What seedexp costs per run: against a bare loop and a raw Hydra app (issue 8).

    .venv/bin/python scripts/bench_overhead.py [--seeds 50]

Measured in one run, as ratios, for a short scikit-learn experiment
(scripts/benchlib.py::short, ~20-50 ms) and a 1-second CPU-bound one:

* bare loop  - one Python process calling the function for every seed (the floor)
* raw Hydra  - scripts/raw_hydra_app.py -m 'seed=range(0,N)' (what a user writes by hand)
* seedexp    - seedexp -m ... 'seed=range(0,N)', records and summary included

Per-job overhead = (wall(N) - wall(1)) / (N - 1) minus the bare loop's, so
start-up is not counted twice. Also: start-up to the first job of a
scikit-learn experiment vs ``python -c "import hydra, sklearn"``, and the
cost of deriving and injecting seeds for one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, SCRIPTS, calibrate, seedexp_cmd, timed

BARE = """
import sys, time
sys.path[:0] = [{scripts!r}, {root!r}]
from benchlib import {fn}
from seedexp import SeedPlan
for seed in range({n}):
    {fn}(SeedPlan(seed){extra})
"""


def bare(fn: str, n: int, cwd: Path, iterations: int | None) -> float:
    extra = f", iterations={iterations}" if iterations is not None else ""
    code = BARE.format(scripts=str(SCRIPTS), root=str(ROOT), fn=fn, n=n, extra=extra)
    return timed([sys.executable, "-c", code], cwd)


def raw(exp: str, n: int, cwd: Path, params: list[str]) -> float:
    return timed([sys.executable, str(SCRIPTS / "raw_hydra_app.py"), "-m", f"experiment={exp}", *params,
                  f"seed=range(0,{n})", f"hydra.sweep.dir={cwd}/raw-{exp}-{n}-{time.time_ns()}"], cwd)


def seedexp(exp: str, n: int, cwd: Path, params: list[str]) -> float:
    return timed(seedexp_cmd("-m", f"experiment={exp}", *params, f"seed=range(0,{n})",
                             f"hydra.sweep.dir={cwd}/sx-{exp}-{n}-{time.time_ns()}"), cwd)


def startup(cwd: Path) -> tuple[float, float]:
    """(seconds from launch to the first job's start, seconds for `import hydra, sklearn`)."""
    import json

    firsts = []
    for i in range(3):
        t0 = time.time()
        timed(seedexp_cmd("experiment=stamp", f"hydra.run.dir={cwd}/stamp{i}"), cwd,
              {"PYTHONHASHSEED": ""})  # as a user starts it: seedexp re-execs under PYTHONHASHSEED=0
        firsts.append(json.loads((cwd / f"stamp{i}" / "result.json").read_text())["metrics"]["t"] - t0)
    imports = [timed([sys.executable, "-c", "import hydra, sklearn"], cwd) for _ in range(3)]
    return statistics.median(firsts), statistics.median(imports)


def injection_cost(repeats: int = 300) -> float:
    """Milliseconds to derive a plan, reset the globals and inject a nested sklearn model."""
    sys.path[:0] = [str(ROOT)]
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from sklearn.ensemble import RandomForestClassifier, StackingClassifier
    from sklearn.linear_model import LogisticRegression

    from seedexp import SeedPlan
    from seedexp.frameworks import seed_all
    from seedexp.sklearn import inject_random_state, kfold

    times = []
    for seed in range(repeats):
        model = Pipeline([("smote", SMOTE()), ("stack", StackingClassifier(
            [("rf", RandomForestClassifier()), ("lr", LogisticRegression())], final_estimator=RandomForestClassifier()))])
        t0 = time.perf_counter()
        plan = SeedPlan(seed)
        seed_all(plan, {"strict": False})
        inject_random_state(model, plan)
        kfold(plan)
        plan.seed("split")
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=50)
    n = parser.parse_args().seeds
    iterations = calibrate(1.0)
    cwd = Path(tempfile.mkdtemp(prefix="sxo"))
    cases = {"short (sklearn, ~30 ms)": ("short", [], None), "1-second CPU-bound": ("busy", [f"experiment.iterations={iterations}"], iterations)}
    print(f"{n} seeds per case; bare loop / raw Hydra app / seedexp, all in fresh processes\n")
    rows = []
    for label, (exp, params, its) in cases.items():
        b1, bn = bare(exp, 1, cwd, its), bare(exp, n, cwd, its)
        r1, rn = raw(exp, 1, cwd, params), raw(exp, n, cwd, params)
        s1, sn = seedexp(exp, 1, cwd, params), seedexp(exp, n, cwd, params)
        per = {name: ((x_n - x_1) / (n - 1)) for name, x_1, x_n in (("bare", b1, bn), ("raw", r1, rn), ("sx", s1, sn))}
        raw_over, sx_over = per["raw"] - per["bare"], per["sx"] - per["bare"]
        rows.append((label, bn, rn, sn, raw_over, sx_over))
        print(f"{label}: bare {bn:.2f} s, raw Hydra {rn:.2f} s, seedexp {sn:.2f} s; per-job overhead "
              f"raw {raw_over * 1000:.1f} ms, seedexp {sx_over * 1000:.1f} ms", flush=True)
    first, imports = startup(cwd)
    inject = injection_cost()
    print(f"\n| experiment | bare loop | raw Hydra | seedexp | seedexp / bare | per-job overhead: raw Hydra | "
          f"seedexp | seedexp / raw |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, bn, rn, sn, ro, so in rows:
        ratio = f"{so / ro:.2f}" if ro > 0 else "–"
        print(f"| {label}, {n} seeds | {bn:.2f} s | {rn:.2f} s | {sn:.2f} s | {sn / bn:.3f} | {ro * 1000:.1f} ms | "
              f"{so * 1000:.1f} ms | {ratio} |")
    print(f"\nstart-up to the first job (sklearn experiment): {first:.2f} s; `python -c \"import hydra, sklearn\"`: "
          f"{imports:.2f} s; difference {first - imports:+.2f} s (goal <= +0.5 s)")
    print(f"seed derivation + global reset + injection into a nested pipeline, one run: {inject:.2f} ms (goal < 5 ms)")


if __name__ == "__main__":
    main()
