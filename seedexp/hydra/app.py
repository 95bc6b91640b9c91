"""``@seedexp.main``'s front-end: what cannot run is one line, as with the ``seedexp`` command.

:func:`run_app` runs the app's ``hydra.main`` so that Hydra raises instead of
printing its own report, and turns what cannot run into one line naming it: a
bad override or config (:func:`seedexp.hydra.task.error_line`), a
:class:`~seedexp.errors.SeedexpError`, a ``hydra.job_logging`` handler whose
file cannot be opened (:func:`logging_error_line`, which the sweeper and the
command use too). seedexp's warnings are shown as one ``seedexp: warning:``
line, and Hydra's "Defaults list is missing `_self_`" once per process
(:func:`one_line_warnings`).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from ..console import log as console
from ..core import one_line
from ..errors import SeedexpWarning
from ..redact import redact_text

__all__ = ["logging_error_line", "null_group_line", "error_line", "one_line_warnings", "hydra_raises", "run_app"]


def logging_error_line(exc: BaseException) -> str | None:
    """One line for a ``hydra.job_logging`` / ``hydra_logging`` config that cannot be applied, else None.

    ``logging.config`` says only ``Unable to configure handler 'file'``; the
    file it could not open is in the exception's cause.
    """
    found = re.match(r"Unable to configure (handler|formatter|filter|logger|root logger)\s*'?([^']*)'?", str(exc))
    if not isinstance(exc, ValueError) or not found:
        return None
    what, name = found.group(1), found.group(2)
    cause, seen = exc.__cause__ or exc.__context__, 0
    while cause is not None and not isinstance(cause, OSError) and seen < 10:
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    if isinstance(cause, OSError) and cause.filename:
        return (f"hydra.job_logging: the log {what} {name!r} cannot open {cause.filename} "
                f"({cause.strerror or type(cause).__name__}); its directory must exist when the job starts: put the "
                "file in the job's run dir, e.g. filename: ${hydra.runtime.output_dir}/output.log (with a "
                "hydra.sweep.subdir of your own, seedexp keeps it: docs/how-to/hydra-app.md, 'What seedexp sets in hydra.*')")
    detail = one_line(str(cause), 200) if cause is not None else ""
    return f"hydra.job_logging: the log {what} {name!r} cannot be configured" + (f" ({detail})" if detail else "")


def null_group_line(exc: BaseException, argv: Sequence[str]) -> str | None:
    """One line for a config group set to null (``experiment=null``), else None: Hydra's own names no override."""
    if not isinstance(exc, ValueError) or "Config group override must be" not in str(exc):
        return None
    nulls = [a.split("=", 1)[0].lstrip("+~") for a in argv
             if "=" in a and a.split("=", 1)[1].strip().lower() in ("null", "none", "~")]
    groups = [k for k in nulls if k == "experiment" or "/" in k] or nulls or ["a config group"]
    key = groups[0]
    return (f"{key}=null: a config group takes the name of one of its configs, not null, e.g. "
            f"{key}={'imbalanced_clf' if key == 'experiment' else 'NAME'} (--help lists them); "
            f"to drop it from the defaults use ~{key}")


def error_line(exc: BaseException) -> str | None:
    """One line for what cannot run in an app (None: an unexpected error, shown with its traceback)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from ..errors import SeedexpError
    from .task import error_line as compose_line

    if isinstance(exc, SeedexpError):
        return one_line(str(exc), 1000)
    if isinstance(exc, (HydraException, OmegaConfBaseException, YAMLError)):
        return one_line(compose_line(exc), 1000)
    return null_group_line(exc, sys.argv[1:]) or logging_error_line(exc)


#: Hydra warns this at every composition of the config (a sweep composes it again).
_REPEATED = re.compile(r"In '[^']*': Defaults list is missing `_self_`")


def one_line_warnings() -> None:
    """Show seedexp's own warnings as ``seedexp: warning: ...`` (one line), others as Python does.

    Hydra's "Defaults list is missing `_self_`" is shown once per process, not at
    every composition (a ``"once"`` filter does not hold: Python forgets what it
    showed whenever any code changes the warning filters).
    """
    if getattr(warnings.showwarning, "_seedexp", False):
        return
    shown = warnings.showwarning
    seen: set[str] = set()

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = str(message)
        if _REPEATED.match(text):
            if text in seen:
                return
            seen.add(text)
        if isinstance(category, type) and issubclass(category, SeedexpWarning):
            (file or sys.stderr).write(f"seedexp: warning: {message}\n")
        else:
            shown(message, category, filename, lineno, file, line)

    show._seedexp = True  # type: ignore[attr-defined]
    warnings.showwarning = show


@contextmanager
def hydra_raises() -> Iterator[bool]:
    """Let Hydra raise its errors (``HYDRA_FULL_ERROR=1``) for seedexp to make one line of; yield the user's choice.

    The user's ``HYDRA_FULL_ERROR=1`` (or the ``SEEDEXP_FULL_ERROR`` an outer seedexp
    front-end set) means: show the traceback. The jobs read that choice as
    ``SEEDEXP_FULL_ERROR`` (:func:`seedexp.hydra.task.full_error`). The environment
    is restored after.
    """
    saved = {k: os.environ.get(k) for k in ("HYDRA_FULL_ERROR", "SEEDEXP_FULL_ERROR")}
    user_full = os.environ.get("SEEDEXP_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR")) == "1"
    os.environ["SEEDEXP_FULL_ERROR"] = "1" if user_full else "0"
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield user_full
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_app(hydra_main: Callable[[], Any]) -> Any:
    """Run a ``hydra.main``-decorated function; what cannot run is one line on stderr and exit 2.

    As the ``seedexp`` command does: Hydra raises instead of printing its own
    report (``HYDRA_FULL_ERROR=1`` for it), and the user's own
    ``HYDRA_FULL_ERROR=1`` still shows the traceback. An unexpected error keeps
    its traceback.
    """
    one_line_warnings()
    with hydra_raises() as user_full:
        try:
            return hydra_main()
        except KeyboardInterrupt:
            console.error("seedexp: interrupted; records already written are kept - re-run the same command to "
                          "resume")
            raise SystemExit(130) from None
        except Exception as exc:  # noqa: BLE001 - sorted below: one line for what cannot run, else re-raised
            from ..errors import SeedexpError, SweepError

            # seedexp.hydra.sweeper.SweepStopped carries its error (its line is "seedexp: ..."); a run that failed
            # under another sweeper (Optuna's) is a SweepError itself
            stopped = exc if isinstance(exc, SweepError) else getattr(exc, "error", None)
            if isinstance(stopped, SweepError) and stopped is exc and not user_full:
                console.error(f"seedexp: {redact_text(one_line(str(exc), 1000))}")
                raise SystemExit(1) from None
            if isinstance(stopped, SeedexpError) and not user_full:
                console.error(f"{exc}" + ("" if isinstance(stopped, SweepError) else
                                          " (HYDRA_FULL_ERROR=1 shows the traceback)"))
                raise SystemExit(1 if isinstance(stopped, SweepError) else 2) from None
            line = None if user_full else error_line(exc)
            if line is None:
                raise
            console.error(f"seedexp: error: {redact_text(line)} (HYDRA_FULL_ERROR=1 shows the traceback)")
            raise SystemExit(2) from None
