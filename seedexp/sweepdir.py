"""The sweep directory: its file names and schemas, and reading and writing its files.

A sweep directory (``hydra.sweep.dir``, or ``out`` of :func:`seedexp.sweep`)
holds one run dir per configuration and seed (``result.json``, whose content
:mod:`seedexp.record` defines; ``traceback.txt`` when the run failed) and, at
its root, the files of the sweep itself:

==================  ==============================================================
``sweep.json``      the planned runs (schema ``seedexp.sweep/1``), written before any run
``stopping.json``   the latest stopping decision of an adaptive sweep (``seed=auto``)
``.seedexp.lock``   the ``flock`` of the sweep writing the directory (its pid inside)
``summary.*``       ``summary.json`` / ``.csv`` / ``.md`` / ``.png`` and ``runs.csv``
==================  ==============================================================

Every file is read through :func:`read_json`, which never hangs or crashes on
what a directory may hold (a FIFO or device, a huge file, JSON nested too
deep, ``NaN`` literals), and written through :func:`write_text_atomic`, so a
reader never sees half a file. The lifecycle of a sweep over these files
(lock, clean-up, plan, runs, summary, tracking) is :mod:`seedexp.lifecycle`.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import stat
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .errors import ConfigError, RecordError
from .record import MAX_RECORD_BYTES, RECORD_NAME, record_problem
from .stats.summary import Run, run_of

__all__ = [
    "SWEEP_NAME", "SWEEP_SCHEMA", "STOPPING_NAME", "STOPPING_SCHEMA", "LOCK_NAME", "SUMMARY_NAME", "OUTPUTS",
    "read_json", "write_text_atomic", "write_json_atomic", "read_record", "existing_record", "write_record",
    "sweep_lock", "reader_lock", "clean_orphans", "write_plan", "load_records", "load_plan", "load_stopping",
    "load_summary", "write_stopping", "aggregate", "find_series", "curves_of_sweep",
]

#: The planned runs of a sweep, ``<sweep_dir>/sweep.json``.
SWEEP_NAME = "sweep.json"
SWEEP_SCHEMA = "seedexp.sweep/1"
#: The latest stopping decision of an adaptive sweep (``seed=auto``), at the sweep root.
STOPPING_NAME = "stopping.json"
STOPPING_SCHEMA = "seedexp.stopping/1"
#: Held (``flock``) by the one sweep writing the directory.
LOCK_NAME = ".seedexp.lock"
#: The summary files, ``summary.json`` first: it marks the others as seedexp's.
SUMMARY_NAME = "summary.json"
OUTPUTS = (SUMMARY_NAME, "summary.csv", "runs.csv", "summary.md", "summary.png", "summary.html")

#: A sweep.json, stopping.json or summary.json larger than this is not one of seedexp's.
MAX_JSON_BYTES = 64 * 1024 * 1024


def _schema_family(schema: str) -> str:
    return schema.rsplit("/", 1)[0] + "/"


# --------------------------------------------------------------------------- reading and writing one file


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, why)`` for a file that is not readable JSON of a sane size.

    Never hangs or crashes on what a directory may hold: a FIFO or device (not a
    regular file), a file over ``max_bytes``, JSON nested too deep, ``NaN`` literals.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        if st.st_size > max_bytes:
            return None, f"{st.st_size} bytes, more than {max_bytes}"
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
        if len(raw) > max_bytes:
            return None, f"more than {max_bytes} bytes"

        def no_constants(name: str) -> Any:
            raise ValueError(f"{name} is not valid JSON")

        return json.loads(raw.decode("utf-8"), parse_constant=no_constants), None
    except RecursionError:
        return None, "JSON nested too deep"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str, durable: bool = True) -> None:
    """Write ``text`` to ``path`` so that readers never see half a file.

    ``durable``: also ``fsync`` before the rename, so that the file survives a
    power cut (a killed process never leaves half a file either way).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would: 0644 under umask 022, like Hydra's files
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: Path, data: Mapping[str, Any], durable: bool = True) -> None:
    """Write ``data`` as JSON to ``path`` atomically (NaN/inf are refused: store them as null)."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n", durable)


# --------------------------------------------------------------------------- run records


def read_record(path: Path) -> dict[str, Any]:
    """Read and validate one record (``result.json``).

    Raises
    ------
    RecordError
        One line naming the file and what is wrong with it: not a regular file
        (a FIFO, a device), larger than :data:`~seedexp.record.MAX_RECORD_BYTES`,
        not JSON (``NaN`` literals included), nested too deep, another schema, a
        missing or mistyped field, a metric that is not a number or null
        (:func:`seedexp.record.record_problem`).
    """
    data, why = read_json(path, MAX_RECORD_BYTES)
    why = why or record_problem(data)
    if why is not None:
        raise RecordError(f"{path} is not a usable seedexp run record ({why}); "
                          "delete it and re-run the same command to redo that run")
    return data


def existing_record(run_dir: Path) -> dict[str, Any] | None:
    """The readable record in ``run_dir``, or None (no record, or one that :func:`read_record` rejects)."""
    path = Path(run_dir) / RECORD_NAME
    if not path.exists():
        return None
    try:
        return read_record(path)
    except RecordError:
        return None


def write_record(run_dir: Path, record: Mapping[str, Any], durable: bool = True) -> Path:
    """Write ``record`` as ``<run_dir>/result.json`` atomically; return the path.

    ``durable=False`` for the ``running`` marker: it is replaced within the run.
    """
    path = Path(run_dir) / RECORD_NAME
    write_json_atomic(path, record, durable)
    return path


# --------------------------------------------------------------------------- one writer at a time


@contextmanager
def sweep_lock(sweep_dir: Path) -> Iterator[None]:
    """Hold ``<sweep_dir>/.seedexp.lock`` (``flock``) for the sweep; refuse if another process holds it."""
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        handle = open(sweep_dir / LOCK_NAME, "a+", encoding="utf-8")
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


@contextmanager
def reader_lock(sweep_dir: Path, way_out: str) -> Iterator[None]:
    """Share the sweep dir's lock while writing its summary: a running sweep writes its own when it ends.

    ``way_out`` ends the refusal's one line (what to do instead).
    """
    try:
        fd = os.open(Path(sweep_dir) / LOCK_NAME, os.O_RDONLY)
    except OSError:  # no sweep ever locked this dir
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            raise ConfigError(f"a seedexp sweep (pid {holder}) is running in {str(sweep_dir)!r} and writes the summary "
                              f"when it ends; {way_out}") from None
        yield
    finally:
        os.close(fd)


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


# --------------------------------------------------------------------------- the sweep's own files


def write_plan(sweep_dir: Path, planned: list[dict[str, Any]], adaptive: Mapping[str, Any] | None = None) -> None:
    """``sweep.json``: the planned runs, ``{"group", "seed", "overrides"}`` each (and the adaptive sweep's state).

    Secrets in the overrides are written as their tags (:func:`seedexp.redact.redact_overrides`).
    """
    from .redact import redact_overrides

    planned = [{**p, "overrides": redact_overrides(p["overrides"])} if "overrides" in p else p for p in planned]
    data: dict[str, Any] = {"schema": SWEEP_SCHEMA, "sweep_dir": str(sweep_dir), "planned": planned}
    if adaptive is not None:
        data["adaptive"] = dict(adaptive)
    write_json_atomic(Path(sweep_dir) / SWEEP_NAME, data)


def write_stopping(sweep_dir: Path, decision: Mapping[str, Any]) -> None:
    """``stopping.json``: the latest decision of an adaptive sweep (schema ``seedexp.stopping/1``)."""
    write_json_atomic(Path(sweep_dir) / STOPPING_NAME, {"schema": STOPPING_SCHEMA, **decision})


def load_records(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every seedexp record under ``sweep_dir``, and a message per ``result.json`` that is not one.

    Each record gets ``path``: its run dir relative to ``sweep_dir`` (POSIX form).
    Records are validated by :func:`read_record`, and only the fields a summary
    reads are kept (:data:`~seedexp.stats.summary.RECORD_FIELDS`: memory stays
    near 1 KB a run, not the whole record's config, streams and versions).
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise RecordError(f"sweep dir {str(sweep_dir)!r} does not exist; pass the directory the sweep wrote (hydra.sweep.dir)")
    records, problems = [], []
    for path in sorted(sweep_dir.rglob(RECORD_NAME)):
        try:
            record = read_record(path)
        except RecordError as exc:
            problems.append(str(exc))
            continue
        record["path"] = path.parent.relative_to(sweep_dir).as_posix()
        try:
            run = run_of(len(records), record)  # the fields a summary reads, nothing else
        except RecordError as exc:
            problems.append(str(exc))
            continue
        run["group"] = sys.intern(run["group"])  # one string per group, not one per run
        run["metrics"] = {sys.intern(k): v for k, v in run["metrics"].items()}
        records.append(Run(run))
    return records, problems


def load_plan(sweep_dir: Path) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The planned runs of ``<sweep_dir>/sweep.json`` (schema ``seedexp.sweep/1``).

    Each planned run is a dict with ``group`` and ``seed`` (and optionally
    ``path``, its run dir relative to the sweep dir; other keys are ignored).

    Returns ``(planned, None)``, ``(None, None)`` when there is no sweep.json, or
    ``(None, message)`` when there is one that cannot be used.
    """
    path = Path(sweep_dir) / SWEEP_NAME
    if not path.exists():
        return None, None
    data, why = read_json(path)
    if why is not None:
        return None, f"{path} is not readable JSON ({why}); the planned runs are unknown"
    if not isinstance(data, dict) or data.get("schema") != SWEEP_SCHEMA or not isinstance(data.get("planned"), list):
        return None, f"{path} is not a seedexp sweep plan (no schema {SWEEP_SCHEMA!r}); the planned runs are unknown"
    for i, p in enumerate(data["planned"]):
        if not isinstance(p, dict) or not isinstance(p.get("group"), str):
            return None, f"{path}: planned run #{i} has no str 'group'; the planned runs are unknown"
    return data["planned"], None


def load_stopping(sweep_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The latest stopping decision of an adaptive sweep (``<sweep_dir>/stopping.json``).

    Returns ``(decision, None)``; ``(None, None)`` when the sweep is not adaptive
    (no such file); ``(None, message)`` when the file is not a seedexp decision.
    The decision is :meth:`seedexp.sequential.Decision.to_dict` with the metric
    it watched (``metric``, ``metric_source``).
    """
    path = Path(sweep_dir) / STOPPING_NAME
    if not path.exists():
        return None, None
    data, why = read_json(path)
    if why is not None:
        return None, f"{path} is not readable JSON ({why}); the stopping decision is not shown"
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith(_schema_family(STOPPING_SCHEMA)) \
            or not isinstance(data.get("groups"), list) or not isinstance(data.get("comparisons"), list):
        return None, f"{path} is not a seedexp stopping decision; it is not shown"
    return data, None


def load_summary(sweep_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``<sweep_dir>/summary.json`` when it is a seedexp summary: ``(summary, None)``.

    ``(None, None)`` when there is none; ``(None, why)`` when the file there is
    not readable or not seedexp's (its schema, named in ``why``).
    """
    from .stats.summary import SUMMARY_SCHEMA

    path = Path(sweep_dir) / SUMMARY_NAME
    if not (path.exists() or path.is_symlink()):
        return None, None
    data, why = read_json(path)
    schema = data.get("schema") if isinstance(data, dict) else None
    if why is None and not (isinstance(schema, str) and schema.startswith(_schema_family(SUMMARY_SCHEMA))):
        why = f"schema {schema!r}"
    return (None, why) if why is not None else (data, None)


def aggregate(sweep_dir: Path, *, options: Mapping[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """Read the records and the plan of ``sweep_dir`` and summarize them (:func:`seedexp.stats.summary.summarize`).

    ``options`` / ``values``: the report options (checked here, unless ``options``
    is the :class:`~seedexp.stats.options.Options` an entry checked already).
    Refuses (RecordError) a directory holding neither a seedexp record nor a
    seedexp sweep plan: it is not a seedexp sweep. ``result.json`` files that are
    not seedexp records are listed under ``"corrupt"`` (and left untouched).

    Examples
    --------
    >>> import tempfile
    >>> aggregate(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    seedexp.errors.RecordError: no seedexp run record or sweep.json under '...'; is it a seedexp sweep dir (hydra.sweep.dir)?
    """
    from .stats.options import check_options
    from .stats.summary import summary_of

    opt = check_options(options, **values)  # before any work
    sweep_dir = Path(sweep_dir).absolute()
    records, problems = load_records(sweep_dir)
    planned, plan_problem = load_plan(sweep_dir)
    if plan_problem:
        problems.append(plan_problem)
    if not records and planned is None:
        detail = f" ({len(problems)} file(s) there are not seedexp records; first: {problems[0]})" if problems else ""
        raise RecordError(f"no seedexp run record or {SWEEP_NAME} under {str(sweep_dir)!r}{detail}; "
                          "is it a seedexp sweep dir (hydra.sweep.dir)?")
    found = find_series(sweep_dir, [r for r in records if r.get("status") == "ok"])
    summary = summary_of(records, planned, opt, series_metrics=found[1])
    curves = curves_of_sweep(sweep_dir, summary, opt, found)  # runs that logged series (seedexp.stats.curves)
    if curves is not None:
        summary["curves"] = curves
        summary["warnings"].extend(curves["warnings"])
    summary["sweep_dir"] = str(sweep_dir)
    summary["corrupt"] = problems
    return summary


# --------------------------------------------------------------------------- curves (runs that logged series)


def find_series(sweep_dir: Path, runs: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The ok runs of a summary that have a ``series.npz``: ``(runs, metric names, problems)``.

    Each run: ``group``, ``seed``, ``path`` and ``where`` (the file). A file that
    cannot be read is one problem line (and the run is left out of the curves).
    """
    from .series import SERIES_NAME, series_names

    found, names, problems = [], {}, []
    for r in runs:
        if r.get("status") != "ok" or r.get("path") is None:
            continue
        path = Path(sweep_dir) / str(r["path"]) / SERIES_NAME
        if not path.is_file():
            continue
        try:
            for name in series_names(path):
                names.setdefault(name, None)
        except RecordError as exc:
            problems.append(str(exc))
            continue
        found.append({"group": r["group"], "seed": r["seed"], "path": r["path"], "where": path})
    return found, list(names), problems


def curves_of_sweep(sweep_dir: Path, summary: Mapping[str, Any], options: Mapping[str, Any],
                    found: tuple[list[dict[str, Any]], list[str], list[str]] | None = None) -> dict[str, Any] | None:
    """The ``curves`` part of a sweep's summary (None when no run logged a series)."""
    from .series import read_metric
    from .stats.curves import summarize_curves
    from .stats.options import higher_is_better_default

    runs, names, problems = found if found is not None else find_series(sweep_dir, summary["runs"])
    if not names:
        return None
    hib = options.get("higher_is_better") or {}
    direction = {m: hib.get(m, higher_is_better_default(m)) for m in names}
    groups = [g["group"] for g in summary["groups"]]
    baseline = summary.get("baseline")
    pairs = [(g, baseline) for g in groups if g != baseline] if baseline else list(itertools.combinations(groups, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = summarize_curves(runs, read_metric, names, options, groups=groups, pairs=pairs, direction=direction)
    out["warnings"] = problems + out["warnings"]
    return out
