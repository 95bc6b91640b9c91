"""THE core of seedexp: plan -> reset every RNG -> call -> record. No Hydra here.

Every front-end calls :func:`execute`: the ``seedexp`` command and a user's
own Hydra app (through :mod:`seedexp.hydra`) and the Python API
(:func:`seedexp.run`, :func:`seedexp.sweep`). So a ``result.json`` means the same
thing whichever way it was made.

One run, in order:

1. resume: if ``run_dir`` already holds an ``ok`` record of the same
   configuration hash and the same experiment code, return it; if it holds
   the ``running`` marker of an earlier attempt, one line names the crashed seed;
2. build the :class:`~seedexp.SeedPlan` (``seed``, ``pins``) and reset every
   global random state from it (:func:`seedexp.frameworks.seed_all`);
3. ``prepare(plan)`` builds the callable (a configuration error raises here,
   before anything is written);
4. write a ``running`` marker record, so that a run whose process dies is
   named as crashed by the summary and by the next resume;
5. call the experiment; any exception, ``SystemExit`` included, makes a
   ``failed`` record (traceback in ``traceback.txt``); the result is validated;
6. write the record atomically. An I/O error writing the run dir (disk full,
   read-only) is one :class:`~seedexp.errors.RecordError` line naming the file.
"""

from __future__ import annotations

import contextvars
import logging
import math
import numbers
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .console import log as console
from .errors import ExperimentError, SeedexpWarning
from .record import (RECORD_NAME, SCHEMA, TRACEBACK_NAME, clean_metric, config_hash, host_info, json_safe,
                     library_versions, nonfinite_warning, run_config, strip_escapes)
from .redact import redact_text
from .sweepdir import existing_record, write_record, write_text_atomic
from .seeds import SeedPlan
from .series import SERIES_NAME, intact as series_intact, remove_stale as remove_stale_series, \
    start as start_series, stop as stop_series, take_series, write_series

log = logging.getLogger("seedexp")

#: Longest error message printed on one line; the whole text is in the run dir.
MAX_MESSAGE = 300

#: Longest error message kept in a record: a record must stay readable
#: (:data:`seedexp.record.MAX_RECORD_BYTES`); the whole text is in ``traceback.txt``.
MAX_RECORD_MESSAGE = 10_000

#: The metric name a bare number returned by an experiment is recorded under, unless
#: the configuration declares one (``report.primary_metric``).
NUMBER_METRIC = "objective"

#: The seed plan of the run in progress (see :func:`current_seeds`).
_CURRENT: contextvars.ContextVar[SeedPlan | None] = contextvars.ContextVar("seedexp_current_seeds", default=None)


def current_seeds() -> SeedPlan:
    """The :class:`~seedexp.SeedPlan` of the run in progress.

    For code that is not handed ``seeds`` (a Hydra task function ``train(cfg)``,
    a helper deep in a call stack)::

        seeds = seedexp.current_seeds()
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, seeds=seeds)

    Raises
    ------
    ConfigError
        Outside a run.
    """
    from .errors import ConfigError

    plan = _CURRENT.get()
    if plan is None:
        raise ConfigError("seedexp.current_seeds() was called outside a seedexp run; call it inside an experiment "
                          "run by seedexp (the seedexp command, @seedexp.main, seedexp.run or seedexp.sweep)")
    return plan


@dataclass
class RunSpec:
    """What one run is: its seeds, switches and identity (everything but the callable).

    Parameters
    ----------
    seed : {None, int}
        The master seed (``None`` draws OS entropy, recorded).
    pins : mapping of str to int
        Pinned streams, see :class:`~seedexp.SeedPlan`.
    strict : bool
        Deterministic algorithms in torch / TensorFlow.
    threads : {None, int}
        Intra-op threads of torch / TensorFlow; ``None``: the library default.
    experiment : str
        The experiment's name for the record (its ``_target_`` or function name).
    group : str
        The configuration this run belongs to (overrides minus the seed).
    overrides : list of str
        The run's overrides, as given.
    config : dict
        The resolved configuration, JSON-able; recorded and hashed.
    config_hash : str
        SHA-256 of the configuration: resume matches on it.
    code : dict
        The experiment code's identity (:func:`seedexp.code_identity.code_identity`): resume matches on
        its ``source_sha256`` too.
    reseed : {"warn", "error"}
        What a reseed of a global generator by the experiment does
        (:mod:`seedexp.frameworks.reseeds`): recorded and warned, or an error at the call.
    metrics_required : bool
        False for a user's own Hydra task: one that returns nothing (as most Hydra
        tasks do) makes an ``ok`` record without metrics, and a warning, not a failure.
    number_metric : str
        The metric name a bare number returned by the experiment is recorded under.
    seed_drawn : bool
        ``seed`` was drawn from OS entropy by the front-end (``seed: null`` in an app), not given.
    """

    seed: int | None
    pins: Mapping[str, int] = field(default_factory=dict)
    strict: bool = False
    threads: int | None = None
    experiment: str = ""
    group: str = "(defaults)"
    overrides: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    code: dict[str, Any] = field(default_factory=dict)
    reseed: str = "warn"
    metrics_required: bool = True
    number_metric: str = NUMBER_METRIC
    seed_drawn: bool = False


def completed_record(run_dir: Path, spec: RunSpec) -> dict[str, Any] | None:
    """The ``ok`` record of the same configuration and code in ``run_dir``, or None.

    A record of other code (the experiment's source changed since) is not
    reused: the run is redone, and a line says why.
    """
    record = existing_record(run_dir)
    if record is None or record["status"] != "ok" or not _same_config(record, spec):
        return None
    if not series_intact(run_dir, record):
        log.warning("re-running %s: its series file (%s) is missing or altered", run_dir, SERIES_NAME)
        return None
    old = (record.get("code") or {}).get("source_sha256")
    new = spec.code.get("source_sha256")
    if old != new:
        log.warning("re-running %s: the experiment's code changed since its record was written", run_dir)
        return None
    return record


#: The settings seedexp 0.2.0 left out of the config hash (``tracking`` was hashed then).
_HASHED_WITHOUT_BEFORE = ("resume", "stop", "report")


def _same_config(record: Mapping[str, Any], spec: RunSpec) -> bool:
    """Was ``record`` made by the configuration of ``spec``?

    Its ``config_hash`` says so. A record hashed by seedexp 0.2.0, which still
    hashed ``tracking``, is recognised by its own ``config`` (its hash is that
    of the old rule) and compared without the settings that do not change a run
    (:func:`seedexp.record.run_config`): a finished sweep is not re-run for an upgrade.
    """
    if record.get("config_hash") == spec.config_hash:
        return True
    config = record.get("config")
    if not isinstance(config, dict) or "tracking" not in config:
        return False
    old = config_hash({k: v for k, v in config.items() if k not in _HASHED_WITHOUT_BEFORE})
    return record.get("config_hash") == old and config_hash(run_config(config)) == spec.config_hash


def resumed_record(run_dir: Path, spec: RunSpec) -> dict[str, Any] | None:
    """What resume returns for a run whose ``ok`` record is there (:func:`completed_record`), or None.

    The record is marked ``"resumed": True`` and its file touched, so that a
    sweep's progress counts it as done now.
    """
    done = completed_record(run_dir, spec)
    if done is None:
        return None
    try:
        os.utime(run_dir / RECORD_NAME)
    except OSError:
        pass  # a read-only (archived) run dir: progress is a courtesy
    return done | {"resumed": True}


def execute(spec: RunSpec, prepare: Callable[[SeedPlan], Callable[[], Any]], run_dir: Path | str | None, *,
            resume: bool = True, quiet: bool = False) -> dict[str, Any]:
    """Run one experiment with one master seed and write its record.

    Parameters
    ----------
    spec : RunSpec
        The run's seeds, switches and identity.
    prepare : callable
        ``prepare(plan) -> call``: builds the experiment for this plan (e.g.
        instantiates YAML objects and injects their ``random_state``) and returns a
        no-argument callable that runs it and returns ``{metric: number}``. Raise a
        :class:`~seedexp.errors.SeedexpError` here for a configuration error: it
        propagates and nothing is written.
    run_dir : path or None
        Where ``result.json`` (and ``traceback.txt`` on failure) go; ``None``
        writes nothing (the record is only returned).
    resume : bool
        Return the existing record when ``run_dir`` holds an ``ok`` record of the
        same configuration and code (see :func:`completed_record`).
    quiet : bool
        Do not say the one-line failure message (:mod:`seedexp.console`).

    Returns
    -------
    dict
        The record (schema in :mod:`seedexp.record`). A failing experiment gives a
        ``failed`` record; it does not raise. ``KeyboardInterrupt`` is recorded as a
        failure and re-raised.
    """
    from .frameworks import seed_all

    directory = Path(run_dir) if run_dir is not None and not secondary_rank() else None
    if directory is not None and resume:
        done = resumed_record(directory, spec)
        if done is not None:
            return done
    crashed = crashed_attempt(directory) if directory is not None else None
    if crashed is not None and not quiet:
        console.warning(f"seedexp: seed={crashed['seed']} {crashed['what']} in an earlier attempt ({crashed['where']}); "
                        f"running it again in {directory}")

    plan = SeedPlan(spec.seed, pins=spec.pins)
    determinism = {"strict": bool(spec.strict), "threads": spec.threads, "reseed": spec.reseed}
    in_force = dict(determinism)
    in_force.update(seed_all(plan, determinism))
    call = prepare(plan)

    record = _marker(spec, plan, in_force)
    if directory is not None:
        _write(directory / TRACEBACK_NAME, lambda: _clear_stale(directory), "remove")
        # the marker: a process that dies from here on leaves "running"
        _write(directory / RECORD_NAME, lambda: write_record(directory, record, durable=False))
    interrupted, series = _call(call, plan, spec, record, directory)
    _complete(record, plan, spec, series, directory)
    for message in record.get("warnings", []):
        warnings.warn(message, SeedexpWarning, stacklevel=2)
    record["versions"] = library_versions()
    if directory is not None:
        _write(directory / RECORD_NAME, lambda: write_record(directory, record))
    if interrupted is not None:
        raise interrupted
    if record["status"] == "failed" and not quiet:
        err = record["error"]
        where = f" - traceback in {directory / TRACEBACK_NAME}" if directory is not None else ""
        console.warning(f"seedexp: run failed (seed={plan.master}): {err['type']}: {one_line(err['message'])}{where}")
    return record


def _marker(spec: RunSpec, plan: SeedPlan, in_force: dict[str, Any]) -> dict[str, Any]:
    """The record as it stands before the call: the ``running`` marker (schema in :mod:`seedexp.record`)."""
    return {
        "schema": SCHEMA,
        "status": "running",
        "experiment": spec.experiment,
        "metrics": {},
        "fingerprints": {},
        "seed": plan.master,
        "seed_drawn": plan.drawn or spec.seed_drawn,
        "pins": plan.pins,
        "streams": {},
        "unused_pins": [],
        "overrides": list(spec.overrides),
        "group": spec.group,
        "config": json_safe(spec.config),  # a value of inf or nan (experiment.x=1e999) as text: JSON has neither
        "config_hash": spec.config_hash,
        "code": spec.code,
        "determinism": in_force,
        "versions": {},
        "host": host_info(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "duration_s": None,
    }


def _call(call: Callable[[], Any], plan: SeedPlan, spec: RunSpec, record: dict[str, Any],
          directory: Path | None) -> tuple[BaseException | None, Any]:
    """Call the experiment; its metrics, or its failure, go into ``record``.

    Returns the ``KeyboardInterrupt`` to raise once the record is written (or
    None), and the series the run logged. Any exception, ``SystemExit``
    included, makes a ``failed`` record (traceback in ``traceback.txt``), except
    submitit's requeue exit, which leaves the marker for the requeued job.
    """
    interrupted: BaseException | None = None
    t0 = time.perf_counter()
    token = _CURRENT.set(plan)
    series, series_token = start_series()  # seedexp.log / seeds.log record here (seedexp.series)
    try:
        result = take_series(call(), series)
        if result is None and not spec.metrics_required:  # a user's Hydra task may return nothing
            record["metrics"], record["fingerprints"] = {}, {}
            if not series:
                record.setdefault("warnings", []).append(
                    "the task returned nothing: the run is recorded without metrics (return {'metric': number, ...} "
                    "for the summary's statistics)")
        else:
            record["metrics"], record["fingerprints"] = check_result(result, spec.experiment, series=bool(series),
                                                                     number_metric=spec.number_metric)
            if returned_number(result):  # what a resumed Hydra task returns again (seedexp.hydra.app.task_return)
                record["returned"] = spec.number_metric
        lost = [name for name, value in record["metrics"].items() if value is None]
        if lost:
            record.setdefault("warnings", []).append(nonfinite_warning(lost))
        record["status"] = "ok"
    except BaseException as exc:  # noqa: BLE001 - the experiment's failure is recorded, never lost
        if requeued(exc):
            raise  # the requeued job runs it again; its record stays the "running" marker until then
        if isinstance(exc, KeyboardInterrupt):
            interrupted = exc
        record["status"] = "failed"
        record["error"] = {"type": type(exc).__name__, "message": _record_message(_exit_message(exc))}
        if directory is not None:
            text = redact_text(traceback.format_exc())
            _write(directory / TRACEBACK_NAME, lambda: write_text_atomic(directory / TRACEBACK_NAME, text))
    finally:
        _CURRENT.reset(token)
        stop_series(series_token)
    record["duration_s"] = time.perf_counter() - t0
    return interrupted, series


def _complete(record: dict[str, Any], plan: SeedPlan, spec: RunSpec, series: Any, directory: Path | None) -> None:
    """After the call: the series file, the streams used, what the frameworks read back, the run's warnings."""
    from .frameworks import finish_run
    from .frameworks.reseeds import note_in_record

    if series:  # written before the record that indexes it
        record["series"] = {"file": None, "sha256": None, "metrics": series.index()}
        if directory is not None:
            _write(directory / SERIES_NAME, lambda: record.update(series=write_series(directory, series)))
    finished = finish_run(plan)  # first: it records the streams torch's data APIs drew from
    record["streams"] = plan.used()
    record["unused_pins"] = unused_pins(plan)
    record["global_draws"] = list(finished.get("global_draws", []))
    record["determinism"].update(finished.get("determinism", {}))
    for message in finished.get("warnings", []):
        record.setdefault("warnings", []).append(message)
    note_in_record(record, finished, bool(spec.strict))  # reseeds, void streams and pins, determinism undone
    if record["unused_pins"]:
        message = (f"pin {', '.join('pin.' + p for p in record['unused_pins'])} was set but no code asked for "
                   f"that stream; it changed nothing (streams used: {', '.join(sorted(record['streams'])) or 'none'})")
        record.setdefault("warnings", []).append(message)
    if "warnings" in record:
        record["warnings"] = [redact_text(m) for m in record["warnings"]]


def secondary_rank() -> bool:
    """Is this process a rank other than 0 of a multi-process (DDP) launch that re-ran the script?

    Lightning's ``strategy="ddp"`` and ``torchrun`` start every rank with the same
    command: each one trains, and only rank 0 writes the run's record (others would
    overwrite it). They say which rank a process is in ``RANK`` or ``LOCAL_RANK`` /
    ``NODE_RANK``.
    """
    for var in ("RANK", "LOCAL_RANK", "NODE_RANK"):
        value = os.environ.get(var, "0").strip() or "0"
        if value != "0":
            return value.isdigit()
    return False


def requeued(exc: BaseException) -> bool:
    """Is ``exc`` the ``SystemExit`` of submitit's signal handler, after it requeued a preempted SLURM job?

    That exit is not the run's failure: the job is run again from its start
    once SLURM restarts it, so the run must not be recorded as failed.
    """
    if not isinstance(exc, SystemExit):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.replace(os.sep, "/").endswith("submitit/core/job_environment.py"):
            return True
        tb = tb.tb_next
    return False


def crashed_attempt(run_dir: Path) -> dict[str, Any] | None:
    """The record of an earlier attempt in ``run_dir`` whose process died, or None.

    That is the ``running`` marker left behind, or the ``crashed`` / ``timed_out``
    record a sweep's supervisor wrote. Returns ``{"seed": ..., "what": "crashed",
    "where": "started ... as pid ... on host ..."}`` for the one line that names the
    crashed seed when the run is attempted again.
    """
    record = existing_record(run_dir)
    if record is None or record["status"] not in ("running", "crashed", "timed_out"):
        return None
    if record["status"] != "running":
        cause = (record.get("error") or {}).get("message") if isinstance(record.get("error"), dict) else None
        return {"seed": record["seed"], "what": "timed out" if record["status"] == "timed_out" else "crashed",
                "where": one_line(str(cause or "its process died"), 200)}
    host = record.get("host") if isinstance(record.get("host"), dict) else {}
    where = ", ".join(part for part in (
        f"started {record['started_at']}" if isinstance(record.get("started_at"), str) else "",
        f"pid {host['pid']}" if "pid" in host else "",
        f"on {host['hostname']}" if "hostname" in host else "") if part)
    return {"seed": record["seed"], "what": "crashed",
            "where": (where + "; " if where else "") + "its record was left at 'running'"}


def _write(path: Path, write: Callable[[], Any], verb: str = "write") -> None:
    """Run ``write`` (a record or traceback write); an I/O error becomes one line naming ``path``."""
    from .errors import RecordError

    try:
        write()
    except OSError as exc:
        raise RecordError(f"cannot {verb} {path} ({exc.strerror or exc}); free space on that disk or make the "
                          "directory writable (or choose another hydra.sweep.dir / hydra.run.dir), then re-run "
                          "the same command: records already written are kept") from None


def _record_message(message: str) -> str:
    """``message``, cut to :data:`MAX_RECORD_MESSAGE` characters (the whole text is in traceback.txt)."""
    message = redact_text(strip_escapes(message))  # an experiment's message may quote a secret it was given
    if len(message) <= MAX_RECORD_MESSAGE:
        return message
    return (message[:MAX_RECORD_MESSAGE] + f"... [cut: {len(message)} characters in all; the whole text is in "
            f"{TRACEBACK_NAME}]")


def _clear_stale(directory: Path) -> None:
    """A new attempt: the previous attempt's traceback no longer describes this run."""
    try:
        (directory / TRACEBACK_NAME).unlink()
    except FileNotFoundError:
        pass
    remove_stale_series(directory)


def _exit_message(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return (f"the experiment called sys.exit({exc.code!r}); a run must return its metrics "
                "(raise an exception to fail it)")
    if isinstance(exc, MemoryError) and not str(exc):
        return ("an allocation failed: the run asked for more memory than the process could get (memory_limit "
                "stops a run that grows, before the machine's OOM killer does)")
    return str(exc) or "(no message)"


def unused_pins(plan: SeedPlan) -> list[str]:
    """Pinned streams that no code asked for (directly or through a child)."""
    used = {name.split("/")[0] for name in plan.used()}
    return sorted(p for p in plan.pins if p not in used)


def returned_number(result: Any) -> bool:
    """Did the experiment return one bare real number (what Hydra's Optuna/Nevergrad sweepers read)?"""
    return isinstance(result, numbers.Real) and not isinstance(result, (bool, np.bool_))


def check_result(result: Any, target: str, series: bool = False,
                 number_metric: str = NUMBER_METRIC) -> tuple[dict[str, float | None], dict[str, str]]:
    """Validate what an experiment returned; return ``(metrics, fingerprints)``.

    The contract: a non-empty dict of metric name (str) -> real number, plus
    optionally ``"fingerprints": {name: str}`` (hashes of artifacts such as
    trained weights); or one bare real number, recorded as the metric
    ``number_metric``. NaN and inf are kept as ``None`` (JSON has neither).
    ``series``: the run recorded per-step series (:mod:`seedexp.series`), so
    a dict without a number is fine.

    Examples
    --------
    >>> check_result(0.75, "train", number_metric="accuracy")
    ({'accuracy': 0.75}, {})
    """
    if returned_number(result):
        result = {number_metric: result}
    if not isinstance(result, Mapping):
        raise ExperimentError(
            f"experiment {target!r} returned {type(result).__name__}, not a dict or a number; "
            "return {'metric_name': number, ...} or one number"
        )
    metrics: dict[str, float | None] = {}
    fingerprints: dict[str, str] = {}
    for name, value in result.items():
        if not isinstance(name, str) or not name:
            raise ExperimentError(
                f"experiment {target!r}: metric name {name!r} is a {type(name).__name__}; "
                "metric names must be non-empty strings"
            )
        if name == "fingerprints":
            if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
                raise ExperimentError(
                    f"experiment {target!r}: 'fingerprints' must be a dict of name -> str (e.g. a sha256 hex digest)"
                )
            fingerprints = {str(k): v for k, v in value.items()}
            continue
        number = as_number(value)
        if number is None:
            raise ExperimentError(
                f"experiment {target!r}: metric {name!r} is {_short(value)} ({type(value).__name__}), not a number; "
                "return floats (put hashes under 'fingerprints')"
            )
        metrics[name] = clean_metric(number)
    if not metrics and not series:
        raise ExperimentError(f"experiment {target!r} returned no metric; return {{'metric_name': number, ...}}")
    return metrics, fingerprints


def as_number(value: Any) -> float | None:
    """``value`` as a float if it is one real number, else None.

    Python and NumPy reals, and the 0-d tensors frameworks log (torch, TensorFlow,
    JAX: anything with ``shape == ()`` whose ``item()`` is a real), converted
    exactly (a float32 widens to the same value). Booleans, complex numbers and
    tensors with elements along any axis are not numbers.
    """
    if isinstance(value, numbers.Real):
        return None if isinstance(value, (bool, np.bool_)) else _float(value)
    if getattr(value, "shape", None) != () or not callable(getattr(value, "item", None)):
        if getattr(value, "shape", None) == () and callable(getattr(value, "numpy", None)):
            value = value.numpy()  # a TensorFlow EagerTensor: its numpy scalar has item()
        else:
            return None
    try:
        item = value.item()
    except Exception:  # noqa: BLE001 - not convertible: the caller's one-line refusal names it
        return None
    if isinstance(item, bool) or not isinstance(item, numbers.Real):
        return None
    return _float(item)


def _float(value: numbers.Real) -> float:
    """``float(value)``; an int beyond the float range (``10**999``) is +-inf, as ``1e999`` is."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    for line in str(text).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""
