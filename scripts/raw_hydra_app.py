"""What a user writes by hand: a minimal Hydra app that seeds the globals and calls the experiment.

    python scripts/raw_hydra_app.py -m experiment=busy 'seed=range(0,50)'

The baseline of scripts/bench_overhead.py (no records, no summary).
"""

import random
import time

import hydra
import numpy as np
from hydra.utils import instantiate

from seedexp import SeedPlan


@hydra.main(version_base=None, config_path="conf", config_name="raw")
def main(cfg):
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    fn = instantiate(cfg.experiment, _partial_=True)
    t0 = time.perf_counter()
    out = fn(seeds=SeedPlan(cfg.seed))
    with open("durations.txt", "a") as handle:  # instrumentation for the benchmark, in the cwd
        handle.write(f"{time.perf_counter() - t0}\n")
    return out


if __name__ == "__main__":
    main()
