"""JAX / Flax NNX: keys and Rngs by stream name, bitwise equal across fresh processes, pins that
move exactly one thing (the rows of docs/frameworks.md's JAX table).

One script runs every job in one fresh process (strict first, before JAX starts its backend);
two such processes, started with different PYTHONHASHSEED, must print the same thing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TESTS

pytest.importorskip("flax")

SCRIPT = r"""
import json, os, sys
import seedexp
import jax_experiments as je

out = {}
rec = seedexp.run(je.flax_mlp, seed=1, strict=True)
out["strict"] = {"fingerprints": rec["fingerprints"], "XLA_FLAGS": rec["determinism"].get("XLA_FLAGS"),
                 "env_after": os.environ.get("XLA_FLAGS"), "warnings": rec.get("warnings", [])}
for label, kwargs in [("base", {}), ("pin.init", {"pins": {"init": 7}}), ("pin.dropout", {"pins": {"dropout": 7}}),
                      ("pin.shuffle", {"pins": {"shuffle": 7}}), ("seed=2", {"seed": 2}),
                      ("by_hand", {"by_hand": True})]:
    kwargs.setdefault("seed", 1)
    rec = seedexp.run(je.flax_mlp, **kwargs)
    assert rec["status"] == "ok", rec.get("error")
    out[label] = {"fingerprints": rec["fingerprints"], "loss": rec["metrics"]["loss"], "streams": rec["streams"],
                  "determinism": {k: v for k, v in rec["determinism"].items() if k.startswith("jax")},
                  "warnings": rec.get("warnings", [])}
out["modules"] = sorted(m for m in ("torch", "tensorflow", "keras", "lightning") if m in sys.modules)
print("@@" + json.dumps(out, sort_keys=True))
"""


def _run_script(hash_seed: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]), PYTHONHASHSEED=hash_seed)
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("@@")[-1])


@pytest.mark.integration
def test_flax_nnx_model_is_bitwise_reproducible_and_each_pin_moves_one_thing():
    first, second = _run_script("1"), _run_script("7920")
    assert first == second  # every fingerprint, loss, stream seed and setting, bit for bit

    base = first["base"]["fingerprints"]
    moved = {label: sorted(k for k in base if first[label]["fingerprints"][k] != base[k])
             for label in ("pin.init", "pin.dropout", "pin.shuffle", "seed=2")}
    # the JAX / Flax table: what each pin changes (the trained weights follow whatever moved)
    assert moved == {"pin.init": ["init", "trained"], "pin.dropout": ["masks", "trained"],
                     "pin.shuffle": ["order", "trained"], "seed=2": ["init", "masks", "order", "trained"]}
    # rngs(seeds) is nnx.Rngs(params=seeds.seed("init"), dropout=seeds.seed("dropout")) written by hand
    assert first["by_hand"]["fingerprints"] == base
    # keys come from the recorded stream seeds; the pins are the seeds
    assert set(first["base"]["streams"]) >= {"init", "dropout", "shuffle"}
    assert first["pin.init"]["streams"]["init"] == 7 and first["pin.dropout"]["streams"]["dropout"] == 7
    assert all(not first[label]["warnings"] for label in ("base", "pin.init", "pin.dropout", "pin.shuffle"))
    # the record states JAX's random-number settings and backend
    det = first["base"]["determinism"]
    assert det["jax_default_prng_impl"] == "threefry2x32" and det["jax_backend"] == "cpu"
    assert "jax_threefry_partitionable" in det and det["jax_version"]
    # strict: XLA's deterministic-ops flag is in force for the run (read by XLA when JAX starts), the
    # process's variable is back afterwards, and on CPU it changes no bit
    strict = first["strict"]
    assert strict["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=true" and strict["env_after"] is None
    assert strict["fingerprints"] == base and not strict["warnings"]
    # a JAX experiment imports no other framework
    assert first["modules"] == []


@pytest.mark.fast
def test_key_and_rngs_follow_streams_by_name():
    import jax
    from flax import nnx

    from seedexp import ConfigError, SeedPlan
    from seedexp.frameworks import jax as sj

    seeds = SeedPlan(5, pins={"dropout": 9})
    assert jax.random.key_data(sj.key(seeds, "init")).tolist() == [0, seeds.seed("init")]
    assert jax.random.key_data(sj.key(seeds, "dropout")).tolist() == [0, 9]
    member = sj.rngs(seeds, "member3", noise="augment")
    assert jax.random.key_data(member.params.key[...]).tolist() == [0, seeds.child("init").seed("member3")]
    assert jax.random.key_data(member.noise.key[...]).tolist() == [0, seeds.child("augment").seed("member3")]
    assert {"init/member3", "dropout/member3", "augment/member3"} <= set(seeds.used())
    with pytest.raises(AttributeError, match="No RngStream named 'noise'"):
        sj.rngs(seeds).noise()
    with pytest.raises(ConfigError, match="rngs\\(noise=3\\)"):
        sj.rngs(seeds, noise=3)
    assert isinstance(member, nnx.Rngs)


@pytest.mark.integration
def test_readme_jax_example_runs_and_is_reproducible():
    from docs_pages import claimed

    (block,) = claimed("test_readme_jax_example_runs_and_is_reproducible")
    code = block.code
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hs}).stdout
            for hs in ("1", "2")]
    assert outs[0] == outs[1] and outs[0].strip().endswith("['dropout', 'init', 'shuffle']")
