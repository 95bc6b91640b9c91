"""What seedexp costs per run: against a bare loop and a raw Hydra app (issue 8).

    .venv/bin/python scripts/bench_overhead.py [--seeds 50]

Measured in one run, as ratios, for a short scikit-learn experiment
(scripts/benchlib.py::short, ~20-50 ms) and a 1-second CPU-bound one:

* bare loop  - one Python process calling the function for every seed (the floor)
* raw Hydra  - scripts/raw_hydra_app.py -m 'seed=range(0,N)' (what a user writes by hand)
* seedexp    - seedexp -m ... 'seed=range(0,N)', records and summary included

Each variant also measures the time spent inside the experiment function
(the bare loop per call, the raw app in durations.txt, seedexp in each
record's duration_s), and overhead = wall - that time: a pure-Python loop's
speed drifts by +-5% between processes on a VM, which would otherwise
swamp a 5% goal. Per-job overhead = (overhead(N) - overhead(1)) / (N - 1),
so start-up is not counted twice. Also: start-up to the first job of a
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
inside = 0.0
for seed in range({n}):
    t0 = time.perf_counter()
    {fn}(SeedPlan(seed){extra})
    inside += time.perf_counter() - t0
open("durations.txt", "w").write(str(inside))
"""


def _fresh(cwd: Path, name: str) -> Path:
    d = cwd / f"{name}-{time.time_ns()}"
    d.mkdir()
    return d


def bare(fn: str, n: int, cwd: Path, iterations: int | None) -> tuple[float, float]:
    """(wall, seconds inside the experiment function)."""
    extra = f", iterations={iterations}" if iterations is not None else ""
    code = BARE.format(scripts=str(SCRIPTS), root=str(ROOT), fn=fn, n=n, extra=extra)
    d = _fresh(cwd, "bare")
    wall = timed([sys.executable, "-c", code], d)
    return wall, float((d / "durations.txt").read_text())


def raw(exp: str, n: int, cwd: Path, params: list[str]) -> tuple[float, float]:
    d = _fresh(cwd, "raw")
    wall = timed([sys.executable, str(SCRIPTS / "raw_hydra_app.py"), "-m", f"experiment={exp}", *params,
                  f"seed=range(0,{n})", "hydra.sweep.dir=sweep"], d)
    return wall, sum(float(x) for x in (d / "durations.txt").read_text().split())


def seedexp(exp: str, n: int, cwd: Path, params: list[str]) -> tuple[float, float]:
    import json

    d = _fresh(cwd, "sx")
    wall = timed(seedexp_cmd("-m", f"experiment={exp}", *params, f"seed=range(0,{n})", "hydra.sweep.dir=sweep"), d)
    inside = sum(json.loads(p.read_text())["duration_s"] for p in (d / "sweep").rglob("result.json"))
    return wall, inside


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
        runs = {
            "bare": (bare(exp, 1, cwd, its), bare(exp, n, cwd, its)),
            "raw": (raw(exp, 1, cwd, params), raw(exp, n, cwd, params)),
            "sx": (seedexp(exp, 1, cwd, params), seedexp(exp, n, cwd, params)),
        }
        over = {k: ((w1 - i1), (wn - i_n)) for k, ((w1, i1), (wn, i_n)) in runs.items()}  # wall - inside
        per = {k: (o_n - o1) / (n - 1) for k, (o1, o_n) in over.items()}
        inside_bare = runs["bare"][1][1]
        corrected = {k: (inside_bare + over[k][1]) / (inside_bare + over["bare"][1]) for k in over}
        rows.append((label, {k: v[1][0] for k, v in runs.items()}, per, corrected, over))
        print(f"{label}: wall bare {runs['bare'][1][0]:.2f} s, raw {runs['raw'][1][0]:.2f} s, seedexp "
              f"{runs['sx'][1][0]:.2f} s; inside the experiment: bare {runs['bare'][1][1]:.2f} s, raw "
              f"{runs['raw'][1][1]:.2f} s, seedexp {runs['sx'][1][1]:.2f} s", flush=True)
    print("\n| experiment | bare loop | raw Hydra | seedexp | per-job overhead: raw Hydra | seedexp | seedexp / raw "
          "| total overhead (wall - time in experiment): bare | raw | seedexp | seedexp total / bare total, same experiment time |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, wall, per, corrected, over in rows:
        print(f"| {label}, {n} seeds | {wall['bare']:.2f} s | {wall['raw']:.2f} s | {wall['sx']:.2f} s | "
              f"{(per['raw'] - per['bare']) * 1000:.1f} ms | {(per['sx'] - per['bare']) * 1000:.1f} ms | "
              f"{(per['sx'] - per['bare']) / (per['raw'] - per['bare']):.2f} | {over['bare'][1]:.2f} s | "
              f"{over['raw'][1]:.2f} s | {over['sx'][1]:.2f} s | {corrected['sx']:.3f} |")
    first, imports = startup(cwd)
    inject = injection_cost()
    print(f"\nstart-up to the first job (sklearn experiment): {first:.2f} s; `python -c \"import hydra, sklearn\"`: "
          f"{imports:.2f} s; difference {first - imports:+.2f} s (goal <= +0.5 s)")
    print(f"seed derivation + global reset + injection into a nested pipeline, one run: {inject:.2f} ms (goal < 5 ms)")


if __name__ == "__main__":
    main()
