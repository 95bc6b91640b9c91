"""``seed=auto``: the batch loop of an adaptive sweep (seeds 0, 1, 2, ... until the stop rule is met).

:class:`AdaptiveSweep` plans batch by batch; after each batch
:func:`seedexp.sequential.check` decides from the records whether the
``stop.*`` target is met. ``sweep.json`` lists the runs planned so far (it
grows batch by batch), and ``stopping.json`` holds the latest decision.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..console import log as console
from ..errors import ConfigError, RecordError
from ..record import RECORD_NAME, group_of
from ..sweepdir import STOPPING_NAME, load_stopping, read_record, write_plan, write_stopping
from .plan import chunks, expand, launcher_parallelism, planned_runs, stop_block
from .task import config_error, run_dir_of

__all__ = ["AdaptiveSweep"]


class AdaptiveSweep:
    """The batch loop of ``seed=auto``: seeds 0, 1, 2, ... of every group until the stop rule is met.

    Each batch runs seeds ``done .. done + n - 1`` of every group (``n`` from
    :func:`seedexp.sequential.next_batch`: ``stop.batch``, else as many seeds as
    keep the launcher's parallel slots busy — :func:`launcher_parallelism` jobs
    divided among the groups, at least 1). The batch's records are read from
    their run dirs, and :func:`seedexp.sequential.check` decides on the primary
    metric of seeds ``0 .. done + n - 1``. A failed run counts as a missing value.

    The seeds are always a prefix of 0, 1, 2, ..., so the runs are those of the
    fixed sweep ``seed=range(0, N)``: a re-run of the same command finds them
    complete (the run core's resume), reaches the same decision at the same seed
    count, and goes on from there if the first one was cut short.

    Use :meth:`from_config` (it validates everything that can be checked before
    a run); :meth:`run` launches.
    """

    def __init__(self, sweeper: Any, rule: Any, groups: list[list[str]], sweep_dir: Path, *, parallelism: int,
                 primary_metric: str | None = None, directions: Mapping[str, bool] | None = None) -> None:
        self.sweeper, self.rule, self.groups, self.sweep_dir = sweeper, rule, groups, sweep_dir
        self.names = [group_of(g) for g in groups]
        self.parallelism = parallelism
        self.seeds_per_batch = max(1, parallelism // len(groups))
        self.primary_metric = primary_metric  # report.primary_metric, if set
        self.directions = dict(directions or {})  # report.higher_is_better, if set
        self.metric: str | None = None
        self.metric_source = ""
        self.planned: list[dict[str, Any]] = []
        self.done = 0
        self.metrics: dict[tuple[str, int], dict[str, Any] | None] = {}  # (group, seed) -> metrics of an ok run
        self.decision: Any = None
        self.halted: str | None = None
        self.looks: list[int] = []  # the seed counts this sweep looked at (the group-sequential design spends over them)

    @classmethod
    def from_config(cls, sweeper: Any, config: Any, overrides: list[Any], sweep_dir: Path) -> "AdaptiveSweep":
        """Check ``stop.*`` and the groups, before anything runs (one-line ConfigError)."""
        from ..stats.summary import resolve_baseline
        from ..sequential import StopRule, check

        rule = StopRule.from_config(stop_block(config))  # also: no target at all -> one line
        groups = expand(overrides)
        names = [group_of(g) for g in groups]
        if len(set(names)) != len(names):
            raise ConfigError("two configurations of this sweep differ only in stop.* or report.* settings; "
                              "sweep those settings in separate sweeps")
        if rule.decide and len(names) < 2:  # check's own message, before the baseline's
            check(dataclasses.replace(rule, baseline=names[0]), {names[0]: []})
        if rule.baseline is not None:
            try:
                rule = dataclasses.replace(rule, baseline=resolve_baseline(rule.baseline, names))
            except ConfigError as exc:
                raise ConfigError(f"stop.{exc}") from None
        check(rule, {name: [] for name in names})  # decide=true with a single group -> one line
        report = config.get("report") or {}
        primary = report.get("primary_metric") if isinstance(report, Mapping) else None
        directions = report.get("higher_is_better") if isinstance(report, Mapping) else None
        return cls(sweeper, rule, groups, sweep_dir,
                   parallelism=launcher_parallelism(config, sweeper.max_batch_size),
                   primary_metric=str(primary) if primary else None,
                   directions=directions if isinstance(directions, Mapping) else None)

    # -- plan and state on disk

    def jobs(self, first: int, n: int) -> list[list[str]]:
        """The jobs of seeds ``first .. first + n - 1``, seed by seed, every group for each seed."""
        return [[*g, f"seed={k}"] for k in range(first, first + n) for g in self.groups]

    def write_plan(self) -> None:
        """``sweep.json``: every run planned so far (the summary counts those without a record as missing)."""
        write_plan(self.sweep_dir, self.planned, adaptive={
            "stop": self.rule.to_dict(), "groups": self.names, "seeds_per_batch": self.seeds_per_batch,
            "seeds_done": self.done})

    def stopping(self) -> dict[str, Any] | None:
        """What ``stopping.json`` holds: the latest decision, with the metric it watched."""
        if self.decision is None:
            return None
        out = {**self.decision.to_dict(), "metric": self.metric,
               "metric_source": self.metric_source, "seeds_per_batch": self.seeds_per_batch}
        if self.halted:
            out.update(stop=True, cause="failed_runs", reason=self.halted)
        return out

    # -- the loop

    def run(self, errors: list[str], launch: Callable[[Sequence[Sequence[str]], int], Iterable[Any]],
            progress: Any = None) -> None:
        """Launch batch after batch (``launch(jobs, first index)``) until the rule stops the sweep.

        Errors that stop it go to ``errors``.
        """
        from ..sequential import check, next_batch

        sw = self.sweeper
        prior = self._prior_looks()
        console.info(f"seedexp: seed=auto: {self._target_text()}; seeds 0, 1, 2, ... of {len(self.groups)} "
                     f"configuration(s), {self.rule.batch or self.seeds_per_batch} seed(s) per batch after the first "
                     f"{self.rule.min_seeds}")
        job_idx = 0
        while True:
            n = next_batch(self.rule, self.done, self.seeds_per_batch)
            if n == 0:
                break
            batch = self.jobs(self.done, n)
            self.planned.extend(planned_runs([batch]))
            self.write_plan()
            if progress is not None:
                progress.total = len(self.planned)
            for chunk in chunks(batch, sw.max_batch_size):
                results = launch(chunk, job_idx)
                job_idx += len(chunk)
                for r in results:
                    line = config_error(r.return_value)  # .return_value raises the job's own exception, if it raised
                    if line is not None and line not in errors:
                        errors.append(line)
                    self._read(r)
            if errors:  # what was asked cannot run: stop after this batch
                break
            self.done += n
            self._choose_metric()
            self.looks.append(self.done)
            self.decision = check(self.rule, self._series(),
                                  looks=sorted({*(k for k in prior if k <= self.done), *self.looks}))
            self._check_failures()
            self.write_plan()
            write_stopping(self.sweep_dir, self.stopping())
            console.info(f"seedexp: seed=auto: {self.halted or self.decision.reason}")
            if self.decision.stop or self.halted:
                break

    def _prior_looks(self) -> list[int]:
        """Seed counts an earlier run of this same sweep (same rule) looked at, from its ``stopping.json``.

        A resumed sweep replays its batches; looks it makes differently this time
        (another batch size) are added to these, never put in their place.
        """
        old, _ = load_stopping(self.sweep_dir)
        if not isinstance(old, dict) or old.get("rule") != self.rule.to_dict() or not isinstance(old.get("looks"), list):
            return []
        return [k for k in old["looks"] if isinstance(k, int) and not isinstance(k, bool) and k > 0]

    def _read(self, job_return: Any) -> None:
        """Remember the metrics of the job's record (None when it is not ok), by its group and seed."""
        run_dir = run_dir_of(job_return)
        if run_dir is None:
            return
        try:
            record = read_record(run_dir / RECORD_NAME)
        except RecordError:
            return  # no record, or a broken one: a missing value (the summary names it)
        self.metrics[(record["group"], record["seed"])] = record["metrics"] if record["status"] == "ok" else None

    def _choose_metric(self) -> None:
        """The primary metric: stop.metric, else report.primary_metric, else the first name alphabetically."""
        if self.metric is not None:
            return
        names = sorted({m for metrics in self.metrics.values() if metrics for m in metrics})
        if not names:
            return  # no run ok yet: decided after a later batch
        for wanted, source in ((self.rule.metric, "stop.metric"), (self.primary_metric, "report.primary_metric")):
            if wanted is not None:
                if wanted not in names:
                    raise ConfigError(f"{source}={wanted!r} is not a metric of these runs; they report: "
                                      f"{', '.join(names)}")
                self.metric, self.metric_source = wanted, source
                break
        else:
            self.metric, self.metric_source = names[0], "the first metric alphabetically; set stop.metric to choose"
        console.info(f"seedexp: seed=auto: the stop rule watches {self.metric} ({self.metric_source})")
        self._warn_direction()

    def _warn_direction(self) -> None:
        from ..stats.options import higher_is_better_default

        if not self.rule.decide or self.metric is None:
            return
        report_says = self.directions.get(self.metric, higher_is_better_default(self.metric))
        if report_says != self.rule.higher_is_better:
            console.warning(f"seedexp: warning: stop.higher_is_better={str(self.rule.higher_is_better).lower()} but "
                            f"the summary takes {self.metric} as {'higher' if report_says else 'lower'} is better "
                            "(report.higher_is_better, or its name); 'better' and 'worse' in the stop verdicts follow "
                            "stop.higher_is_better: set it to match")

    def _series(self) -> dict[str, list[float | None]]:
        def value(metrics: dict[str, Any] | None) -> float | None:
            if not metrics or self.metric is None:
                return None
            v = metrics.get(self.metric)
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

        return {name: [value(self.metrics.get((name, k))) for k in range(self.done)] for name in self.names}

    def _check_failures(self) -> None:
        """A configuration with no usable value after min_seeds seeds would run to max_seeds for nothing."""
        if self.decision.stop or self.done < self.rule.min_seeds:
            return
        for g in self.decision.groups:
            if g.n == 0:
                what = self.metric or "metric"
                self.halted = (f"no run of {g.group} gave a finite {what} in seeds 0-{self.done - 1}, so no number "
                               f"of seeds can meet the target: fix the experiment (the summary lists the failures), "
                               "then re-run the same command")
                console.error(f"seedexp: error: {self.halted}")
                return

    def _target_text(self) -> str:
        rule, parts = self.rule, []
        if rule.halfwidth is not None:
            parts.append(f"every configuration's {rule.level_text} half-width <= {rule.halfwidth:g}")
        if rule.decide:
            parts.append(f"every comparison with {rule.baseline} decided")
        most = f"at most {rule.max_seeds} seeds" if rule.max_seeds is not None else "no maximum"
        return f"stop when {' or '.join(parts)}, {most} ({rule.resolved_design.replace('_', '-')} design)"

    def final_line(self) -> str:
        """The last line of the sweep: why it stopped (or that it did not), after how many seeds."""
        if self.halted:
            return f"seedexp: seed=auto stopped after {self.done} seeds: {self.halted}"
        if self.decision is None:
            return (f"seedexp: seed=auto: no decision after {self.done} seeds (the sweep ended before one); "
                    "re-run the same command to go on")
        if not self.decision.stop:
            return (f"seedexp: seed=auto did not finish ({self.decision.reason}); re-run the same command to go on "
                    f"from seed {self.done}")
        return f"seedexp: seed=auto stopped: {self.decision.reason} (details: {self.sweep_dir / STOPPING_NAME})"
