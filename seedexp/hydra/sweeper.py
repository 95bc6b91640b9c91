"""The driver side of a sweep: plan, lock, launch in batches, summarize, exit code.

Hydra's ``on_multirun_end`` receives no job results and does not fire when a
job failed, so the sweep's end belongs here: :class:`SweepDriver` runs the
batch loop of Hydra's basic sweeper itself and builds the summary in a
``finally`` block, from the records on disk, whatever happened to the jobs.

Before launching it writes ``<sweep dir>/sweep.json`` (schema
``seedexp.sweep/1``): the planned runs, ``{"group", "seed", "overrides"}`` each,
so the summary can say which planned run is ok, failed, crashed (its record is
still the ``running`` marker) or missing. One sweep writes to a directory at a
time: ``.seedexp.lock`` holds an ``flock`` that a killed sweep releases.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..errors import ConfigError, SeedexpError
from ..record import RECORD_NAME, group_of, write_json_atomic
from ..run import one_line
from .task import error_line, wrap_task

__all__ = ["SweepDriver", "wrap_task", "SWEEP_SCHEMA", "SWEEP_FILE", "LOCK_FILE"]

SWEEP_SCHEMA = "seedexp.sweep/1"
SWEEP_FILE = "sweep.json"
LOCK_FILE = ".seedexp.lock"

#: Exit codes of a sweep: every planned run ok / a planned run not ok / what was asked cannot run.
EXIT_OK, EXIT_RUNS, EXIT_USAGE = 0, 1, 2


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


def check_run_dirs_inside(planned: list[dict[str, Any]]) -> None:
    """Run dirs are named after override values: a value with ``..`` path parts would escape the sweep dir."""
    for run in planned:
        for item in run["overrides"]:
            value = item.partition("=")[2]
            if ".." in Path(value).parts or value.startswith("/"):
                raise ConfigError(f"override {item!r} would put its run directory outside hydra.sweep.dir "
                                  "(a '..' or absolute path in a swept value); use values without '/'")


@contextmanager
def sweep_lock(sweep_dir: Path) -> Iterator[None]:
    """Hold ``<sweep_dir>/.seedexp.lock`` (``flock``) for the sweep; refuse if another process holds it."""
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        handle = open(sweep_dir / LOCK_FILE, "a+", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write to the sweep dir {str(sweep_dir)!r} ({exc.strerror or exc}); "
                          "choose a writable hydra.sweep.dir") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise ConfigError(f"another seedexp sweep (pid {holder}) is writing to {str(sweep_dir)!r}; wait for it "
                              "to finish, or give this one another hydra.sweep.dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def clean_orphans(sweep_dir: Path) -> int:
    """Remove temp files left by writes that a kill interrupted (``.NAME.*.tmp``)."""
    removed = 0
    for path in sweep_dir.rglob(".*.tmp"):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


class _Progress(threading.Thread):
    """A live line (done / failed / ETA) fed by the records as they appear, on a terminal only."""

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
                if mtime < self.started or self.status.get(path, ("", 0))[1] == mtime:
                    continue
                status = json.loads(path.read_text(encoding="utf-8")).get("status", "?")
            except (OSError, ValueError, RecursionError):
                continue
            if status != "running":
                self.status[path] = (status, mtime)

    def run(self) -> None:
        from tqdm.auto import tqdm

        with tqdm(total=self.total, unit="run", desc="sweep", dynamic_ncols=True, leave=False) as bar:
            while True:
                stopping = self.stop_event.wait(0.5)
                self._scan()
                bar.n = len(self.status)
                bar.set_postfix(failed=sum(1 for s, _ in self.status.values() if s == "failed"), refresh=False)
                bar.refresh()
                if stopping:
                    break

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


class SweepDriver:
    """Runs a sweep for :class:`hydra_plugins.seedexp.sweeper.SeedexpSweeper`."""

    def __init__(self, sweeper: Any, config: Any) -> None:
        self.sweeper, self.config = sweeper, config

    def _sweep_dir(self) -> Path:
        text = str(self.config.hydra.sweep.dir or "").strip()
        if not text:
            raise ConfigError("hydra.sweep.dir is empty; give the sweep a directory, e.g. hydra.sweep.dir=multirun/my_study")
        return Path(text).absolute()

    def _report_options(self) -> dict[str, Any]:
        from omegaconf import OmegaConf

        options = self.config.get("report")
        return dict(OmegaConf.to_container(options, resolve=True)) if options else {}

    def sweep(self, arguments: list[str], _basic_sweep: Callable[[list[str]], Any] | None = None) -> Any:
        """Plan, launch batch by batch, then write and print the summary; exit non-zero unless all runs are ok."""
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        sw = self.sweeper
        sweep_dir = self._sweep_dir()
        parser = OverridesParser.create(config_loader=sw.hydra_context.config_loader)
        overrides = parser.parse_overrides([*sw._parse_config(), *arguments])
        sw.overrides = sw.split_arguments(overrides, sw.max_batch_size)
        planned = planned_runs(sw.overrides)
        check_run_dirs_inside(planned)
        report_options = self._report_options()
        with sweep_lock(sweep_dir):
            clean_orphans(sweep_dir)
            write_json_atomic(sweep_dir / SWEEP_FILE, {"schema": SWEEP_SCHEMA, "sweep_dir": str(sweep_dir),
                                                       "planned": planned})
            OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
            progress = _Progress(sweep_dir, len(planned)) if sys.stderr.isatty() else None
            if progress is not None:
                progress.start()
            errors: list[str] = []
            stopped: BaseException | None = None
            returns: list[Any] = []
            try:
                returns = self._launch_all(errors)
            except KeyboardInterrupt as exc:
                stopped = exc
                errors.append("interrupted; records already written are kept - re-run the same command to resume")
            except SeedexpError as exc:
                errors.append(str(exc))
            except (HydraException, OmegaConfBaseException) as exc:  # a later job's overrides do not compose
                if os.environ.get("HYDRA_FULL_ERROR") == "1" and os.environ.get("SEEDEXP_FULL_ERROR") != "0":
                    stopped = exc
                errors.append(error_line(exc))
            except Exception as exc:  # noqa: BLE001 - a launcher or worker died: the summary must still be written
                if os.environ.get("HYDRA_FULL_ERROR") == "1":
                    stopped = exc
                errors.append(f"the launcher stopped the sweep: {type(exc).__name__}: {one_line(str(exc), 300)}")
            finally:
                if progress is not None:
                    progress.stop()
            code = self._finish(sweep_dir, report_options, errors)
        if stopped is not None:
            raise stopped
        if code != EXIT_OK:
            raise SystemExit(code)
        return returns

    def _launch_all(self, errors: list[str]) -> list[Any]:
        sw = self.sweeper
        returns: list[Any] = []
        initial_job_idx = 0
        while not sw.is_done():
            batch = sw.get_job_batch()
            sw.validate_batch_is_legal(batch)
            results = sw.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for r in results:
                value = r.return_value  # raises the job's own exception, if it raised
                if isinstance(value, dict) and "config_error" in value:
                    if value["config_error"] not in errors:
                        errors.append(value["config_error"])
            initial_job_idx += len(batch)
            returns.append(results)
            if errors:  # what was asked cannot run: stop after this batch
                break
        return returns

    def _finish(self, sweep_dir: Path, report_options: dict[str, Any], errors: list[str]) -> int:
        from ..report import write_summary

        for line in errors:
            print(f"seedexp: error: {line}", file=sys.stderr)
        try:
            summary = write_summary(sweep_dir, **report_options)
        except SeedexpError as exc:
            print(f"seedexp: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as exc:
            print(f"seedexp: error: cannot write the summary in {str(sweep_dir)!r} ({exc.strerror or exc}); "
                  f"the records are intact - run `seedexp report {sweep_dir} --out DIR` to write it elsewhere",
                  file=sys.stderr)
            return EXIT_USAGE
        if errors:  # what was asked cannot run: the runs before the error are summarized, not judged
            print(f"partial summary ({summary.get('n_ok')} ok of {summary['n_runs']} planned run(s), written before "
                  f"the error): {sweep_dir / 'summary.md'}")
            return EXIT_USAGE
        print_summary(summary, sweep_dir)
        return EXIT_OK if all_ok(summary) else EXIT_RUNS


def all_ok(summary: dict[str, Any]) -> bool:
    """True when every planned run has an ok record (and no record is unreadable)."""
    bad = sum(int(summary.get(k) or 0) for k in ("n_failed", "n_crashed", "n_missing"))
    return bad == 0 and not summary.get("corrupt")


def print_summary(summary: dict[str, Any], sweep_dir: Path) -> None:
    """The summary a person reads, as written (not re-read: another process may write the file)."""
    from ..report import to_markdown

    print(to_markdown(summary))
    print(f"summary: {sweep_dir / 'summary.md'} (also summary.json, summary.csv, runs.csv, summary.png)")
    not_ok = sum(int(summary.get(k) or 0) for k in ("n_failed", "n_crashed", "n_missing"))
    if not_ok:
        print(f"seedexp: {not_ok} of {summary.get('n_runs')} planned runs did not finish ok (listed above); "
              "re-run the same command to run only those", file=sys.stderr)
    for problem in summary.get("corrupt") or []:
        print(f"seedexp: warning: {problem}", file=sys.stderr)
