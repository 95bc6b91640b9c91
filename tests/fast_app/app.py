"""A user's Hydra app that reads what Hydra gives a job: HydraConfig, its cwd, its env, its config.

Used by tests/test_fast.py to show that the sweep's fast path (one composition per
configuration) gives every job what Hydra's own per-job path gives it.
"""

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

import seedexp


@seedexp.main(config_path="conf", config_name="config", version_base=None)
def train(cfg, seeds):
    hc = HydraConfig.get()
    calls = os.environ.get("FAST_APP_CALLS")
    if calls:  # one line a call: resume must not call the experiment again
        with open(calls, "a", encoding="utf-8") as handle:
            handle.write(f"{hc.job.override_dirname}\n")
    scratch_was_clean = float(cfg.model.scratch == "clean")
    with open_dict(cfg):
        cfg.model.scratch = "changed"  # the job's own copy: must not leak into the next job
    seen = {
        "job_num": hc.job.num,
        "output_dir_is_cwd": float(Path.cwd() == Path(hc.runtime.output_dir)),
        "env": float(os.environ.get("FAST_APP_ENV") == f"n{hc.job.num}"),
        "n_overrides": float(len(hc.overrides.task)),
        "width": float(cfg.model.width),
        "lr": float(cfg.lr),
        "depth": float(cfg.model.get("depth", -1)),
        "extra": float(cfg.get("extra", -1)),
        "out_name_len": float(len(Path(hc.runtime.output_dir).name)),
        "scratch_was_clean": scratch_was_clean,
        "draw": float(seeds.generator("init").random()),
        "db_size": float(OmegaConf.select(cfg, "db.size", default=-1)),
    }
    if cfg.fail_seed is not None and cfg.seed == cfg.fail_seed:
        raise RuntimeError("planted failure")
    return seen


if __name__ == "__main__":
    train()
