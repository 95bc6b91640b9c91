"""The driver side of ``hydra/sweeper=seedexp_tune``: a tuning study through Hydra's launchers.

The study itself is :class:`seedexp.tuning.study.Search` (shared with
:func:`seedexp.tune`); this module turns its jobs into Hydra jobs. Each trial
is a configuration; its runs are the jobs ``<fixed overrides> <param>=<value>
... seed=<s>``, one per search seed, launched in one batch by the sweep's
launcher (basic, joblib, Ray, SLURM: the fast path where it applies), so each
run is an ordinary seedexp record. The search runs go to
``<hydra.sweep.dir>/search``, the finalists' fresh-seed runs to
``<hydra.sweep.dir>/fresh``, the study's files to ``<hydra.sweep.dir>``.

The search space is hydra-optuna-sweeper's: ``hydra.sweeper.params`` (or sweep
overrides on the command line) with ``interval(...)``, ``tag(log,
interval(...))``, ``range(...)`` (both ends included, as there) and
``choice(...)``; the seeds are the command line's ``seed=range(0,5)``; a
plain override is passed to every run unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..console import log as console
from ..errors import ConfigError
from ..record import RECORD_NAME, group_of
from ..sweepdir import read_record
from ..tuning.settings import Runner

__all__ = ["TuneDriver", "SWEEPER_KEYS"]

#: The sweeper's own settings (``hydra.sweeper.*``), as in ``conf/hydra/sweeper/seedexp_tune.yaml``.
SWEEPER_KEYS = ("sampler", "direction", "n_trials", "metric", "statistic", "finalists", "fresh_seeds", "adaptive",
                "seed", "params", "max_batch_size", "fast")


def _override_value(value: Any) -> str:
    """A parameter's value as Hydra reads it back (floats keep every digit: the group names them)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if any(c in text for c in " ,=()[]{}'\"\\:") or text in ("true", "false", "null", ""):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return text


def repin_sweep_dir(config: Any, sweep_dir: Path) -> None:
    """Point every later job at ``sweep_dir`` (the phase's directory), replacing an earlier pin."""
    from omegaconf import OmegaConf, open_dict, read_write

    from .plan import pin_sweep_dir

    given = OmegaConf.to_container(config.hydra.overrides.hydra, resolve=False)  # as given: ${...} unresolved
    with read_write(config.hydra), open_dict(config.hydra):
        kept = [o for o in given if not str(o).lstrip("+").startswith("hydra.sweep.dir=")]
        config.hydra.overrides.hydra = kept
    pin_sweep_dir(config, sweep_dir)


class _HydraRunner(Runner):
    """Runs a study's jobs with the sweep's launcher, a phase at a time in its own directory."""

    def __init__(self, driver: "TuneDriver", fixed: Sequence[str]) -> None:
        self.driver, self.fixed = driver, list(fixed)
        self.job_idx = 0
        self.phase: str | None = None

    def overrides(self, params: Mapping[str, Any], seed: int) -> list[str]:
        return [*self.fixed, *(f"{k}={_override_value(v)}" for k, v in params.items()), f"seed={seed}"]

    def plan(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        overrides = self.overrides(params, seed)
        return {"group": group_of(overrides), "seed": seed, "overrides": overrides}

    def run(self, phase: str, jobs: Sequence[tuple[Mapping[str, Any], int]]) -> list[dict[str, Any] | None]:
        from .plan import chunks
        from .task import config_error, run_dir_of

        if phase != self.phase:
            self.driver.enter(phase)
            self.phase = phase
        batch = [self.overrides(p, s) for p, s in jobs]
        found: dict[tuple[str, int], dict[str, Any]] = {}
        errors: list[str] = []
        for chunk in chunks(batch, self.driver.sweeper.max_batch_size):
            for r in self.driver.base.launch(chunk, self.job_idx):
                line = config_error(r.return_value)  # .return_value raises the job's own exception, if it raised
                if line is not None and line not in errors:
                    errors.append(line)
                run_dir = run_dir_of(r)
                if run_dir is None:
                    continue
                try:
                    record = read_record(run_dir / RECORD_NAME)
                except Exception:  # noqa: BLE001 - no record, or a broken one: a missing value
                    continue
                found[(record["group"], record["seed"])] = record
            self.job_idx += len(chunk)
            if errors:
                raise ConfigError(errors[0])
        return [found.get((group_of(o), s)) for o, (_, s) in zip(batch, jobs)]


class TuneDriver:
    """Runs a study for :class:`hydra_plugins.seedexp.tune_sweeper.SeedexpTuneSweeper`."""

    def __init__(self, sweeper: Any, config: Any, settings: Mapping[str, Any]) -> None:
        from .sweeper import SweepDriver

        self.sweeper, self.config, self.settings = sweeper, config, dict(settings)
        self.base = SweepDriver(sweeper, config, fast=bool(self.settings.get("fast", True)))
        self.root: Path | None = None

    def enter(self, phase: str) -> None:
        """Send the next jobs to ``<sweep dir>/<phase>`` (a fresh fast path composes with that dir)."""
        from .fast import FastPath

        repin_sweep_dir(self.config, self.root / phase)
        if self.base.fast is not None:
            self.base.fast.close()  # the last phase's workers end with it
        self.base.fast = FastPath.create(self.sweeper, self.config, enabled=bool(self.settings.get("fast", True)))

    # ------------------------------------------------------------------ settings

    def _split(self, arguments: list[str]) -> tuple[dict[str, str], list[str], list[int]]:
        """Search space (name -> text), fixed overrides, and the search seeds, from params + the command line."""
        from hydra.core.override_parser.overrides_parser import OverridesParser

        params = self.settings.get("params") or {}
        lines = [f"{k}={v}" for k, v in params.items()] + list(arguments)
        parser = OverridesParser.create(config_loader=self.sweeper.hydra_context.config_loader)
        space: dict[str, str] = {}
        fixed: list[str] = []
        seeds: list[int] | None = None
        for line in lines:
            try:
                override = parser.parse_override(line)
            except Exception as exc:  # noqa: BLE001 - the space's own checks say it in one line
                key, _, text = line.partition("=")
                from ..tuning.space import parse_space

                parse_space({key: text})  # raises the one-line error
                raise ConfigError(f"cannot read the override {line!r}: {exc}") from None
            key, _, text = line.partition("=")
            if override.key_or_group == "seed":
                if str(override.value()) == "auto":
                    raise ConfigError("seed=auto does not apply to a tuning study: give the search seeds "
                                      "(seed=range(0,5)); for adaptive seeds set hydra.sweeper.adaptive")
                values = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
                from ..api import _seeds

                seeds = _seeds(values)
            elif override.is_sweep_override():
                space[key] = text
            else:
                fixed.append(line)
        if seeds is None:
            raise ConfigError("a tuning study runs every trial on the same seeds: give them, e.g. seed=range(0,5)")
        return space, fixed, seeds

    def _settings(self, arguments: list[str]) -> tuple[Any, list[str]]:
        from omegaconf import OmegaConf

        from ..stats.options import check_options
        from ..tuning.space import parse_space
        from ..tuning.settings import STATISTICS, Adaptive, Settings, fresh_seed_list

        st = self.settings
        space_text, fixed, seeds = self._split(arguments)
        space = parse_space(space_text)
        report = self.base._report_options()
        opt = check_options(report, style="config")
        metric = st.get("metric")
        metrics = None if metric is None else ([str(metric)] if isinstance(metric, str) else [str(m) for m in metric])
        directions = _directions(st.get("direction"), metrics, dict(opt["higher_is_better"] or {}))
        statistic = st.get("statistic", "mean")
        if statistic not in STATISTICS:
            raise ConfigError(f"hydra.sweeper.statistic={statistic!r}: expected one of {', '.join(STATISTICS)}")
        for key, low in (("n_trials", 1), ("finalists", 1)):
            value = st.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"hydra.sweeper.{key}={value!r}: expected an integer >= {low}")
        adaptive_cfg = st.get("adaptive")
        if OmegaConf.is_config(adaptive_cfg):
            adaptive_cfg = OmegaConf.to_container(adaptive_cfg, resolve=True)
        try:
            ad = Adaptive.of(adaptive_cfg)
        except ConfigError as exc:
            raise ConfigError(f"hydra.sweeper.{exc}") from None
        if ad is not None and ad.min_seeds > len(seeds):
            raise ConfigError(f"hydra.sweeper.adaptive.min_seeds={ad.min_seeds} is more than the {len(seeds)} "
                              "search seeds; give more seeds or a smaller min_seeds")
        fresh = st.get("fresh_seeds")
        if OmegaConf.is_config(fresh):
            fresh = OmegaConf.to_container(fresh, resolve=True)
        target, seed_used, make = _sampler(st)
        node = self.config.get("experiment")
        experiment = str(node.get("_target_")) if node is not None and hasattr(node, "get") and node.get("_target_") \
            else str(getattr(self.sweeper.launcher.task_function, "__qualname__", "task"))
        settings = Settings(experiment=experiment, space=space, seeds=seeds, metrics=metrics, statistic=statistic,
                            sampler=str(target or "optuna.samplers.TPESampler"), sampler_seed=seed_used, adaptive=ad,
                            directions=directions, n_trials=st["n_trials"], finalists=st["finalists"],
                            fresh_seeds=fresh_seed_list(seeds, fresh), report={**report, "confidence": opt["confidence"]})
        return (settings, make), fixed

    # ------------------------------------------------------------------ the sweep

    def sweep(self, arguments: list[str]) -> Any:
        """Check everything, then search, re-check the finalists, write and print the study."""
        from omegaconf import OmegaConf

        from ..tuning.report import write_files
        from ..tuning.study import Search
        from ..redact import remember
        from .secrets import redacted_yaml
        from ..sweepdir import clean_orphans, sweep_lock, write_text_atomic

        self.root = self.base._sweep_dir()
        remember(OmegaConf.to_container(self.config, resolve=False), arguments)  # logs are redacted
        (settings, make), fixed = self._settings(arguments)
        tracking = self.base._tracking()
        runner = _HydraRunner(self, fixed)
        self.base._isolation()  # isolation, timeout, memory_limit: checked before any run
        with sweep_lock(self.root):
            clean_orphans(self.root)
            write_text_atomic(self.root / "multirun.yaml", redacted_yaml(self.config))
            search = Search(settings, runner, self.root, make, progress=sys.stderr.isatty())
            try:
                data = search.run()
            finally:
                if self.base.fast is not None:
                    self.base.fast.close()  # its workers end with the study
            write_files(self.root, data)
        if tracking is not None:
            from ..tracking import send

            for phase, summary in data["_summaries"].items():
                if summary is not None:
                    for line in send(self.root / phase, summary, tracking):
                        console.warning(f"seedexp: warning: {line}")
        print_study(data, self.root)
        return []


def _directions(direction: Any, metrics: list[str] | None, directions: dict[str, bool]) -> dict[str, bool]:
    """``hydra.sweeper.direction`` (maximize / minimize per metric) merged into ``report.higher_is_better``."""
    if direction is None:
        return directions
    given = [direction] if isinstance(direction, str) else list(direction)
    if any(d not in ("maximize", "minimize") for d in given):
        raise ConfigError(f"hydra.sweeper.direction={direction!r}: expected maximize, minimize, a list of "
                          "them, or null (from report.higher_is_better)")
    if metrics is None or len(metrics) != len(given):
        raise ConfigError("hydra.sweeper.direction needs hydra.sweeper.metric (one direction per metric); "
                          "or leave it null and set report.higher_is_better")
    for m, d in zip(metrics, given):
        if m in directions and directions[m] != (d == "maximize"):
            raise ConfigError(f"hydra.sweeper.direction={d} contradicts report.higher_is_better.{m}="
                              f"{str(directions[m]).lower()}; keep one")
        directions[m] = d == "maximize"
    return directions


def _sampler(st: Mapping[str, Any]) -> tuple[Any, int, Any]:
    """``hydra.sweeper.sampler``: its ``_target_``, the seed it gets, and a function making it (made once now)."""
    from omegaconf import OmegaConf

    from ..seeds import SeedPlan, check_seed
    from ..tuning.settings import import_optuna

    import_optuna()
    master = check_seed(st.get("seed", 0), "hydra.sweeper.seed")
    sampler_seed = SeedPlan(master).seed("tune.sampler")
    sampler_cfg = st.get("sampler")
    target = None
    if sampler_cfg is not None:
        target = OmegaConf.select(sampler_cfg, "_target_") if OmegaConf.is_config(sampler_cfg) \
            else dict(sampler_cfg).get("_target_")
    if sampler_cfg is not None and target is None:
        raise ConfigError("hydra.sweeper.sampler needs a _target_, e.g. optuna.samplers.TPESampler")
    given_seed = OmegaConf.select(sampler_cfg, "seed", default=None) if OmegaConf.is_config(sampler_cfg) else None
    seed_used = sampler_seed if given_seed is None else int(given_seed)

    def make() -> Any:
        import warnings

        from hydra.utils import instantiate

        optuna = import_optuna()
        if sampler_cfg is None:
            return optuna.samplers.TPESampler(seed=seed_used)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return instantiate(sampler_cfg, seed=seed_used)

    try:
        make()  # a broken _target_ fails before any run
    except Exception as exc:  # noqa: BLE001
        from .task import error_line

        raise ConfigError(f"hydra.sweeper.sampler cannot be made: {error_line(exc)}") from None
    return target, seed_used, make


def print_study(data: Mapping[str, Any], root: Path) -> None:
    """What a person reads at the end of a study: the verdict, the best configuration, the finalists."""
    from ..tuning.report import to_markdown

    text = to_markdown(data)
    head = text.split("## Trials")[0].rstrip()
    console.info(head)
    console.info(f"\nstudy: {root / 'tuning.md'} (also tuning.json, trials.csv, finalists.csv, tuning.png); "
          f"runs: seedexp report {root / 'search'} | {root / 'fresh'}")
