"""The Python API as a notebook uses it: seedexp.run / sweep / summarize."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import seedexp
from seedexp.errors import ConfigError, RecordError

import api_experiments


@pytest.mark.fast
def test_public_api_is_listed():
    for name in ("seed_everything", "run", "sweep", "summarize", "Summary", "tune", "TuneResult", "main", "current_seeds",
                 "SeedPlan"):
        assert name in seedexp.__all__ and getattr(seedexp, name) is not None


@pytest.mark.fast
def test_run_is_reproducible_and_seed_controls_it():
    a = seedexp.run(api_experiments.fit_model, seed=5, model="rf")
    b = seedexp.run(api_experiments.fit_model, seed=5, model="rf")
    c = seedexp.run(api_experiments.fit_model, seed=6, model="rf")
    assert a["status"] == "ok" and a["metrics"] == b["metrics"] != c["metrics"]
    assert "split" in a["streams"] and any(s.startswith("model/") for s in a["streams"])


@pytest.mark.slow
def test_notebook_sweep_serial_equals_two_workers(tmp_path):
    params = {"model": ["rf", "lr"]}
    one = seedexp.sweep(api_experiments.fit_model, seeds=range(10), params=params, n_jobs=1, out=tmp_path / "one",
                        progress=False)
    two = seedexp.sweep(api_experiments.fit_model, seeds=range(10), params=params, n_jobs=2, out=tmp_path / "two",
                        progress=False)
    key = lambda s: {(r["group"], r["seed"]): json.dumps(r["metrics"]) for r in s.runs}  # noqa: E731
    assert len(one.runs) == 20 and key(one) == key(two)
    frame = one.to_pandas()
    assert isinstance(frame, pd.DataFrame) and set(frame["group"]) == {"model=rf", "model=lr"}
    assert any(c["metric"] == "accuracy" for c in one.comparisons)
    assert one.ok and "accuracy" in one._repr_markdown_()
    # resume: nothing left to run, the same summary
    again = seedexp.sweep(api_experiments.fit_model, seeds=range(10), params=params, out=tmp_path / "one",
                          progress=False)
    assert key(again) == key(one)


@pytest.mark.fast
def test_summarize_records_in_memory_and_missing_field():
    recs = [seedexp.run(api_experiments.fit_model, seed=s, model="lr") for s in range(3)]
    assert seedexp.summarize(recs).data["n_ok"] == 3
    broken = [dict(recs[0])]
    del broken[0]["group"]
    with pytest.raises(RecordError, match="record 0 has no 'group' field"):
        seedexp.summarize(broken)


@pytest.mark.fast
def test_current_seeds_inside_and_outside_a_run():
    rec = seedexp.run(api_experiments.uses_current_seeds, seed=4)
    assert rec["metrics"]["split"] == float(seedexp.SeedPlan(4).seed("split"))
    with pytest.raises(ConfigError, match="outside a seedexp run"):
        seedexp.current_seeds()


@pytest.mark.fast
def test_sweep_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="n_jobs=0"):
        seedexp.sweep(api_experiments.fit_model, seeds=3, n_jobs=0, out=tmp_path)
    with pytest.raises(ConfigError, match="must be a list of values"):
        seedexp.sweep(api_experiments.fit_model, seeds=3, params={"model": "rf"}, out=tmp_path)
    with pytest.raises(seedexp.SeedError):
        seedexp.sweep(api_experiments.fit_model, seeds=[-1], out=tmp_path)


def test_a_python_sweep_imports_no_hydra(tmp_path):
    """`import seedexp; seedexp.sweep(...)` needs no Hydra: neither hydra nor omegaconf nor seedexp.hydra is imported."""
    import subprocess
    import sys

    code = ("import sys, seedexp\n"
            "def exp(seeds, scale=1.0):\n"
            "    return {'v': scale * float(seeds.generator('init').normal())}\n"
            f"s = seedexp.sweep(exp, seeds=3, params={{'scale': [1.0, 2.0]}}, out={str(tmp_path / 'sw')!r}, progress=False)\n"
            "assert s.ok and len(s.runs) == 6, s\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hydra', 'omegaconf') or m == 'seedexp.hydra'))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
