"""The driver side of a Hydra sweep: plan, launch in batches, then say what happened, and the exit code.

:class:`SweepDriver` does the work of the ``seedexp`` sweeper
(:class:`hydra_plugins.seedexp.sweeper.SeedexpSweeper`, a plain Hydra
``Sweeper``): it plans the jobs (:mod:`seedexp.hydra.plan`), runs them batch
by batch (the fast path, :mod:`seedexp.hydra.fast`, where the launcher
allows it) inside the one sweep lifecycle (:func:`seedexp.lifecycle.run_sweep`:
lock, ``sweep.json``, summary whatever happened), and prints the summary.
Hydra's ``on_multirun_end`` receives no job results and does not fire when a
job failed, so the sweep's end belongs here. ``seed=auto`` makes the sweep
adaptive (:class:`seedexp.hydra.adaptive.AdaptiveSweep`).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from hydra.errors import CompactHydraException

from ..console import log as console
from ..errors import ConfigError, SeedexpError, SweepError
from ..lifecycle import Outcome, run_sweep
from ..record import MAX_RECORD_BYTES, RECORD_NAME
from ..redact import check_subdir, is_default_subdir, redact_text, remember
from .secrets import redacted_yaml
from ..stats.options import Options
from ..stats.summary import all_ok, not_ok_line
from ..supervise import FORK_LOCK
from ..sweepdir import read_json, write_text_atomic
from ._compat import job_value
from .adaptive import AdaptiveSweep
from .app import logging_error_line
from .fast import FastPath
from .plan import (
    batches, check_plan, check_run_dirs_inside, check_stop_unused, expand, params_overrides, pin_sweep_dir,
    planned_runs, split_auto_seed,
)
from .run_dirs import apply_sweep_settings
from .task import config_error, error_line, full_error, small_return

__all__ = ["SweepDriver", "SweepStopped", "reported_to_hydra", "EXIT_OK", "EXIT_RUNS", "EXIT_USAGE"]

#: Exit codes of a sweep: every planned run ok / a planned run not ok / what was asked cannot run.
EXIT_OK, EXIT_RUNS, EXIT_USAGE = 0, 1, 2


class _Progress(threading.Thread):
    """A live line (done / failed / ETA) fed by the records as they appear, on a terminal only."""

    fork_safe = True  # it works under seedexp.supervise.FORK_LOCK: a worker is never forked mid-draw

    def __init__(self, sweep_dir: Path, total: int) -> None:
        super().__init__(name="seedexp-progress", daemon=True)
        self.sweep_dir, self.total = sweep_dir, total
        self.started = time.time() - 1.0
        self.stop_event = threading.Event()
        self.status: dict[Path, tuple[str, float]] = {}

    def _scan(self) -> None:
        for path in self.sweep_dir.rglob(RECORD_NAME):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if mtime < self.started or self.status.get(path, ("", 0))[1] == mtime:
                continue
            data, why = read_json(path, MAX_RECORD_BYTES)
            status = data.get("status", "?") if why is None and isinstance(data, dict) else "running"
            if status != "running":
                self.status[path] = (status, mtime)

    def run(self) -> None:
        from ..supervise import progress_bar as tqdm  # no monitor thread: the runs' workers are forked

        with tqdm(total=self.total, unit="run", desc="sweep", dynamic_ncols=True, leave=False) as bar:
            while True:
                stopping = self.stop_event.wait(0.5)
                with FORK_LOCK:
                    self._scan()
                    bar.total = self.total  # an adaptive sweep plans batch by batch
                    bar.n = len(self.status)
                    bar.set_postfix(failed=sum(1 for s, _ in self.status.values() if s != "ok"), refresh=False)
                    bar.refresh()
                if stopping:
                    break

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


class SweepDriver:
    """Runs a sweep for :class:`hydra_plugins.seedexp.sweeper.SeedexpSweeper`."""

    def __init__(self, sweeper: Any, config: Any, fast: bool = True) -> None:
        self.sweeper, self.config = sweeper, config
        apply_sweep_settings(config)  # run dirs named after overrides, unless the app names them itself
        self.fast = FastPath.create(sweeper, config, enabled=fast)
        self.returns: list[list[Any]] = []  # every batch's JobReturns, as Hydra's sweepers return them
        self.skipped = 0  # runs resumed from their complete records

    def launch(self, batch: Sequence[Sequence[str]], initial_job_idx: int) -> Iterable[Any]:
        """Run a batch of jobs: the fast path where the launcher allows it (:mod:`seedexp.hydra.fast`).

        Each JobReturn is kept for :meth:`sweep` to return, its value cut to the
        run's status (the record is on disk): a fast-path return holds no config.
        """
        if self.fast is not None:
            results: Iterable[Any] = self.fast.launch(batch, initial_job_idx)
        else:
            self.sweeper.validate_batch_is_legal(batch)
            results = self.sweeper.launcher.launch(batch, initial_job_idx=initial_job_idx)
        kept: list[Any] = []
        self.returns.append(kept)
        for r in results:
            value = job_value(r)
            self.skipped += isinstance(value, dict) and bool(value.get("resumed"))  # resumed from its record
            kept.append(small_return(r))
            yield r

    def _sweep_dir(self) -> Path:
        text = str(self.config.hydra.sweep.dir or "").strip()
        if not text:
            raise ConfigError("hydra.sweep.dir is empty; give the sweep a directory, e.g. hydra.sweep.dir=multirun/my_study")
        return Path(text).absolute()

    def _default_subdir(self) -> bool:
        """Is ``hydra.sweep.subdir`` seedexp's default, the job's ``override_dirname``?"""
        from omegaconf import OmegaConf

        node = OmegaConf.to_container(self.config.hydra.sweep, resolve=False)
        return isinstance(node, dict) and is_default_subdir(node.get("subdir"))

    def _tracking(self) -> Any:
        """The ``tracking:`` settings, checked before any run (a typo or a missing extra stops here)."""
        from omegaconf import OmegaConf

        node = self.config.get("tracking")
        if node is None:
            return None
        value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        if isinstance(value, dict) and not value.get("backend"):
            return None
        from ..tracking import check_config

        check_config(value)
        return value

    def _isolation(self) -> None:
        """``isolation``, ``timeout``, ``memory_limit``: checked before any run (:mod:`seedexp.hydra.supervised`)."""
        if self.fast is not None:
            self.fast.isolate()
        else:
            from .supervised import refuse_limits

            refuse_limits(self.config, "this sweep takes Hydra's per-job path (hydra.sweeper.fast=false, another "
                                       "launcher, hydra.callbacks, or hydra.launcher.timeout)")

    def _report_options(self) -> Options:
        from omegaconf import OmegaConf

        from ..stats.options import check_options

        options = self.config.get("report")
        given = dict(OmegaConf.to_container(options, resolve=True)) if options else {}
        return check_options(given, style="config")  # before any run: a typo here must not cost the sweep

    def sweep(self, arguments: list[str]) -> Any:
        """Plan, launch batch by batch, then write and print the summary; exit non-zero unless all runs are ok.

        With ``seed=auto`` among the overrides the batches are those of :class:`AdaptiveSweep`.
        """
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        sw = self.sweeper
        sweep_dir = self._sweep_dir()
        parser = OverridesParser.create(config_loader=sw.hydra_context.config_loader)
        given = [*params_overrides(sw.params), *arguments]
        remember(OmegaConf.to_container(self.config, resolve=False), given)  # launch lines and logs are redacted
        check_subdir(OmegaConf.to_container(self.config.hydra.sweep, resolve=False).get("subdir"), given)
        overrides = parser.parse_overrides(given)
        auto, overrides = split_auto_seed(overrides)
        adaptive: AdaptiveSweep | None = None
        jobs: list[list[list[str]]] = []
        if auto:
            adaptive = AdaptiveSweep.from_config(sw, self.config, overrides, sweep_dir)  # checks stop.* now
            planned = adaptive.planned
            check_run_dirs_inside(planned_runs([adaptive.jobs(0, 1)]), self._default_subdir())
        else:
            check_stop_unused(self.config)
            jobs = batches(expand(overrides), sw.max_batch_size)
            planned = planned_runs(jobs)
            check_plan(overrides, planned)
            check_run_dirs_inside(planned, self._default_subdir())
        report_options = self._report_options()
        tracking = self._tracking()
        self._isolation()
        pin_sweep_dir(self.config, sweep_dir)
        progress = _Progress(sweep_dir, len(planned)) if sys.stderr.isatty() else None
        del planned  # sweep.json gets it again from the jobs: a 10,000-run sweep does not hold two copies

        def prepare() -> None:
            if adaptive is not None:
                adaptive.write_plan()
            write_text_atomic(sweep_dir / "multirun.yaml", redacted_yaml(self.config))

        def launch(errors: list[str]) -> None:
            if progress is not None:
                progress.start()
            try:
                if adaptive is not None:
                    adaptive.run(errors, self.launch, progress)
                else:
                    self._launch_all(jobs, errors)
            finally:
                if progress is not None:
                    progress.stop()

        def explain(exc: Exception) -> str | None:  # a later job's overrides do not compose, a log file cannot open
            return error_line(exc) if isinstance(exc, (HydraException, OmegaConfBaseException)) \
                else logging_error_line(exc)

        try:
            outcome = run_sweep(sweep_dir, launch, options=report_options,
                                plan=None if adaptive is not None else lambda: planned_runs(jobs),
                                prepare=prepare, tracking=tracking, explain=explain)
        finally:
            if self.fast is not None:
                self.fast.close()  # its workers end with the sweep
        if self.skipped:
            console.info(f"seedexp: {self.skipped} run(s) skipped: their records in {sweep_dir} were complete, of "
                         "the same configuration and code (resume); resume=false runs them again")
        code, line = self._finish(sweep_dir, outcome)
        if adaptive is not None:
            console.info(adaptive.final_line())
        stopped = outcome.exception
        if isinstance(stopped, KeyboardInterrupt) or (stopped is not None and full_error()
                                                      and not isinstance(stopped, SeedexpError)):
            raise stopped
        if code == EXIT_RUNS:
            raise SweepError(line)
        if code == EXIT_USAGE:
            raise (stopped if isinstance(stopped, SeedexpError) and str(stopped) == line else ConfigError(line))
        return [batch for batch in self.returns if batch]  # as Hydra's own sweepers: every job's return, by batch

    def _launch_all(self, jobs: list[list[list[str]]], errors: list[str]) -> None:
        """Launch the batches one after another; stop after a batch in which a job found a configuration error."""
        initial_job_idx = 0
        for batch in jobs:
            for r in self.launch(batch, initial_job_idx):
                line = config_error(r.return_value)  # .return_value raises the job's own exception, if it raised
                if line is not None and line not in errors:
                    errors.append(line)
            initial_job_idx += len(batch)
            if errors:  # what was asked cannot run: stop after this batch
                break

    def _finish(self, sweep_dir: Path, outcome: Outcome) -> tuple[int, str]:
        """Say what happened (the summary, warnings); return the exit code and the line of its error.

        The line is raised (:class:`~seedexp.errors.SweepError` for exit 1, another
        :class:`~seedexp.errors.SeedexpError` for 2): Hydra prints it, the ``seedexp`` command too.
        """
        if outcome.crash is not None:  # a worker died: not a usage error; the summary names the lost runs (exit 1)
            console.error(f"seedexp: {redact_text(outcome.crash)}")
        lines, problem, summary = [redact_text(e) for e in outcome.errors], outcome.problem, outcome.summary
        if problem is not None:  # what stopped the sweep and the summary it could not write: one line
            lines[-1:] = [f"{lines[-1]}; and {problem}"] if lines else [problem]
        if summary is None:
            return EXIT_USAGE, "; ".join(lines)
        for line in outcome.tracking:  # the sweep's own files are complete: a tracker that is down is one line
            console.warning(f"seedexp: warning: {line}")
        if outcome.errors:  # what was asked cannot run: the runs before the error are summarized, not judged
            console.info(f"partial summary ({summary.get('n_ok')} ok of {summary['n_runs']} planned run(s), written before "
                         f"the error): {sweep_dir / 'summary.md'}")
            return EXIT_USAGE, "; ".join(lines)
        print_summary(summary, sweep_dir)
        return (EXIT_OK, "") if all_ok(summary) else (EXIT_RUNS, not_ok_line(summary))


def print_summary(summary: dict[str, Any], sweep_dir: Path) -> None:
    """The summary a person reads, as written (not re-read: another process may write the file)."""
    from ..report import to_markdown

    console.info(to_markdown(summary))
    console.info(f"summary: {sweep_dir / 'summary.md'} (also summary.html, summary.json, summary.csv, runs.csv, summary.png)")
    for problem in summary.get("corrupt") or []:
        console.warning(f"seedexp: warning: {problem}")
    from ..diagnose import is_seed_warning

    for line in summary.get("warnings") or []:
        if is_seed_warning(line):  # in the summary above too: the line a person must not miss
            console.warning(f"seedexp: warning: {line}")


class SweepStopped(CompactHydraException):
    """A seedexp error leaving the sweeper, for Hydra to print as its one line (a compact exception: no traceback).

    ``error`` is the :class:`~seedexp.errors.SeedexpError` (the ``seedexp`` command exits 1 for a
    :class:`~seedexp.errors.SweepError`, 2 for the others). With ``HYDRA_FULL_ERROR=1`` Hydra shows
    the traceback, the error's included.
    """

    def __init__(self, error: SeedexpError) -> None:
        super().__init__(redact_text(f"seedexp: {'' if isinstance(error, SweepError) else 'error: '}{error}"))
        self.error = error


@contextmanager
def reported_to_hydra() -> Iterator[None]:
    """Around a sweeper's ``sweep``: a :class:`~seedexp.errors.SeedexpError` leaves as :class:`SweepStopped`."""
    try:
        yield
    except SeedexpError as exc:
        raise SweepStopped(exc) from exc
