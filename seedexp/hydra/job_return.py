"""What a job of a user's Hydra app returns to the sweeper: the task's own return value.

Hydra's search sweepers (Optuna, Nevergrad) read each job's return value as the
objective. A task may return one number (recorded as the metric
``report.primary_metric``, else ``objective``: :func:`number_metric`) or a dict
of metrics; the job hands the sweeper what the task returned
(:func:`task_return`), also when the run was resumed from its record; a dict
with the declared ``report.primary_metric`` gives that metric
(:func:`objective`). seedexp's own sweepers read the records on disk and get a
small status instead (:func:`job_status`).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..core import NUMBER_METRIC, one_line
from ..errors import SweepError

__all__ = ["number_metric", "task_return", "objective", "job_status", "sweeper_is_seedexp", "failed_run_error",
           "SEEDEXP_SWEEPERS"]

#: The ``_target_`` prefix of seedexp's sweepers (``hydra/sweeper=seedexp`` and ``seedexp_tune``).
SEEDEXP_SWEEPERS = "hydra_plugins.seedexp."


def number_metric(config: Mapping[str, Any]) -> str:
    """The name a bare number returned by the task is recorded under: ``report.primary_metric``, else ``objective``."""
    report = config.get("report")
    primary = report.get("primary_metric") if isinstance(report, Mapping) else None
    return str(primary) if isinstance(primary, str) and primary else NUMBER_METRIC


def task_return(record: Mapping[str, Any]) -> Any:
    """What the task returned, rebuilt from its ``ok`` record (a resumed run returns the same).

    A bare number comes back as that number (a float); a dict as its metrics
    (and ``fingerprints``); nothing as None. NaN and inf, stored as ``null``, come
    back as NaN.
    """
    metrics = {k: float("nan") if v is None else v for k, v in (record.get("metrics") or {}).items()}
    if not metrics and not record.get("fingerprints"):
        return None  # the task returned nothing (a Hydra task may)
    name = record.get("returned")
    if isinstance(name, str) and name in metrics:
        return metrics[name]
    out: dict[str, Any] = dict(metrics)
    if record.get("fingerprints"):
        out["fingerprints"] = dict(record["fingerprints"])
    return out


def objective(record: Mapping[str, Any], cfg: Any) -> Any:
    """What another sweeper (Optuna, Nevergrad) gets: the task's return value (:func:`task_return`).

    A task that returns a dict of metrics while the config declares
    ``report.primary_metric`` hands the sweeper that metric, a number: a search
    sweeper optimizes one number, and the declared metric is the one that decides.
    """
    value = task_return(record)
    if isinstance(value, dict):
        report = cfg.get("report") if hasattr(cfg, "get") else None
        primary = report.get("primary_metric") if report is not None and hasattr(report, "get") else None
        if isinstance(primary, str) and primary in value:
            return value[primary]
    return value


def job_status(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a job tells seedexp's own sweeper: the record is on disk, the driver needs only this."""
    out = {k: record[k] for k in ("status", "seed", "group") if k in record}
    if record.get("resumed"):
        out["resumed"] = True
    return out


def sweeper_is_seedexp(hydra_cfg: Any) -> bool:
    """Is the sweep run by a seedexp sweeper (not Optuna's, Nevergrad's, ...)? ``hydra_cfg``: ``HydraConfig.get()``."""
    from omegaconf import OmegaConf

    target = OmegaConf.select(hydra_cfg, "sweeper._target_", default=None)
    return isinstance(target, str) and target.startswith(SEEDEXP_SWEEPERS)


def failed_run_error(record: Mapping[str, Any]) -> SweepError:
    """The error a failed run raises under another sweeper (that sweeper marks its trial failed).

    A :class:`~seedexp.errors.SweepError`: it ran, a result is missing (exit 1 when it
    ends the sweep, as Optuna's does past its ``max_failure_rate``).
    """
    err = record.get("error") or {}
    return SweepError(f"run failed (seed={record.get('seed')}): {err.get('type')}: "
                           f"{one_line(str(err.get('message', '')), 300)}")
