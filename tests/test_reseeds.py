"""Code that reseeds a global generator during a run, metrics as frameworks give them, clean summaries."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

import seedexp
from seedexp.core import RunSpec, as_number, check_result, execute
from seedexp.errors import ExperimentError, SeedexpWarning


def reseeding(seeds):
    import torch

    torch.manual_seed(3)
    np.random.seed(5)
    return {"m": float(torch.rand(1).item() + np.random.rand())}


def from_the_plan(seeds):
    import torch

    torch.manual_seed(seeds.seed("init"))
    return {"m": torch.rand(1).item()}


def quiet(seeds):
    import torch

    random.random()
    return {"m": float(torch.rand(1).item() + np.random.rand())}


def test_torch_manual_seed_and_np_random_seed_in_plain_code_are_recorded_with_their_void_pins():
    with pytest.warns(SeedexpWarning) as caught:
        record = seedexp.run(reseeding, seed=1, pins={"init": 7})
    calls = [(r["call"], r["seed"], r["site"]["function"]) for r in record["reseeds"]]
    assert calls == [("torch.manual_seed", 3, "reseeding"), ("np.random.seed", 5, "reseeding")]
    assert record["void_pins"] == ["init"] and record["unused_pins"] == []
    assert set(record["void_streams"]) == {"init", "numpy"} and "init" not in record["streams"]
    lines = [str(w.message) for w in caught if issubclass(w.category, SeedexpWarning)]
    assert any(line.startswith("torch.manual_seed at test_reseeds.py:") and "pin pin.init changed nothing" in line
               and "torch.manual_seed(seeds.seed('init'))" in line for line in lines), lines
    # the calls did what they do: the metric is that of seed 3 / 5, whatever seedexp's seed
    assert record["metrics"] == seedexp.run(reseeding, seed=2)["metrics"]


def test_a_run_that_reseeds_nothing_says_nothing_new_and_a_seed_from_the_plan_is_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeedexpWarning)
        record = seedexp.run(quiet, seed=1, pins={"init": 7})
        planned = seedexp.run(from_the_plan, seed=1)
    assert "reseeds" not in record and "void_pins" not in record and record["streams"]["init"] == 7
    assert planned["reseeds"][0]["from_stream"] == "init" and "init" in planned["streams"]


@pytest.mark.fast
def test_reseed_error_switch_stops_the_run_at_the_call_with_one_line():
    spec = RunSpec(seed=0, reseed="error", experiment="reseeding")
    record = execute(spec, lambda plan: (lambda: reseeding(plan)), None, quiet=True)
    assert record["status"] == "failed" and record["error"]["type"] == "ReseedError"
    message = record["error"]["message"]
    assert "\n" not in message and message.startswith("torch.manual_seed at test_reseeds.py:")
    assert "determinism.reseed=error" in message


@pytest.mark.fast
def test_numpy_scalars_and_zero_d_arrays_are_metrics_converted_exactly():
    metrics, _ = check_result({"a": np.float32(0.1), "b": np.int64(3), "c": np.array(2.5), "d": 1}, "t")
    assert metrics == {"a": float(np.float32(0.1)), "b": 3.0, "c": 2.5, "d": 1.0}
    assert as_number(np.bool_(True)) is None and as_number(np.array([1.0])) is None and as_number(1 + 2j) is None
    with pytest.raises(ExperimentError, match=r"metric 'v' is array\(\[1\., 2\.\]\) \(ndarray\), not a number"):
        check_result({"v": np.array([1.0, 2.0])}, "t")


def coloured_failure(seeds):
    raise RuntimeError("\x1b[1;31mCUDA error\x1b[0m: device-side assert")


def test_terminal_escape_codes_never_reach_the_record_or_summary_files(tmp_path):
    summary = seedexp.sweep(coloured_failure, seeds=[0], out=tmp_path, progress=False)
    assert summary is not None
    for path in [*tmp_path.glob("summary.*"), *tmp_path.rglob("result.json")]:
        if path.suffix in (".md", ".json", ".csv"):
            assert "\x1b" not in path.read_text() and "\\u001b" not in path.read_text(), path
    assert "CUDA error: device-side assert" in (tmp_path / "summary.md").read_text()
