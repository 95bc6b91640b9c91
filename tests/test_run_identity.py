"""What a run is: the settings that do not change a run are ONE list (issue 27, part 3).

``resume``, ``report.*``, ``tracking.*``, ``stop.*``, ``isolation``, ``timeout`` and
``memory_limit`` decide how a sweep resumes, is reported, tracked, stopped and where
its runs execute, never what a run computes: they are
left out of a run's group, its config hash (resume matches on it) and its run
directory's name, so changing them on a finished sweep re-runs nothing.
"""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT, TEST_CONF, read_json, run_seedexp
from seedexp.hydra.run_dirs import not_in_dir_names
from seedexp.hydra.task import spec_from_config
from seedexp.record import NON_RUN_SETTINGS, group_of, run_config


@pytest.mark.fast
def test_the_settings_that_do_not_change_a_run_are_one_list():
    config = yaml.safe_load((ROOT / "seedexp" / "conf" / "seedexp.yaml").read_text())
    # seedexp.yaml declares each of them, and seedexp's sweeper keeps each key of each out of the run dir's
    # name (Hydra's exclude_keys match whole keys: every key is listed; it adds them to the app's own list)
    want = {key for top in NON_RUN_SETTINGS for key in
            [top, *(f"{top}.{k}" for k in (config[top] if isinstance(config[top], dict) else {}))]}
    assert set(not_in_dir_names(config)) == want and "hydra" not in config
    # grouping
    changed = ["resume=true", "stop.halfwidth=0.01", "+report.baseline=x", "tracking.backend=mlflow",
               "~tracking.uri", "report=null", "isolation=none", "timeout=60", "memory_limit=8GB"]
    assert group_of(["experiment.model=rf", "seed=3", *changed]) == group_of(["seed=4", "experiment.model=rf"]) \
        == "experiment.model=rf"
    assert group_of(["resume_from=3", "seed=1"]) == "resume_from=3"  # a key that only starts like one counts
    # the config hash (what resume matches on)
    base = {"seed": 1, "pin": {}, "experiment": {"_target_": "m.f", "c": 1.0}, "resume": True,
            "stop": {"halfwidth": None}, "report": {}, "tracking": {"backend": None}}
    other = {**base, "resume": False, "stop": {"halfwidth": 0.01, "decide": True}, "report": {"confidence": 0.9},
             "tracking": {"backend": "mlflow", "uri": "http://x"}}
    runs = {spec_from_config(c, ["seed=1"], "m.f", {})[0].config_hash for c in (base, other)}
    assert len(runs) == 1
    assert spec_from_config({**base, "experiment": {"_target_": "m.f", "c": 2.0}}, ["seed=1"], "m.f", {})[0] \
        .config_hash not in runs
    assert run_config(other) == {"seed": 1, "pin": {}, "experiment": {"_target_": "m.f", "c": 1.0}}


@pytest.mark.fast
def test_a_record_hashed_with_tracking_before_it_was_left_out_is_still_resumed(tmp_path):
    from seedexp.core import completed_record
    from seedexp.record import SCHEMA, config_hash
    from seedexp.sweepdir import write_record

    config = {"seed": 1, "experiment": {"_target_": "m.f"}, "resume": True, "tracking": {"backend": None}}
    spec, _ = spec_from_config(config, ["seed=1"], "m.f", {"source_sha256": "x"})
    old_hash = config_hash({k: v for k, v in config.items() if k != "resume"})  # tracking was hashed then
    assert old_hash != spec.config_hash
    record = {"schema": SCHEMA, "status": "ok", "seed": 1, "group": "(defaults)", "metrics": {"m": 1.0},
              "config": config, "config_hash": old_hash, "code": {"source_sha256": "x"}}
    write_record(tmp_path, record)
    assert completed_record(tmp_path, spec)["config_hash"] == old_hash
    other, _ = spec_from_config({**config, "experiment": {"_target_": "m.f", "c": 2}}, ["seed=1"], "m.f",
                                {"source_sha256": "x"})
    assert completed_record(tmp_path, other) is None  # another configuration is not that run


def _runs(sweep):
    """Every record's bytes, by run dir: a run that ran again has a new started_at."""
    return {p.parent.name: p.read_bytes() for p in sweep.rglob("result.json")}


def test_changing_them_on_a_finished_sweep_reruns_nothing(tmp_path):
    base = ["--config-dir", str(TEST_CONF), "-m", "experiment=noisy_score", "seed=range(0,3)", "experiment.mean=0,1",
            "hydra.sweep.dir=sw"]
    run_seedexp(base, tmp_path, check_rc=0)
    sw = tmp_path / "sw"
    records, summary = _runs(sw), read_json(sw / "summary.json")
    groups = [g["group"] for g in summary["groups"]]
    assert len(records) == 6 and groups == [f"experiment.mean={m},experiment=noisy_score" for m in (0, 1)]
    for extra in (["tracking.experiment=other", "tracking.logdir=tb"],
                  ["report.confidence=0.9", "report.test=permutation"],
                  ["stop.max_seeds=100", "stop.min_seeds=5"],  # set, at their defaults: allowed without seed=auto
                  ["resume=true"],
                  ["isolation=spawn", "timeout=600", "memory_limit=8GB"],
                  []):  # and resume=true dropped again
        proc = run_seedexp([*base, *extra], tmp_path)
        assert proc.returncode == 0, (extra, proc.stderr)
        summary = read_json(sw / "summary.json")
        assert _runs(sw) == records, extra  # not one run ran again
        assert [g["group"] for g in summary["groups"]] == groups, extra
        assert summary["n_runs"] == summary["n_ok"] == 6, (extra, summary["n_runs"])
        assert sorted({p["group"] for p in read_json(sw / "sweep.json")["planned"]}) == groups, extra
