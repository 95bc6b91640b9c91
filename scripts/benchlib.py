"""Shared pieces of the benchmarks in scripts/: jobs to time and a timer.

Run the benchmarks from the repository root after set-up, e.g.
``.venv/bin/python scripts/bench_aggregate.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent
CONF = SCRIPTS / "conf"


def burn(iterations: int) -> float:
    """Fixed CPU-bound work (pure Python, holds the GIL): the same work on every launcher."""
    acc = 0.0
    for i in range(iterations):
        acc += (i % 7) * 0.5
    return acc


def calibrate(seconds: float = 1.0) -> int:
    """Iterations of :func:`burn` that take about ``seconds`` here, on an idle core."""
    n = 200_000
    while True:
        t0 = time.perf_counter()
        burn(n)
        dt = time.perf_counter() - t0
        if dt > 0.2:
            return int(n * seconds / dt)
        n *= 2


def busy(seeds, iterations: int = 0):
    """An experiment that does ``iterations`` of CPU-bound work and returns a metric of the seed."""
    burn(iterations)
    return {"score": float(seeds.seed("model") % 1000)}


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(SCRIPTS), str(ROOT), e.get("PYTHONPATH", "")])
    e.setdefault("RAY_AUTH_MODE", "disabled")
    e.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return e


def timed(cmd: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> float:
    """Wall time of a command; raises with its output if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env={**env(), **(extra_env or {})}, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return dt


def seedexp_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "seedexp", "--config-dir", str(CONF), *args]


def short(seeds):
    """A short scikit-learn experiment (~20-50 ms): logistic regression on a seeded split."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from seedexp.sklearn import train_test_split

    X, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, seeds=seeds, stratify=y)
    model = LogisticRegression(max_iter=200).fit(X_train, y_train)
    return {"accuracy": float(model.score(X_test, y_test))}


def met(ok: bool) -> str:
    """A goal's verdict cell."""
    return "**met**" if ok else "**not met**"


def print_goals(rows: list[tuple[str, str, str, str]]) -> None:
    """The goals table as BENCHMARKS.md holds it: goal, measured, target, verdict."""
    print("\n| goal | measured | target | |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
