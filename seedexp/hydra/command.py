"""The ``seedexp`` command's Hydra app: what :mod:`seedexp.cli` needs from Hydra, and nothing it prints.

The command line (:mod:`seedexp.cli`) parses its own words and prints; this
module runs the Hydra app behind ``seedexp [-m] OVERRIDES`` (the task is
:func:`seedexp.hydra.task.cli_task`) and names the errors and the directory
that the command turns into one line.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import _compat

__all__ = ["run_app", "usage_errors", "output_dir"]


def run_app(argv: Sequence[str], config_name: str | None) -> None:
    """Run ``seedexp ARGV`` (one run, or a sweep with ``-m``) with the primary config ``config_name``.

    Raises what Hydra raises (``SystemExit`` carries the exit code of a job or
    of ``--help``); :func:`usage_errors` says which of them are the user's. What
    the sweeper raised for Hydra to print (:class:`~seedexp.hydra.sweeper.SweepStopped`)
    is raised as the :class:`~seedexp.errors.SeedexpError` it carries: a
    :class:`~seedexp.errors.SweepError` (exit 1) or another (exit 2).
    """
    from .sweeper import SweepStopped
    from .task import cli_task

    _compat.use_version_base_none()  # Hydra 1.3 defaults (no chdir), as @hydra.main(version_base=None)
    parser = _compat.args_parser()
    args = parser.parse_args(list(argv))
    try:
        _compat.run_hydra(args, parser, cli_task, config_name)
    except SweepStopped as exc:
        raise exc.error from exc


def usage_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "what was asked cannot run" (a bad override, a config that does not compose)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    return HydraException, OmegaConfBaseException, YAMLError


def error_text(exc: BaseException) -> str:
    """The one line of a :func:`usage_errors` exception (:func:`seedexp.hydra.task.error_line`)."""
    from .task import error_line

    return error_line(exc)


def output_dir() -> str | None:
    """The output dir of the job Hydra was running, if it got that far."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    value: Any = HydraConfig.get().runtime.output_dir
    return str(value) if value else None
