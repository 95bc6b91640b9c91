"""A sweep's plan, from the command line to the list of jobs: no run, no file.

The seedexp sweeper (:mod:`seedexp.hydra.sweeper`) owns its batch loop, so the
jobs of a sweep are made here from the parsed overrides: the cartesian
product of their values (:func:`expand`, the order of Hydra's basic sweeper),
cut into batches of ``max_batch_size``. Also here: what each job is
(:func:`planned_runs`), the checks made before any run, ``seed=auto``'s
overrides, and how many jobs the launcher runs at once
(:func:`launcher_parallelism`), which the fast path and the adaptive sweep read.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import ConfigError
from ..record import group_of

__all__ = ["AUTO_SEED", "expand", "batches", "params_overrides", "planned_runs", "check_plan", "check_run_dirs_inside",
           "pin_sweep_dir", "split_auto_seed", "stop_block", "check_stop_unused", "launcher_parallelism", "chunks"]

#: The value of ``seed`` that makes a sweep adaptive.
AUTO_SEED = "auto"


def params_overrides(params: Mapping[str, Any] | None) -> list[str]:
    """``hydra.sweeper.params`` as overrides (``{"a": "1,2"}`` -> ``["a=1,2"]``), before the command line's."""
    return [f"{key}={value}" for key, value in (params or {}).items()]


def expand(overrides: Sequence[Any]) -> list[list[str]]:
    """Every job of a sweep: the cartesian product of the values of the parsed overrides.

    A key given twice keeps the place of its first mention and the value of its
    last, as Hydra's basic sweeper does; a value that is not a list, a range
    or a single value (``interval(0,1)``) is refused in one line.
    """
    values: dict[str, list[str]] = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            values[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            values[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise ConfigError(f"{override.input_line}: the seedexp sweeper sweeps lists and ranges (a=1,2 or "
                              "'seed=range(0,30)'), not intervals; give the values")
    return [list(job) for job in itertools.product(*values.values())]


def batches(jobs: list[list[str]], max_batch_size: int | None) -> list[list[list[str]]]:
    """``jobs`` in batches of ``max_batch_size`` (all in one batch when it is None)."""
    return list(chunks(jobs, max_batch_size)) if jobs else [jobs]


def chunks(batch: list[list[str]], size: int | None) -> Iterator[list[list[str]]]:
    """Slices of ``batch`` of ``size`` jobs (one slice of all when ``size`` is None or not positive)."""
    size = size if size and size > 0 else len(batch)
    for i in range(0, len(batch), size):
        yield batch[i:i + size]


def planned_runs(batches: Sequence[Sequence[Sequence[str]]]) -> list[dict[str, Any]]:
    """One entry per job: its overrides, group (overrides minus seed) and seed."""
    planned = []
    for batch in batches:
        for job in batch:
            seed: Any = None
            for item in job:
                key, _, value = item.partition("=")
                if key.lstrip("+~") == "seed":
                    try:
                        seed = int(value)
                    except ValueError:
                        seed = value
            planned.append({"group": group_of(job), "seed": seed, "overrides": list(job)})
    return planned


def check_plan(overrides: Sequence[Any], planned: list[dict[str, Any]]) -> None:
    """Before any run: a sweep that plans no run, or a planned seed that is not one, is one line (not half a sweep).

    ``overrides``: the parsed overrides (an empty sweep such as ``seed=range(0,0)`` is named);
    ``planned``: :func:`planned_runs`. A seed given by an interpolation is checked when its run resolves it.
    """
    from ..seeds import check_seed

    if not planned:
        empty = next((o.input_line for o in overrides if o.is_sweep_override() and not list(o.sweep_iterator())), None)
        what = f"{empty} gives no value" if empty else "the overrides give no job"
        raise ConfigError(f"{what}, so the sweep has no run; give at least one, e.g. 'seed=range(0,30)'")
    for run in planned:
        seed = run["seed"]
        if isinstance(seed, str) and "${" not in seed and seed.strip().lower() not in ("null", "none"):
            check_seed(seed, "seed")  # seed=null draws OS entropy (recorded): fine


def check_run_dirs_inside(planned: list[dict[str, Any]], default_subdir: bool = True) -> None:
    """Run dirs are named after override values: a value with ``..`` path parts could escape the sweep dir.

    An absolute value (``data.path=/data/x.csv``) stays inside under the
    default ``hydra.sweep.subdir`` (``KEY=VALUE,...``: the name starts with its
    key); with another subdir it may be the whole name, so it is refused too.
    """
    for run in planned:
        for item in run["overrides"]:
            value = item.partition("=")[2]
            if ".." in Path(value).parts or (value.startswith("/") and not default_subdir):
                raise ConfigError(f"override {item!r} would put its run directory outside hydra.sweep.dir "
                                  "(a '..' or absolute path in a swept value); use values without '/'")


def pin_sweep_dir(config: Any, sweep_dir: Path) -> None:
    """Give every job the absolute sweep dir (a job composes its config again from the overrides).

    A relative ``hydra.sweep.dir`` means another directory in a job that
    changes its cwd (``hydra.job.chdir``) or runs on another node (Ray, SLURM).
    """
    from omegaconf import open_dict, read_write

    # Hydra's quoted strings unescape only backslashes before a quote or at the end
    quoted = "'" + re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), str(sweep_dir)) + "'"
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(sweep_dir)
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir={quoted}")


# --------------------------------------------------------------------------- seed=auto


def split_auto_seed(overrides: list[Any]) -> tuple[bool, list[Any]]:
    """Take a plain ``seed=auto`` out of the parsed overrides: ``(adaptive?, the other overrides)``."""
    auto = [o for o in overrides if o.key_or_group == "seed" and not o.is_sweep_override()
            and not o.is_delete() and o.value() == AUTO_SEED]
    if not auto:
        return False, overrides
    rest = [o for o in overrides if all(o is not a for a in auto)]
    other = next((o for o in rest if o.key_or_group == "seed"), None)
    if other is not None:
        raise ConfigError(f"seed=auto and {other.input_line or 'another seed'} both set the seeds; keep one: "
                          "seed=auto picks seeds 0, 1, 2, ... until the stop.* target is met")
    return True, rest


def stop_block(config: Any) -> Any:
    """The ``stop:`` block of the config as plain values ({} when the config has none)."""
    from omegaconf import OmegaConf

    block = config.get("stop")
    if block is None:
        return {}
    return OmegaConf.to_container(block, resolve=True) if OmegaConf.is_config(block) else block


def check_stop_unused(config: Any) -> None:
    """``stop.*`` settings only act with ``seed=auto``: set without it, they are a slip (ConfigError)."""
    from ..sequential import StopRule

    block = stop_block(config)
    defaults = {f.name: f.default for f in dataclasses.fields(StopRule)}
    if not isinstance(block, Mapping):
        changed = [f"stop={block!r}"]
    else:
        changed = [f"stop.{k}={v!r}" for k, v in block.items() if k not in defaults or v != defaults[k]]
    if changed:
        raise ConfigError(f"{changed[0]} has no effect without seed=auto: replace the seed list with 'seed=auto' "
                          "to stop when the target is met, or drop the stop.* settings")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def launcher_parallelism(config: Any, max_batch_size: int | None) -> int:
    """How many jobs the sweep's launcher runs at once, read from its config.

    joblib: ``hydra.launcher.n_jobs`` (negative counts back from the CPUs, as
    joblib does: -1 is every CPU); SLURM (submitit): ``array_parallelism``; Ray
    started on this machine: its CPUs / ``ray.remote.num_cpus``. Otherwise the
    sweeper's ``max_batch_size`` if set, else 1: the basic launcher runs one job
    after another (and a Ray cluster's size is not in the config: set
    ``stop.batch`` there).
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    def get(key: str) -> Any:
        try:
            return OmegaConf.select(config, key, default=None)
        except OmegaConfBaseException:  # an interpolation that does not resolve here
            return None

    n_jobs = _count(get("hydra.launcher.n_jobs"))
    if n_jobs:
        return n_jobs if n_jobs > 0 else max(1, _cpus() + 1 + n_jobs)
    array = _count(get("hydra.launcher.array_parallelism"))
    if array and array > 0:
        return array
    if get("hydra.launcher.ray") is not None and get("hydra.launcher.ray.init.address") is None:
        cpus = _count(get("hydra.launcher.ray.init.num_cpus")) or _cpus()
        per = get("hydra.launcher.ray.remote.num_cpus")
        per = per if isinstance(per, (int, float)) and not isinstance(per, bool) and per > 0 else 1
        return max(1, int(cpus // per))
    return max_batch_size if max_batch_size and max_batch_size > 0 else 1
