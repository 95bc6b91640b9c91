"""The sweep directory: its file names and schemas, and reading it back.

A sweep directory (``hydra.sweep.dir``, or ``out`` of :func:`seedexp.sweep`)
holds one run dir per configuration and seed (``result.json``: schema in
:mod:`seedexp.record`) and, at its root, the files of the sweep itself:

==================  ==============================================================
``sweep.json``      the planned runs (schema ``seedexp.sweep/1``), written before any run
``stopping.json``   the latest stopping decision of an adaptive sweep (``seed=auto``)
``.seedexp.lock``   the ``flock`` of the sweep writing the directory (its pid inside)
``summary.*``       ``summary.json`` / ``.csv`` / ``.md`` / ``.png`` and ``runs.csv``
==================  ==============================================================

Everything here reads what a directory may hold without hanging or crashing:
:func:`read_json` refuses a FIFO or device, a huge file, JSON nested too deep
and ``NaN`` literals.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any, Mapping

from .errors import RecordError
from .record import RECORD_NAME, read_record
from .stats.summary import Run, run_of

__all__ = ["SWEEP_NAME", "SWEEP_SCHEMA", "MAX_JSON_BYTES", "read_json", "load_records", "load_plan", "aggregate"]

#: The planned runs of a sweep, ``<sweep_dir>/sweep.json``.
SWEEP_NAME = "sweep.json"
SWEEP_SCHEMA = "seedexp.sweep/1"

#: A sweep.json, stopping.json or summary.json larger than this is not one of seedexp's.
MAX_JSON_BYTES = 64 * 1024 * 1024


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


def load_records(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every seedexp record under ``sweep_dir``, and a message per ``result.json`` that is not one.

    Each record gets ``path``: its run dir relative to ``sweep_dir`` (POSIX form).
    Records are validated by :func:`seedexp.record.read_record`, and only the
    fields a summary reads are kept (:data:`~seedexp.stats.summary.RECORD_FIELDS`: memory stays
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
    from .stats.curves import curves_of_sweep, find_series
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
