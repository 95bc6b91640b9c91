"""Send a finished sweep to the experiment tracker its users already look at: MLflow, TensorBoard or W&B.

The sweep's own files come first: :func:`send` is called after ``summary.json``
and every ``result.json`` are on disk, reads them back, and hands the trackers
what seedexp computed (the mean, the headline interval, n, the failures, the
paired comparisons). It never raises: a tracker that is down, missing or
refusing gives ONE warning line per tracker, and ``seedexp report DIR
--tracking mlflow`` sends the same sweep again later. Sending is idempotent:
the runs of a sweep are found again by their tags (MLflow) or rewritten in
place (TensorBoard), so a re-run, a resumed sweep or a second report updates
them instead of adding new ones.

The ``tracking:`` settings (off by default)::

    tracking:
      backend: null      # null (off) | mlflow | tensorboard | wandb | a list of them
      uri: null          # MLflow tracking URI, e.g. http://127.0.0.1:5000; null: MLFLOW_TRACKING_URI,
                         # else MLflow's own default (a local store in the current directory);
                         # W&B: the base URL of a self-hosted server (null: W&B's default)
      experiment: null   # MLflow experiment / W&B project; null: the sweep's experiment (its _target_)
      logdir: null       # TensorBoard log dir of THIS sweep; null: <sweep dir>/tensorboard;
                         # W&B: its dir (it writes <dir>/wandb/); null: the sweep dir

The short form ``tracking: mlflow`` (or ``tensorboard``, or ``mlflow,tensorboard``)
means ``{backend: mlflow}`` with every other setting at its default.

What each tracker gets is described in :mod:`seedexp.tracking.mlflow`,
:mod:`seedexp.tracking.tensorboard` and :mod:`seedexp.tracking.wandb`; curves
(runs that logged series) go to each as stepped aggregates. The trackers are
optional (``pip install 'seedexp[mlflow]'``, ``'seedexp[tensorboard]'``,
``'seedexp[wandb]'``) and imported only when a sweep is sent to them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ConfigError, SeedexpError
from ..redact import redact_text

__all__ = ["BACKENDS", "DEFAULTS", "check_config", "send"]

#: The trackers a sweep can be sent to, and the package each one needs.
BACKENDS = {"mlflow": "mlflow", "tensorboard": "tensorboard", "wandb": "wandb"}

#: The ``tracking:`` settings and their defaults (``backend: null`` is off).
DEFAULTS: dict[str, Any] = {"backend": None, "uri": None, "experiment": None, "logdir": None}


def check_config(config: Any) -> dict[str, Any]:
    """Validate the ``tracking:`` settings; return them in their full form.

    The ONE place where tracking settings are checked. Call it when a sweep
    starts, so that a typo or a missing package fails before hours of runs
    rather than after them.

    Parameters
    ----------
    config : {None, False, str, sequence of str, mapping}
        ``None``/``False``: off. A str: the backend(s), ``"mlflow"``,
        ``"tensorboard"`` or ``"mlflow,tensorboard"``. A mapping: the keys of
        :data:`DEFAULTS` (an OmegaConf ``DictConfig`` works too).

    Returns
    -------
    dict
        Every key of :data:`DEFAULTS`; ``backend`` is a list of backend names
        (empty when off).

    Raises
    ------
    ConfigError
        An unknown key or backend, a value of the wrong type, or a backend
        whose package is not installed (the error says what to install).

    Examples
    --------
    >>> check_config(None)["backend"]
    []
    >>> check_config({"backend": "tensorboard", "logdir": "/tmp/tb"})["logdir"]
    '/tmp/tb'
    >>> check_config({"backend": "neptune"})
    Traceback (most recent call last):
    ...
    seedexp.errors.ConfigError: tracking.backend='neptune': expected null, mlflow, tensorboard, wandb or a list of them, e.g. tracking.backend=mlflow
    """
    if config is None or config is False:
        given: dict[str, Any] = {}
    elif isinstance(config, (str, Sequence)):
        given = {"backend": config}
    elif isinstance(config, Mapping) or hasattr(config, "items"):
        given = {str(k): v for k, v in config.items()}
    else:
        raise ConfigError(f"tracking={config!r}: expected null, a backend name (tracking=mlflow) or a mapping "
                          f"with the keys {', '.join(DEFAULTS)}")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown tracking setting(s) {', '.join('tracking.' + u for u in unknown)}; "
                          f"known: {', '.join('tracking.' + k for k in DEFAULTS)}")
    out = {**DEFAULTS, **given}
    out["backend"] = _backends(out["backend"])
    for key in ("uri", "experiment", "logdir"):
        value = out[key]
        if value is not None and (not isinstance(value, (str, os.PathLike)) or not str(value).strip()):
            raise ConfigError(f"tracking.{key}={value!r}: expected a non-empty string, or null")
        out[key] = None if value is None else str(value).strip()
    for name in out["backend"]:
        if importlib.util.find_spec(BACKENDS[name]) is None:
            raise ConfigError(f"tracking.backend={name} needs the {BACKENDS[name]} package, which is not installed: "
                              f"pip install 'seedexp[{name}]' (or set tracking.backend=null)")
    return out


def _backends(value: Any) -> list[str]:
    if value is None or value is False:
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        items = [value]
    names = [str(v).strip().lower() for v in items if str(v).strip()]
    if not all(isinstance(v, str) for v in items) or not all(n in BACKENDS for n in names):
        raise ConfigError(f"tracking.backend={value!r}: expected null, {', '.join(BACKENDS)} or a list of them, "
                          "e.g. tracking.backend=mlflow")
    return list(dict.fromkeys(names))


def send(sweep_dir: str | os.PathLike, summary: Mapping[str, Any], config: Any) -> list[str]:
    """Send a sweep (its summary and every record on disk) to the configured trackers.

    Call it once the sweep's own files are complete: it only reads them. It
    never raises (bar ``KeyboardInterrupt``): whatever goes wrong with a
    tracker, including bad settings, becomes ONE warning line for it, and the
    sweep's files stay as they are.

    Parameters
    ----------
    sweep_dir : path
        The sweep directory (where ``summary.json`` is).
    summary : mapping or Summary
        The sweep's summary, as :func:`seedexp.summary_files.write_summary` returned
        it, or the :class:`~seedexp.Summary` of :func:`seedexp.sweep`
        (``summary["runs"][i]["path"]`` locates each record under ``sweep_dir``).
    config : {None, str, mapping}
        The ``tracking:`` settings (see :func:`check_config`); off when no backend.

    Returns
    -------
    list of str
        Warning lines, one per tracker that could not take the sweep; empty
        when everything was sent, or tracking is off.

    Examples
    --------
    >>> send("multirun/x", {"runs": []}, None)
    []
    >>> send("multirun/x", {"runs": []}, {"backend": "neptune"})
    ["tracking: tracking.backend='neptune': expected null, mlflow, tensorboard, wandb or a list of them, e.g. tracking.backend=mlflow"]
    """
    try:
        settings = check_config(config)
    except SeedexpError as exc:
        return [redact_text(f"tracking: {exc}")]
    summary = getattr(summary, "data", summary)
    warnings: list[str] = []
    for name in settings["backend"]:
        warnings.extend(_send_one(name, Path(sweep_dir), summary, settings))
    return [redact_text(line) for line in warnings]  # a tracker's error may quote its URI's user:token@


def resend_hint(backend: str, sweep_dir: Path) -> str:
    """How to send a sweep again, for a warning line."""
    return (f"summary.json and every result.json are complete; send them again with: "
            f"seedexp report {sweep_dir} --tracking {backend}")


def _send_one(name: str, sweep_dir: Path, summary: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    from ._sweep import read_sweep

    try:
        sweep = read_sweep(sweep_dir, summary)
        if name == "mlflow":
            from . import mlflow as backend
        elif name == "wandb":
            from . import wandb as backend  # type: ignore[no-redef]
        else:
            from . import tensorboard as backend  # type: ignore[no-redef]
        return backend.send(sweep, settings).warnings
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a tracker must never cost the sweep its exit code
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return []
        return [f"tracking: {name}: {_why(exc)}; {resend_hint(name, sweep_dir)}"]


def _why(exc: BaseException) -> str:
    """One line for an exception: its type and the first line of its message."""
    from ..core import one_line

    text = one_line(str(exc), 300)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
