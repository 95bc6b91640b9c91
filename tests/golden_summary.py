"""The golden summary: fixed records in, the summary files that seedexp made of them out.

``tests/data/golden/records.json`` holds a sweep's inputs (run records, the plan,
a stopping decision, one corrupt file); ``tests/data/golden/<case>/`` the
``summary.json``, ``summary.md``, ``summary.csv`` and ``runs.csv`` that
:func:`seedexp.summary_files.write_summary` wrote for them before the statistics
and the sweep directory were restructured (issue 28). ``tests/test_golden.py``
asserts the code still writes exactly those.

Run ``python tests/golden_summary.py --write`` to write them again: only when a
change of the numbers is intended, and say why in the commit.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "golden"
RECORDS = DATA / "records.json"
FILES = ("summary.json", "summary.md", "summary.csv", "runs.csv")
#: Report options per case: the defaults, and a declared analysis that touches every option.
CASES = {
    "default": {},
    "declared": {"test": "permutation", "correction": "bh", "baseline": "experiment.model=b",
                 "primary_metric": "val_loss", "higher_is_better": {"acc": True},
                 "target_halfwidth": {"acc": 0.01, "val_loss": 0.05}, "target_difference": 0.02, "power": 0.9,
                 "confidence": 0.9, "n_resamples": 200, "bootstrap_seed": 7, "bootstrap_min_n": 20},
}
SWEEP = "<SWEEP>"


def make_inputs() -> dict:
    """The inputs, drawn once from a fixed PCG64 stream (stored: they never change with numpy)."""
    rng = np.random.Generator(np.random.PCG64(20240528))
    records, planned = [], []

    def add(model: str, seed: int, status: str, metrics: dict | None = None, error: dict | None = None,
            path: str | None = None) -> None:
        overrides = [f"experiment.model={model}", f"seed={seed}"]
        group = f"experiment.model={model}"
        path = path or f"experiment.model={model},seed={seed}"
        rec = {"schema": "seedexp.result/1", "status": status, "seed": seed, "overrides": overrides,
               "group": group, "metrics": metrics or {}, "experiment": "golden.run"}
        if error:
            rec["error"] = error
        records.append({"path": path, "record": rec})

    for model, n, shift in (("a", 25, 0.0), ("b", 25, 0.015), ("c", 4, 0.03)):
        for seed in range(n):
            planned.append({"group": f"experiment.model={model}", "seed": seed,
                            "path": f"experiment.model={model},seed={seed}",
                            "overrides": [f"experiment.model={model}", f"seed={seed}"]})
            acc = round(0.7 + shift + 0.02 * float(rng.standard_normal()), 6)
            loss = round(float(np.exp(-1.0 - shift * 10 + 0.6 * rng.standard_normal())), 6)
            if model == "a" and seed == 3:
                add(model, seed, "failed", error={"type": "RuntimeError", "message": "diverged at epoch 4"})
            elif model == "a" and seed == 7:
                add(model, seed, "running")  # the marker of a run whose process died: crashed
            elif model == "b" and seed in (5, 11):
                continue  # planned, never ran: missing
            elif model == "b" and seed == 9:
                add(model, seed, "ok", {"acc": acc, "val_loss": None})  # a NaN loss, stored as null
            else:
                add(model, seed, "ok", {"acc": acc, "val_loss": loss})
    # a second record of one run, in another directory: the first by path is used
    add("c", 1, "ok", {"acc": 0.5, "val_loss": 3.0}, path="zz_copy/experiment.model=c,seed=1")
    stopping = {"schema": "seedexp.stopping/1", "stop": True, "cause": "halfwidth",
                "reason": "every configuration's 95% interval is narrower than 0.02", "n_seeds": 25,
                "method": "anytime-valid t confidence sequence", "confidence": 0.95,
                "rule": {"halfwidth": 0.02, "max_seeds": 100, "min_seeds": 5, "batch": None, "decide": True,
                         "baseline": "experiment.model=b", "confidence": 0.95},
                "groups": [{"group": "experiment.model=a", "n": 23, "mean": 0.7, "low": 0.69, "high": 0.71,
                            "halfwidth": 0.01},
                           {"group": "experiment.model=c", "n": 4, "mean": 0.73, "low": None, "high": None,
                            "halfwidth": None}],
                "comparisons": [{"group": "experiment.model=a", "baseline": "experiment.model=b", "n": 21,
                                 "mean_diff": -0.015, "low": -0.03, "high": -0.001, "p_value": 0.01,
                                 "confidence": 0.95, "state": "worse"}],
                "metric": "acc", "metric_source": "stop.metric", "seeds_per_batch": 5}
    return {"records": records, "plan": {"schema": "seedexp.sweep/1", "planned": planned},
            "stopping": stopping, "corrupt": {"broken/result.json": "{\"schema\": \"seedexp.result/1\", "}}


def build_sweep(sweep_dir: Path, inputs: dict, *, stopping: bool) -> Path:
    """Write the inputs as a sweep directory: run dirs with result.json, sweep.json (and stopping.json)."""
    sweep_dir = Path(sweep_dir)
    for item in inputs["records"]:
        path = sweep_dir / item["path"] / "result.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(item["record"], indent=2) + "\n")
    for rel, text in inputs["corrupt"].items():
        (sweep_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (sweep_dir / rel).write_text(text)
    plan = dict(inputs["plan"], sweep_dir=str(sweep_dir))
    (sweep_dir / "sweep.json").write_text(json.dumps(plan, indent=2) + "\n")
    if stopping:
        (sweep_dir / "stopping.json").write_text(json.dumps(inputs["stopping"], indent=2) + "\n")
    return sweep_dir


def normalise_text(text: str, sweep_dir: Path) -> str:
    """The sweep's absolute path as ``<SWEEP>``; the provenance line without versions."""
    text = text.replace(str(sweep_dir), SWEEP)
    return re.sub(r"^seedexp \S+, numpy \S+, scipy \S+, statsmodels \S+, Python \S+\.", "PROVENANCE.", text,
                  flags=re.M)


def normalise_json(summary: dict, sweep_dir: Path) -> dict:
    """summary.json without what depends on the machine: versions, and the sweep's absolute path."""
    data = json.loads(normalise_text(json.dumps(summary), sweep_dir))
    data.pop("versions", None)
    return data


def produce(case: str, tmp_dir: Path) -> dict[str, str | dict]:
    """The summary files the current code writes for ``case`` (normalised)."""
    from seedexp.summary_files import write_summary

    inputs = json.loads(RECORDS.read_text())
    sweep_dir = build_sweep(Path(tmp_dir) / case, inputs, stopping=case == "declared")
    write_summary(sweep_dir, png=False, **CASES[case])
    out: dict[str, str | dict] = {}
    for name in FILES:
        text = (sweep_dir / name).read_text()
        out[name] = normalise_json(json.loads(text), sweep_dir) if name.endswith(".json") else \
            normalise_text(text, sweep_dir)
    return out


def write_golden() -> None:
    import tempfile

    DATA.mkdir(parents=True, exist_ok=True)
    if not RECORDS.exists():
        RECORDS.write_text(json.dumps(make_inputs(), indent=1) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            (DATA / case).mkdir(exist_ok=True)
            for name, content in produce(case, Path(tmp)).items():
                text = json.dumps(content, indent=1, sort_keys=True) + "\n" if isinstance(content, dict) else content
                (DATA / case / name).write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/golden_summary.py --write   (only when the numbers are meant to change)")
    write_golden()
