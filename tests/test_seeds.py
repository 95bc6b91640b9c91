"""SeedPlan: frozen derivation, independence of order/process, pins, validation."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedexp import STREAMS, SeedError, SeedPlan
from seedexp.seeds import MAX_SEED, NAMESPACE, stream_key

from conftest import TESTS

REFERENCE = json.loads((TESTS / "data" / "reference_seeds.json").read_text())
CANONICAL = ["split", "cv", "resample", "init", "dropout", "shuffle", "gpu", "model"]


@pytest.mark.fast
@pytest.mark.parametrize("master", [0, 12321, 2**100])
@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_reference_vectors_are_frozen(master, stream):
    # A change here alters every user's results: it is a breaking change.
    assert SeedPlan(master).seed(stream) == REFERENCE[str(master)][stream]


@pytest.mark.fast
def test_canonical_streams_are_documented():
    assert set(CANONICAL) <= set(STREAMS)


@pytest.mark.fast
@pytest.mark.parametrize("stream", CANONICAL)
def test_derivation_is_the_documented_formula(stream):
    # seed = SeedSequence(master, spawn_key=(NAMESPACE, sha256(name)[:4] LE)).generate_state(1, uint32)
    word = int.from_bytes(hashlib.sha256(stream.encode()).digest()[:4], "little")
    seq = np.random.SeedSequence(entropy=12321, spawn_key=(NAMESPACE, word))
    assert SeedPlan(12321).seed(stream) == int(seq.generate_state(1, np.uint32)[0])
    assert stream_key(stream) == REFERENCE["stream_key"][stream]


@pytest.mark.fast
def test_nested_reference_vectors():
    assert SeedPlan(12321).seeds("cv", 5) == REFERENCE["folds"]["cv"]
    assert SeedPlan(0).child("model").seed("rf__random_state") == REFERENCE["child"]["model/rf__random_state"]
    ref = REFERENCE["generator"]
    assert [int(x) for x in SeedPlan(ref["master"]).generator(ref["stream"]).integers(0, 2**63, 3)] == ref["first_uint64"]


@pytest.mark.fast
def test_adding_a_stream_changes_no_other():
    before = {s: SeedPlan(7).seed(s) for s in CANONICAL}
    plan = SeedPlan(7)
    plan.seed("a_brand_new_stream")
    plan.seeds("another_one", 10)
    assert {s: plan.seed(s) for s in CANONICAL} == before


@pytest.mark.fast
def test_order_of_requests_does_not_matter():
    a, b = SeedPlan(99), SeedPlan(99)
    forward = [a.seed(s) for s in CANONICAL]
    backward = [b.seed(s) for s in reversed(CANONICAL)][::-1]
    assert forward == backward


def test_same_seeds_in_a_fresh_process_with_other_hash_seed():
    code = "import json; from seedexp import SeedPlan; print(json.dumps({s: SeedPlan(5).seed(s) for s in %r}))" % CANONICAL
    outs = set()
    for hash_seed in ("1", "4242", "random"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}).stdout
        outs.add(out)
    assert len(outs) == 1
    assert json.loads(outs.pop()) == {s: SeedPlan(5).seed(s) for s in CANONICAL}


@pytest.mark.fast
def test_streams_are_distinct_and_in_range():
    seeds = [SeedPlan(0).seed(s) for s in STREAMS]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s <= MAX_SEED and type(s) is int for s in seeds)


@pytest.mark.fast
def test_seeds_for_folds_are_prefix_stable_and_match_child():
    plan = SeedPlan(3)
    assert plan.seeds("cv", 3) == plan.seeds("cv", 10)[:3]
    assert plan.seeds("cv", 4)[2] == plan.child("cv").seed(2)
    assert len(set(plan.seeds("cv", 100))) == 100


@pytest.mark.fast
def test_children_differ_from_parent_and_each_other():
    plan = SeedPlan(3)
    assert plan.child("model").seed("rf") != plan.child("model").seed("lr")
    assert plan.child("model").seed("rf") != plan.child("cv").seed("rf")
    assert plan.child("model").seed("rf") != plan.seed("rf")


@pytest.mark.fast
def test_generator_is_deterministic_and_per_stream():
    x = SeedPlan(1).generator("init").random(4)
    assert np.array_equal(x, SeedPlan(1).generator("init").random(4))
    assert not np.array_equal(x, SeedPlan(1).generator("dropout").random(4))
    assert not np.array_equal(x, SeedPlan(2).generator("init").random(4))
    assert isinstance(SeedPlan(1).generator("init").bit_generator, np.random.PCG64)


@pytest.mark.fast
def test_global_rng_does_not_affect_plan():
    np.random.seed(1)
    a = SeedPlan(11).generator("split").random(3)
    np.random.seed(2)
    b = SeedPlan(11).generator("split").random(3)
    assert np.array_equal(a, b)


@pytest.mark.fast
def test_used_records_every_stream_handed_out():
    plan = SeedPlan(4)
    s = plan.seed("split")
    folds = plan.seeds("cv", 2)
    plan.generator("resample")
    used = plan.used()
    assert used["split"] == s and [used["cv/0"], used["cv/1"]] == folds
    assert set(used) == {"split", "cv/0", "cv/1", "resample"}


@pytest.mark.fast
def test_pins_fix_one_stream_and_nothing_else():
    free, pinned = SeedPlan(12321), SeedPlan(12321, pins={"init": 7})
    assert pinned.seed("init") == 7
    for s in CANONICAL:
        if s != "init":
            assert pinned.seed(s) == free.seed(s)
    # everything derived from a pinned stream depends on the pin only
    assert SeedPlan(1, pins={"init": 7}).child("init").seed(0) == SeedPlan(2, pins={"init": 7}).child("init").seed(0)
    g1 = SeedPlan(1, pins={"init": 7}).generator("init").random(3)
    assert np.array_equal(g1, SeedPlan(2, pins={"init": 7}).generator("init").random(3))
    assert pinned.pins == {"init": 7}


@pytest.mark.fast
def test_none_draws_entropy_and_records_it():
    plan = SeedPlan(None)
    assert plan.drawn and plan.master >= 2**64  # 128 bits of entropy
    again = SeedPlan(plan.master)
    assert [plan.seed(s) for s in CANONICAL] == [again.seed(s) for s in CANONICAL]
    assert SeedPlan(None).master != plan.master


@pytest.mark.fast
@pytest.mark.parametrize("bad", ["abc", -1, 1.5, True, [1, 2], "3", 3.0, (1,)])
def test_bad_master_seeds_name_the_value(bad):
    with pytest.raises(SeedError) as info:
        SeedPlan(bad)
    msg = str(info.value)
    assert repr(bad) in msg and "integer >= 0" in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.fast
def test_big_and_numpy_ints_are_accepted():
    assert SeedPlan(2**200).master == 2**200
    assert SeedPlan(np.int64(5)).seed("split") == SeedPlan(5).seed("split")


@pytest.mark.fast
@pytest.mark.parametrize("bad", ["x", -1, 2**32, 1.5, True])
def test_bad_pins_name_the_stream(bad):
    with pytest.raises(SeedError, match=r"pin\.init="):
        SeedPlan(0, pins={"init": bad})


@pytest.mark.fast
@settings(max_examples=60, deadline=None)
@given(master=st.integers(min_value=0, max_value=2**160), names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True))
def test_property_seed_depends_on_master_and_name_only(master, names):
    a = SeedPlan(master)
    values = {n: a.seed(n) for n in names}
    b = SeedPlan(master)
    b.seed("unrelated")
    assert {n: b.seed(n) for n in reversed(names)} == values
    assert all(0 <= v <= MAX_SEED for v in values.values())
