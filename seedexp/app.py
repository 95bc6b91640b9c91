"""The Hydra entry point: compose -> plan -> seed -> run -> record.

``seedexp experiment=NAME seed=N`` (or ``python -m seedexp ...``) composes
``conf/config.yaml`` with the overrides, builds a :class:`~seedexp.SeedPlan`
from ``seed`` and ``pin``, resets every global random state, calls the
experiment and writes ``result.json`` in the run directory (see
:mod:`seedexp.record`). :func:`execute` does the work and knows nothing of
Hydra's globals, so it is the function to call from Python.
"""

from __future__ import annotations

import logging
import numbers
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError, ExperimentError, SeedexpError
from .record import (
    RECORD_NAME,
    SCHEMA,
    TRACEBACK_NAME,
    clean_metric,
    config_hash,
    group_of,
    host_info,
    is_complete,
    library_versions,
    read_record,
    write_record,
)
from .seeds import SeedPlan

log = logging.getLogger("seedexp")

#: Where the shipped configs live (``conf/`` at the top of the repository).
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


class _RunState:
    """Statuses of the runs this process executed (the CLI's exit code)."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.config_errors: list[str] = []
        self.full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"


STATE = _RunState()


def _plain(cfg: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def _target_of(experiment: Any) -> str:
    if not isinstance(experiment, Mapping) or not experiment.get("_target_"):
        raise ConfigError(
            "no experiment selected (the config has no experiment._target_); "
            "choose one with experiment=NAME, e.g. experiment=imbalanced_clf"
        )
    return str(experiment["_target_"])


def load_experiment(experiment: Mapping[str, Any], plan: SeedPlan) -> Callable[..., Any]:
    """Turn an experiment config into a callable taking ``seeds=``.

    Nested ``_target_`` objects are instantiated fresh for this run; the
    scikit-learn estimators, splitters and samplers among them get every
    ``random_state`` set from ``plan`` (see :func:`seedexp.sklearn.inject_config_objects`).
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    target = _target_of(experiment)
    try:
        _locate(target)
    except Exception as cause:
        raise ConfigError(
            f"experiment._target_={target!r} cannot be imported ({type(cause).__name__}: {cause}); "
            "fix the dotted path 'package.module.function' and make sure the module is importable"
        ) from None
    try:
        fn = instantiate(experiment, _partial_=True)
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        raise ConfigError(
            f"experiment {target!r}: its config could not be instantiated "
            f"({type(cause).__name__}: {str(cause).splitlines()[0]}); fix the parameter in conf/experiment/"
        ) from None
    keywords = getattr(fn, "keywords", {})
    if any(hasattr(v, "get_params") or hasattr(v, "split") for v in keywords.values()):
        from .sklearn import inject_config_objects

        inject_config_objects(keywords, plan)
    return fn


def _locate(target: str) -> Any:
    """Import ``package.module.attr`` (the longest importable module prefix)."""
    import importlib

    module_name, _, attr = target.rpartition(".")
    if not module_name:
        raise ImportError(f"{target!r} has no module part")
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and ".".join(parts[:cut]).startswith(exc.name) and cut > 1:
                continue
            raise
        for name in parts[cut:]:
            obj = getattr(obj, name)
        if not callable(obj):
            raise TypeError(f"{target!r} is a {type(obj).__name__}, not a function")
        return obj
    raise ImportError(f"no module named {parts[0]!r}")


def check_result(result: Any, target: str) -> tuple[dict[str, float | None], dict[str, str]]:
    """Validate what an experiment returned; return ``(metrics, fingerprints)``.

    The contract: a dict of metric name -> real number, plus optionally
    ``"fingerprints": {name: str}`` (hashes of artifacts such as trained weights).
    """
    if not isinstance(result, Mapping):
        raise ExperimentError(
            f"experiment {target!r} returned {type(result).__name__}, not a dict; "
            "return {'metric_name': number, ...}"
        )
    metrics: dict[str, float | None] = {}
    fingerprints: dict[str, str] = {}
    for name, value in result.items():
        if name == "fingerprints":
            if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
                raise ExperimentError(
                    f"experiment {target!r}: 'fingerprints' must be a dict of name -> str (e.g. a sha256 hex digest)"
                )
            fingerprints = {str(k): v for k, v in value.items()}
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ExperimentError(
                f"experiment {target!r}: metric {name!r} is {value!r} ({type(value).__name__}), not a number; "
                "return floats (put hashes under 'fingerprints')"
            )
        metrics[str(name)] = clean_metric(float(value))
    return metrics, fingerprints


def execute(cfg: Any, run_dir: Path, overrides: list[str] | None = None, *, resume: bool = True) -> dict[str, Any]:
    """Run one experiment with one master seed and write its record.

    Parameters
    ----------
    cfg : DictConfig or dict
        The composed run configuration: ``seed``, ``pin``, ``determinism``,
        ``experiment`` (with ``_target_``).
    run_dir : path
        Where ``result.json`` (and ``traceback.txt`` on failure) go.
    overrides : list of str, optional
        The command-line overrides, recorded to group runs of a sweep.
    resume : bool
        Skip the run when ``run_dir`` already holds a successful record of
        the same configuration (same config hash).

    Returns
    -------
    dict
        The record. A failing experiment gives a ``failed`` record; it does
        not raise. Configuration errors (bad seed, broken ``_target_``) raise
        a :class:`~seedexp.errors.SeedexpError` and write nothing.
    """
    run_dir = Path(run_dir)
    overrides = list(overrides or [])
    config = _plain(cfg)
    chash = config_hash({k: v for k, v in config.items() if k != "resume"})
    if resume and is_complete(run_dir, chash):
        os.utime(run_dir / RECORD_NAME)  # counts as done now (sweep progress)
        log.info("skipped: %s already holds a complete record of this configuration", run_dir)
        return read_record(run_dir / RECORD_NAME)

    pins = {k: v for k, v in (config.get("pin") or {}).items() if v is not None}
    plan = SeedPlan(config.get("seed"), pins=pins)
    experiment = config.get("experiment")
    target = _target_of(experiment)
    fn = load_experiment(experiment, plan)

    from .frameworks import seed_all

    determinism = {"strict": bool((config.get("determinism") or {}).get("strict", False))}
    determinism.update(seed_all(plan, config.get("determinism")))

    started = datetime.now(timezone.utc)
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "status": "failed",
        "experiment": target,
        "metrics": {},
        "fingerprints": {},
        "seed": plan.master,
        "seed_drawn": plan.drawn,
        "pins": plan.pins,
        "streams": {},
        "overrides": overrides,
        "group": group_of(overrides),
        "config": config,
        "config_hash": chash,
        "determinism": determinism,
        "versions": {},
        "host": host_info(),
        "started_at": started.isoformat(timespec="milliseconds"),
        "duration_s": None,
    }
    t0 = time.perf_counter()
    try:
        result = fn(seeds=plan)
        record["metrics"], record["fingerprints"] = check_result(result, target)
        record["status"] = "ok"
    except Exception as exc:  # the experiment's failure is recorded, never lost
        record["error"] = {"type": type(exc).__name__, "message": str(exc)}
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / TRACEBACK_NAME).write_text(traceback.format_exc(), encoding="utf-8")
    record["duration_s"] = time.perf_counter() - t0
    record["streams"] = plan.used()
    record["versions"] = library_versions()
    record["determinism"].update(_device_facts())
    write_record(run_dir, record)
    if record["status"] == "failed":
        STATE.failed.append(str(run_dir))
        err = record["error"]
        print(
            f"seedexp: run failed (seed={plan.master}): {err['type']}: {_one_line(err['message'])}"
            f" - traceback in {run_dir / TRACEBACK_NAME}",
            file=sys.stderr,
        )
    return record


def _device_facts() -> dict[str, Any]:
    """Device/determinism facts of the frameworks this run imported."""
    facts: dict[str, Any] = {}
    if "torch" in sys.modules:
        from .frameworks.torch import device_facts

        facts.update(device_facts())
    if "tensorflow" in sys.modules:
        from .frameworks.keras import device_facts as tf_facts

        facts.update(tf_facts())
    return facts


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def task(cfg: Any) -> None:
    """The Hydra task function: one job of a run or of a sweep."""
    from hydra.core.hydra_config import HydraConfig

    from hydra.types import RunMode

    hc = HydraConfig.get()
    try:
        run_dir = Path(hc.runtime.output_dir)
        record = execute(cfg, run_dir, list(hc.overrides.task), resume=bool(cfg.get("resume", True)))
        if hc.mode == RunMode.RUN and record["status"] == "ok":
            shown = " ".join(f"{k}={v:.6g}" if v is not None else f"{k}=nan" for k, v in record["metrics"].items())
            print(f"seedexp: seed={record['seed']} {shown}\nrecord: {run_dir / RECORD_NAME}")
    except SeedexpError as exc:
        # A configuration error: one line (not Hydra's traceback), no record,
        # and the next jobs of a sweep still run. The CLI exits 2.
        if STATE.full_error:
            raise
        if str(exc) not in STATE.config_errors:
            print(f"seedexp: error: {exc}", file=sys.stderr)
        STATE.config_errors.append(str(exc))


def hydra_main() -> None:
    """Run Hydra on ``sys.argv`` with the shipped configs."""
    import hydra
    from hydra.core.plugins import Plugins

    # Hydra discovers plugins by walking the hydra_plugins namespace, which an
    # editable install cannot show it: register the sweeper by hand (public API).
    # After the scan: it re-executes core plugin modules, BasicSweeper included.
    plugins = Plugins.instance()
    from hydra_plugins.seedexp_sweeper import SeedexpSweeper

    plugins.register(SeedexpSweeper)

    hydra.main(version_base=None, config_path=str(CONF_DIR), config_name="config")(task)()


