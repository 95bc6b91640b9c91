"""A sweep's run dirs: what seedexp sets in ``hydra.*`` to name them, and the one it never overwrites.

seedexp's config (``seedexp.yaml``) sets one Hydra setting: ``hydra/sweeper:
seedexp`` (an ``override`` in its defaults list). An app's own ``override
hydra/sweeper: optuna`` or ``hydra/sweeper=...`` on the command line wins.

Two more are applied by seedexp's sweeper when a sweep starts, on the sweep's
config (:func:`apply_sweep_settings`), so that they never replace a value of the
app's, whatever the order of its defaults list:

* ``hydra.sweep.subdir``: when it is Hydra's default (``${hydra.job.num}``) and
  the app composes seedexp's config (``- seedexp`` in its defaults list),
  each run dir is named after its overrides, secrets masked
  (:data:`seedexp.redact.DEFAULT_SUBDIR`, e.g. ``model=lr,seed=3``): a re-run
  of the same sweep, or the same sweep with more seeds, finds each run's record
  again (resume). Any other value the app sets (``${hydra.job.id}``, ...) is
  kept; a run dir that holds the record of another run is then refused, never
  overwritten (:func:`check_same_run`).
* ``hydra.job.config.override_dirname.exclude_keys``: seedexp adds the settings
  that do not change a run (:data:`seedexp.record.NON_RUN_SETTINGS` and their
  keys) to the app's own list, so they stay out of run dir names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..record import NON_RUN_SETTINGS, group_of
from ..redact import DEFAULT_SUBDIR

__all__ = ["HYDRA_DEFAULT_SUBDIR", "not_in_dir_names", "apply_sweep_settings", "check_same_run"]

#: Hydra's own ``hydra.sweep.subdir``: the job's number, which shifts when a sweep grows.
HYDRA_DEFAULT_SUBDIR = "${hydra.job.num}"


def not_in_dir_names(config: Any) -> list[str]:
    """The override keys that must not name run dirs: :data:`~seedexp.record.NON_RUN_SETTINGS` and their keys.

    Hydra's ``exclude_keys`` match whole keys, so every key of each block in
    ``config`` is listed (``report``, ``report.test``, ...).

    Examples
    --------
    >>> not_in_dir_names({"resume": True, "report": {"test": "t"}})
    ['resume', 'report', 'report.test', 'tracking', 'stop', 'isolation', 'timeout', 'memory_limit']
    """
    keys: list[str] = []
    for block in NON_RUN_SETTINGS:
        keys.append(block)
        node = config.get(block) if hasattr(config, "get") else None
        if isinstance(node, Mapping) or (node is not None and hasattr(node, "keys")):
            keys += [f"{block}.{k}" for k in node.keys()]
    return keys


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def apply_sweep_settings(config: Any) -> list[str]:
    """Apply seedexp's run-dir settings to a sweep's ``config`` (in place); return the Hydra overrides added.

    The overrides are also appended to ``hydra.overrides.hydra``, from which
    Hydra composes every job's config again (its launchers and the fast path).
    """
    from omegaconf import OmegaConf, open_dict, read_write

    added: list[str] = []
    sweep = OmegaConf.to_container(config.hydra.sweep, resolve=False)
    dirname = config.hydra.job.config.override_dirname
    ours = all(key in config for key in ("determinism", "report", "stop"))  # the app composes seedexp's config
    if ours and isinstance(sweep, dict) and sweep.get("subdir") == HYDRA_DEFAULT_SUBDIR:
        added.append(f"hydra.sweep.subdir={_quote(DEFAULT_SUBDIR)}")  # quoted: the grammar cannot nest ${}
    own = [str(k) for k in (dirname.exclude_keys or [])]
    missing = [k for k in not_in_dir_names(config) if k not in own]
    if missing:
        added.append("hydra.job.config.override_dirname.exclude_keys=["
                     + ",".join(_quote(k) for k in [*own, *missing]) + "]")
    if not added:
        return added
    with read_write(config.hydra), open_dict(config.hydra):
        if added[0].startswith("hydra.sweep.subdir="):
            config.hydra.sweep.subdir = DEFAULT_SUBDIR
        if missing:
            dirname.exclude_keys = [*own, *missing]
        config.hydra.overrides.hydra.extend(added)
    return added


def check_same_run(run_dir: Path, spec: Any) -> None:
    """Refuse a sweep's run dir that holds the record of another run (other overrides, or another given seed).

    With a ``hydra.sweep.subdir`` such as ``${hydra.job.id}`` a run dir is named
    after the job's position, not its configuration: a sweep extended with more
    seeds would put other runs in directories that hold finished records. A
    sweep's job calls this before :func:`seedexp.core.execute` (a single run's
    directory is the one its command names: it is the user's to reuse).
    ``spec``: the run's :class:`~seedexp.core.RunSpec`. Raises
    :class:`~seedexp.errors.ConfigError` before anything is written.
    """
    from ..sweepdir import existing_record

    record = existing_record(run_dir)
    if record is None:
        return
    theirs, ours = group_of(record.get("overrides") or []), group_of(spec.overrides)  # resume=... changes no run
    seed_differs = not spec.seed_drawn and spec.seed is not None and record.get("seed") != spec.seed \
        and not record.get("seed_drawn")
    if theirs == ours and not seed_differs:
        return
    raise ConfigError(f"{run_dir} holds the record of another run ({theirs}, seed {record.get('seed')}; its "
                      f"status: {record.get('status')}), not of this one ({ours}, seed "
                      f"{spec.seed}); nothing was run or overwritten. Give each run its own directory: seedexp's "
                      "default hydra.sweep.subdir names it after its overrides (or choose another hydra.sweep.dir)")
