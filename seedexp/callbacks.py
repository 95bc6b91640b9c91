"""Hydra callbacks: remember the sweep, show its progress.

Hydra's ``on_multirun_end`` gets no job results and does not fire when a job
raised, so the summary is not built here: the ``seedexp`` command builds it
in the driver after Hydra returns, from the records on disk (see
:func:`seedexp.report.write_summary`). This callback records where the sweep
writes and runs a live progress line (done / failed / remaining / ETA) fed by
the records as they appear, which works the same under every launcher.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from .record import RECORD_NAME

#: The sweep directory of the multirun started in this process, if any.
LAST_SWEEP: dict[str, Any] = {}


def count_jobs(config: Any) -> int | None:
    """How many jobs Hydra's basic sweeper will launch for this config, or None."""
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        cli = list(config.hydra.overrides.task)
        params = config.hydra.sweeper.get("params") or {}
        parser = OverridesParser.create()
        seen: set[str] = set()
        total = 1
        for override in parser.parse_overrides(cli + [f"{k}={v}" for k, v in params.items()]):
            key = override.get_key_element()
            if key in seen:
                continue
            seen.add(key)
            if override.is_sweep_override():
                total *= len(list(override.sweep_string_iterator()))
        return total
    except Exception:  # progress is a courtesy: never fail a sweep for it
        return None


class _Progress(threading.Thread):
    """Polls the sweep dir for records written since the sweep started."""

    def __init__(self, sweep_dir: Path, total: int | None) -> None:
        super().__init__(name="seedexp-progress", daemon=True)
        self.sweep_dir, self.total = sweep_dir, total
        self.started = time.time() - 1.0
        self.stop_event = threading.Event()
        self.status: dict[Path, tuple[str, float]] = {}

    def _scan(self) -> None:
        import json

        if not self.sweep_dir.is_dir():
            return
        for path in self.sweep_dir.rglob(RECORD_NAME):
            try:
                mtime = path.stat().st_mtime
                if mtime < self.started or self.status.get(path, ("", 0))[1] == mtime:
                    continue
                status = json.loads(path.read_text(encoding="utf-8")).get("status", "?")
            except (OSError, ValueError):
                continue
            self.status[path] = (status, mtime)

    def run(self) -> None:
        from tqdm import tqdm

        with tqdm(total=self.total, unit="run", desc="sweep", disable=None, dynamic_ncols=True) as bar:
            while True:
                stopping = self.stop_event.wait(0.5)
                self._scan()
                failed = sum(1 for s, _ in self.status.values() if s == "failed")
                bar.n = len(self.status)
                bar.set_postfix(failed=failed, refresh=False)
                bar.refresh()
                if stopping:
                    break


class SweepCallback(Callback):
    """Registered in ``conf/config.yaml`` under ``hydra.callbacks``."""

    def __init__(self) -> None:
        self._progress: _Progress | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        LAST_SWEEP.clear()
        LAST_SWEEP.update(dir=sweep_dir, total=count_jobs(config), callback=self)
        if sys.stderr.isatty():  # quiet, and no polling thread, when not on a terminal
            self._progress = _Progress(sweep_dir, LAST_SWEEP["total"])
            self._progress.start()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        stop_progress(self)

    def __getstate__(self) -> dict[str, Any]:
        # Launchers (joblib, ray, submitit) pickle Hydra's context, callbacks
        # included: the progress thread stays in the driver.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._progress = None


def stop_progress(callback: SweepCallback) -> None:
    progress = getattr(callback, "_progress", None)
    if progress is not None and progress.is_alive():
        progress.stop_event.set()
        progress.join(timeout=5)
    callback._progress = None
