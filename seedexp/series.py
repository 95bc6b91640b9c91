"""Per-step series of a run (learning curves): the logger, and ``series.npz`` beside ``result.json``.

An experiment records a curve in any of three ways, all landing in the same file:

* ``seedexp.log(step, loss=..., val_acc=...)`` (or ``seeds.log(...)``) anywhere inside a run;
* a Keras callback, ``model.fit(..., callbacks=[seedexp.frameworks.keras.log_callback()])``;
  in a plain PyTorch loop, ``seedexp.frameworks.torch.log_step(epoch, loss=loss)`` (tensors welcome);
* returning a list, ``{"val_acc": history.history["val_accuracy"]}`` (steps 0, 1, 2, ...), or
  ``{"val_acc": {"steps": [...], "values": [...]}}`` with explicit steps.

Steps are integers >= 0, strictly increasing per metric; values are real numbers
(NaN/inf are kept, and a run with one is left out of that metric's bands).
Nothing is written while the run goes on: the core writes the series once, when
the experiment returns (also when it failed), atomically, BEFORE ``result.json``,
whose ``series`` field indexes it (names, lengths, SHA-256 of the file).

``series.npz`` (schema ``seedexp.series/1``) is a NumPy ``.npz`` with no pickled
object: ``schema`` (a str), ``names`` (a unicode array), and per metric *i*
``values_<i>`` (float64) and either ``grid_<i>`` = ``[first, stride]`` when the
steps are evenly spaced or ``steps_<i>`` (int64). Read it with
``numpy.load(path, allow_pickle=False)`` or :func:`read_series`.

Resume keeps the file (a run skipped as complete is not touched); a record
whose series file is missing or altered is not complete: the run is redone.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import numbers
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import ConfigError, ExperimentError, RecordError

__all__ = ["SERIES_NAME", "SERIES_SCHEMA", "SeriesLog", "log", "take_series", "write_series", "read_series",
           "read_metric", "series_names", "series_index", "intact", "remove_stale"]

SERIES_NAME = "series.npz"
SERIES_SCHEMA = "seedexp.series/1"

#: The run's log while an experiment runs (set by :func:`recording`).
_CURRENT: contextvars.ContextVar["SeriesLog | None"] = contextvars.ContextVar("seedexp_series", default=None)


def _value(name: str, value: Any) -> float:
    """A logged value as a float: a real number, a numpy scalar or a 0-d / 1-element tensor or array."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise ExperimentError(f"seedexp.log: {name}={value!r} is a {type(value).__name__}, not a number")
    if isinstance(value, numbers.Real):
        return float(value)
    numel = getattr(value, "numel", None)  # torch: .numel(); numpy: .size
    count = numel() if callable(numel) else getattr(value, "size", None)
    if isinstance(count, (int, np.integer)) and count != 1:
        raise ExperimentError(f"seedexp.log: {name} has {count} elements; log one number per step "
                              f"(e.g. {name}=x.mean())")
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, AttributeError):
        raise ExperimentError(f"seedexp.log: {name}={_short(value)} ({type(value).__name__}) is not a number") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _step(step: Any, name: str) -> int:
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral) or int(step) < 0:
        raise ExperimentError(f"seedexp.log: step={step!r} for {name!r} is not an integer >= 0 "
                              "(an epoch or batch number, e.g. seedexp.log(epoch, loss=loss))")
    return int(step)


class SeriesLog:
    """The series of one run: per metric, its steps and values, in memory until the run ends.

    Examples
    --------
    >>> log = SeriesLog()
    >>> log.log(0, loss=0.9, acc=0.5)
    >>> log.log(1, loss=0.7)
    >>> log.log(loss=0.6)            # no step: the metric's last step + 1
    >>> {k: (s.tolist(), v.tolist()) for k, (s, v) in log.arrays().items()}
    {'loss': ([0, 1, 2], [0.9, 0.7, 0.6]), 'acc': ([0], [0.5])}
    """

    def __init__(self) -> None:
        self._steps: dict[str, list[int]] = {}
        self._values: dict[str, list[float]] = {}

    def __bool__(self) -> bool:
        return bool(self._steps)

    def log(self, step: int | None = None, **values: Any) -> None:
        """Record ``values`` (metric name -> number) at ``step`` (default: each metric's last step + 1)."""
        if not values:
            raise ExperimentError("seedexp.log: no value given; e.g. seedexp.log(epoch, loss=loss, val_acc=acc)")
        checked = []
        for name, value in values.items():  # every value checked before any is kept
            steps = self._steps.get(name)
            at = (steps[-1] + 1 if steps else 0) if step is None else _step(step, name)
            if steps and at <= steps[-1]:
                raise ExperimentError(f"seedexp.log: {name!r} at step {at} after step {steps[-1]}; steps must "
                                      "increase (log each step once, in order)")
            checked.append((name, at, _value(name, value)))
        for name, at, value in checked:
            self._steps.setdefault(name, []).append(at)
            self._values.setdefault(name, []).append(value)

    def extend(self, name: str, steps: Any, values: Any) -> None:
        """Record a whole series at once (a returned list): ``steps`` and ``values`` of equal length."""
        values = list(values)
        steps = list(steps)
        if len(steps) != len(values):
            raise ExperimentError(f"series {name!r}: {len(steps)} steps but {len(values)} values; give one step "
                                  "per value")
        if name in self._steps:
            raise ExperimentError(f"series {name!r} was both logged with seedexp.log and returned; do one of them")
        try:
            for step, value in zip(steps, values):
                self.log(step, **{name: value})
        except ExperimentError as exc:  # a returned list: say so, not seedexp.log
            raise ExperimentError(f"returned series {name!r}: " + str(exc).removeprefix("seedexp.log: ")) from None

    def index(self) -> dict[str, dict[str, int]]:
        """Per metric: how many values, the first and the last step (the record's ``series.metrics``)."""
        return {name: {"n": len(steps), "first_step": steps[0], "last_step": steps[-1]}
                for name, steps in self._steps.items()}

    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{metric: (steps int64, values float64)}`` in the order metrics were first logged."""
        return {name: (np.asarray(self._steps[name], dtype=np.int64), np.asarray(self._values[name], dtype=np.float64))
                for name in self._steps}


def current() -> SeriesLog:
    """The series log of the run in progress (:class:`~seedexp.errors.ConfigError` outside a run)."""
    found = _CURRENT.get()
    if found is None:
        raise ConfigError("seedexp.log() was called outside a seedexp run; call it inside an experiment run by "
                          "seedexp (the seedexp command, @seedexp.main, seedexp.run or seedexp.sweep)")
    return found


def log(step: int | None = None, **values: Any) -> None:
    """Record per-step values of the run in progress: ``seedexp.log(epoch, loss=loss, val_acc=acc)``.

    Parameters
    ----------
    step : int, optional
        An integer >= 0 that increases from call to call for a metric (an epoch,
        a batch number); default: that metric's last step + 1 (0 at first).
    **values
        Metric name -> a real number (a numpy scalar, or a one-element torch
        tensor / array, is converted with ``float``).

    Raises
    ------
    ConfigError
        Outside a seedexp run.
    ExperimentError
        A value that is not a number, or a step that does not increase (the run fails, with this line).

    Examples
    --------
    >>> import seedexp
    >>> def train(seeds):
    ...     for epoch in range(3):
    ...         seedexp.log(epoch, loss=1.0 / (epoch + 1))
    ...     return {"final_loss": 1.0 / 3}
    >>> seedexp.run(train, seed=0)["series"]["metrics"]["loss"]
    {'n': 3, 'first_step': 0, 'last_step': 2}
    """
    current().log(step, **values)


def start() -> tuple[SeriesLog, contextvars.Token]:
    """A fresh :class:`SeriesLog`, made the current one (the core's hook, before the experiment is called)."""
    series = SeriesLog()
    return series, _CURRENT.set(series)


def stop(token: contextvars.Token) -> None:
    """The experiment returned (or raised): :func:`log` refers to no run any more."""
    _CURRENT.reset(token)


def _as_series(name: str, value: Any) -> tuple[Any, Any] | None:
    """``(steps, values)`` when a returned value is a series (a list, a 1-D array, or {steps, values}); else None."""
    if isinstance(value, Mapping):
        if set(value) == {"steps", "values"}:
            return value["steps"], value["values"]
        return None
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return range(len(value)), value
    return None


def take_series(result: Any, series: SeriesLog) -> Any:
    """Move the series an experiment returned into ``series``; return the rest of its result.

    A list, tuple or 1-D array is a series at steps 0, 1, 2, ...; a mapping
    ``{"steps": [...], "values": [...]}`` a series at those steps. Anything
    else is left for the metric check (``fingerprints`` stays a mapping of str).
    """
    if not isinstance(result, Mapping):
        return result
    rest = {}
    for name, value in result.items():
        found = _as_series(name, value) if name != "fingerprints" and isinstance(name, str) else None
        if found is None:
            rest[name] = value
        else:
            series.extend(name, *found)
    return rest


# --------------------------------------------------------------------------- the file


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_series(run_dir: Path, series: SeriesLog | Mapping[str, tuple[Any, Any]], durable: bool = True) -> dict[str, Any]:
    """Write ``<run_dir>/series.npz`` atomically; return its index for the record.

    The index: ``{"file": "series.npz", "sha256": hex, "metrics": {name: {"n", "first_step",
    "last_step"}}}``. A temporary ``.series.npz.*.tmp`` is renamed over the file
    (a kill leaves the old file or the new one, and the sweep's clean-up removes
    the temporary).
    """
    arrays = series.arrays() if isinstance(series, SeriesLog) else {
        k: (np.asarray(s, dtype=np.int64), np.asarray(v, dtype=np.float64)) for k, (s, v) in series.items()}
    payload: dict[str, np.ndarray] = {"schema": np.asarray(SERIES_SCHEMA), "names": np.asarray(list(arrays), dtype=str)}
    index: dict[str, Any] = {}
    for i, (name, (steps, values)) in enumerate(arrays.items()):
        payload[f"values_{i}"] = values
        stride = int(steps[1] - steps[0]) if len(steps) > 1 else 1
        if len(steps) and np.array_equal(steps, steps[0] + stride * np.arange(len(steps), dtype=np.int64)):
            payload[f"grid_{i}"] = np.asarray([steps[0], stride], dtype=np.int64)
        else:
            payload[f"steps_{i}"] = steps
        index[name] = {"n": int(len(steps)), "first_step": int(steps[0]) if len(steps) else None,
                       "last_step": int(steps[-1]) if len(steps) else None}
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SERIES_NAME
    fd, tmp = tempfile.mkstemp(prefix=f".{SERIES_NAME}.", suffix=".tmp", dir=run_dir)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        digest = hashlib.sha256()
        with os.fdopen(fd, "w+b") as handle:
            np.savez(handle, allow_pickle=False, **payload)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            handle.seek(0)
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return {"file": SERIES_NAME, "sha256": digest.hexdigest(), "metrics": index}


def _open(path: Path) -> Any:
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise RecordError(f"{path} is not a readable seedexp series file ({type(exc).__name__}: "
                          f"{str(exc)[:120]}); delete it and its result.json, then re-run the same command") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise RecordError(f"{path} is not a seedexp series file (not an .npz archive); delete it and its "
                          "result.json, then re-run the same command")
    return data


def _names(data: Any, path: Path) -> list[str]:
    try:
        schema = str(data["schema"][()])
        names = [str(n) for n in data["names"]]
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise RecordError(f"{path} is not a seedexp series file ({type(exc).__name__}); delete it and its "
                          "result.json, then re-run the same command") from None
    if schema != SERIES_SCHEMA:
        raise RecordError(f"{path} has schema {schema!r}, not {SERIES_SCHEMA!r}; read it with the seedexp that wrote it")
    return names


def _arrays(data: Any, i: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        values = np.asarray(data[f"values_{i}"], dtype=np.float64)
        if f"grid_{i}" in data.files:
            first, stride = (int(x) for x in data[f"grid_{i}"])
            steps = first + stride * np.arange(len(values), dtype=np.int64)
        else:
            steps = np.asarray(data[f"steps_{i}"], dtype=np.int64)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise RecordError(f"{path}: series #{i} cannot be read ({type(exc).__name__}); delete the file and its "
                          "result.json, then re-run the same command") from None
    if steps.ndim != 1 or values.ndim != 1 or len(steps) != len(values):
        raise RecordError(f"{path}: series #{i} has {steps.shape} steps and {values.shape} values; delete the file "
                          "and its result.json, then re-run the same command")
    return steps, values


def read_series(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every series of a ``series.npz``: ``{metric: (steps int64, values float64)}``.

    Raises
    ------
    RecordError
        One line naming the file: not an .npz, another schema, a broken array.
    """
    path = Path(path)
    with _open(path) as data:
        names = _names(data, path)
        return {name: _arrays(data, i, path) for i, name in enumerate(names)}


def read_metric(path: Path, metric: str, values: bool = True) -> Any:
    """One metric of a ``series.npz`` (reads only its arrays): ``(steps, values)``, or the steps alone
    when ``values`` is false; None when the file has no such metric."""
    path = Path(path)
    with _open(path) as data:
        names = _names(data, path)
        if metric not in names:
            return None
        i = names.index(metric)
        if not values and f"grid_{i}" in data.files:
            try:
                first, stride = (int(x) for x in data[f"grid_{i}"])
                n = _length(data, f"values_{i}")
            except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
                raise RecordError(f"{path}: series #{i} cannot be read ({type(exc).__name__}); delete the file and "
                                  "its result.json, then re-run the same command") from None
            return first + stride * np.arange(n, dtype=np.int64)
        steps, vals = _arrays(data, i, path)
        return (steps, vals) if values else steps


def _length(data: Any, key: str) -> int:
    """The length of a 1-D array in an open .npz, from its header (the values are not read)."""
    with data.zip.open(key + ".npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, _ = read_header(member)
    if len(shape) != 1:
        raise ValueError(f"{key} has shape {shape}")
    return int(shape[0])


def series_names(path: Path) -> list[str]:
    """The metric names a ``series.npz`` holds."""
    path = Path(path)
    with _open(path) as data:
        return _names(data, path)


def series_index(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``series`` index of a record, or None when the run recorded no series."""
    index = record.get("series")
    return index if isinstance(index, Mapping) and isinstance(index.get("metrics"), Mapping) else None


def intact(run_dir: Path, record: Mapping[str, Any]) -> bool:
    """Is the series file a record indexes there, unaltered (its SHA-256)? True for a record with no series."""
    index = series_index(record)
    if index is None or index.get("sha256") is None:
        return True
    path = Path(run_dir) / str(index.get("file", SERIES_NAME))
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == index["sha256"]


def remove_stale(run_dir: Path) -> None:
    """A new attempt of a run: an earlier attempt's series no longer describe it."""
    with contextlib.suppress(FileNotFoundError):
        (Path(run_dir) / SERIES_NAME).unlink()
