"""What seedexp says to a person: one logger, and the handler a front-end puts on it.

Library code never prints. What a person at a terminal should read (a run
that failed, a crashed attempt run again, the summary at the end of a sweep,
the progress of ``seed=auto``) goes to the logger ``seedexp.console``:
``log.info`` for what goes to stdout, ``log.warning``/``log.error`` for
stderr, each message the whole line as it is shown. Nothing is shown unless
someone asks:

* a library user sees nothing (``seedexp`` has a ``NullHandler``), or what
  their own ``logging`` configuration shows;
* in a Hydra app, Hydra's logging configuration shows it (with its format);
* the ``seedexp`` command and :func:`seedexp.main` call :func:`show`: the
  lines appear as they are, INFO on stdout and WARNING and above on stderr,
  in this process and in the worker processes it starts (they inherit
  ``SEEDEXP_CONSOLE=1`` and install the same handler when seedexp loads this
  module there).
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["LOGGER", "ENV", "log", "show"]

LOGGER = "seedexp.console"
#: Set by :func:`show`, inherited by worker processes: show the lines there too.
ENV = "SEEDEXP_CONSOLE"

log = logging.getLogger(LOGGER)


class _Console(logging.Handler):
    """The message alone: INFO and below on stdout, WARNING and above on stderr (the streams of the moment)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - as logging.StreamHandler: a closed stream must not kill the run
            self.handleError(record)


def show() -> None:
    """Show :data:`LOGGER`'s lines on this process's stdout/stderr, as they are; worker processes too."""
    os.environ[ENV] = "1"
    _install()


def _install() -> None:
    if not any(isinstance(h, _Console) for h in log.handlers):
        handler = _Console()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # shown once, here; not again by the root logger's handlers (Hydra's)


if os.environ.get(ENV) == "1":  # a worker process of a front-end that shows them
    _install()
