"""The one lifecycle of a sweep: lock, clean up, plan, run, summary (always), tracking.

Both front-ends of a sweep call :func:`run_sweep`: the Python API
(:func:`seedexp.sweep`) and the Hydra sweeper (:mod:`seedexp.hydra.sweeper`).
Each brings its own way to launch the runs and its own way to say what
happened (warnings, or lines and an exit code); what is done to the sweep
directory (:mod:`seedexp.sweepdir`) is the same:

1. hold the sweep dir's lock (one sweep writes a directory at a time);
2. remove the temp files a killed write left behind;
3. write the plan, ``sweep.json`` (and drop a stale ``stopping.json``);
4. launch the runs (by default in warm worker processes the front-end supervises,
   :mod:`seedexp.supervise`: a run whose process dies gets its own record and the
   launch goes on);
5. write the summary from the records on disk, whatever happened to the runs
   (Hydra's ``on_multirun_end`` does not fire when a job failed, so the sweep's
   end belongs here);
6. send the summary and runs to a tracker, if asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .core import one_line
from .errors import SeedexpError
from .summary_files import write_summary
from .stats.options import check_options
from .sweepdir import STOPPING_NAME, clean_orphans, sweep_lock, write_plan

__all__ = ["INTERRUPTED", "Outcome", "run_sweep"]

#: The line of a sweep stopped with Ctrl-C.
INTERRUPTED = "interrupted; records already written are kept - re-run the same command to resume"


@dataclass
class Outcome:
    """What :func:`run_sweep` did: the summary, and what the front-end has to say or raise.

    Attributes
    ----------
    summary : dict or None
        The summary written at the end; None when it could not be (``problem`` says why).
    errors : list of str
        One line each for what stopped the sweep because it cannot run as asked
        (a configuration error, Ctrl-C): the summary is partial.
    exception : BaseException or None
        The exception that ended the launch, if one did (``errors`` or ``crash`` has its line).
    crash : str or None
        The line of a launcher or worker that died (not the user's error): the
        summary names the crashed and missing runs.
    problem : str or None
        Why the summary could not be written (the records are intact); ``summary_error`` is its exception.
    tracking : list of str
        One line per problem sending the sweep to a tracker (its files are complete).
    """

    summary: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    exception: BaseException | None = None
    crash: str | None = None
    problem: str | None = None
    summary_error: Exception | None = None
    tracking: list[str] = field(default_factory=list)


def run_sweep(sweep_dir: Path, launch: Callable[[list[str]], None], *, options: Mapping[str, Any],
              plan: Callable[[], list[dict[str, Any]]] | None = None, prepare: Callable[[], None] | None = None,
              tracking: Any = None, explain: Callable[[Exception], str | None] | None = None) -> Outcome:
    """The lifecycle of one sweep: lock, clean up, write the plan, launch, write the summary, send it.

    The summary is written whatever happened to the runs (in ``finally``
    spirit: a failed run, a worker that died, Ctrl-C), from the records on disk.

    Parameters
    ----------
    sweep_dir : path
        The sweep directory (absolute).
    launch : callable
        ``launch(errors)`` runs the sweep's runs; it appends a line to ``errors``
        when a run found that what was asked cannot run, and stops.
    options : mapping
        The report options, checked before any run (pass the
        :class:`~seedexp.stats.options.Options` the front-end checked).
    plan : callable, optional
        ``plan()``: the planned runs, written as ``sweep.json`` before any run
        and not kept (a 10,000-run sweep does not hold them; an earlier adaptive
        sweep's ``stopping.json`` is removed); None when ``prepare`` writes the
        plan itself (``seed=auto`` plans batch by batch).
    prepare : callable, optional
        Called under the lock after the plan is written, before the launch.
    tracking : mapping, optional
        Checked ``tracking:`` settings (:func:`seedexp.tracking.check_config`);
        the summary and runs are sent after the summary is written.
    explain : callable, optional
        ``explain(exc)``: the one line of an exception of the launch that means
        "cannot run as asked" (a composition error), else None (a crash).

    Returns
    -------
    Outcome
    """
    opt = check_options(options)
    planned = None
    if opt["task"] is not None and plan is not None:  # a benchmark's task key, checked on the plan before any run
        from .stats.benchmark import check_task

        planned = plan()
        check_task((p["group"] for p in planned), opt["task"])
    out = Outcome()
    with sweep_lock(sweep_dir):
        clean_orphans(sweep_dir)
        if plan is not None:
            write_plan(sweep_dir, planned if planned is not None else plan())
            planned = None
            (sweep_dir / STOPPING_NAME).unlink(missing_ok=True)  # an earlier adaptive sweep's, now stale
        if prepare is not None:
            prepare()
        try:
            launch(out.errors)
        except KeyboardInterrupt as exc:
            out.exception = exc
            out.errors.append(INTERRUPTED)
        except Exception as exc:  # noqa: BLE001 - the summary must still be written
            out.exception = exc
            line = str(exc) if isinstance(exc, SeedexpError) else explain(exc) if explain is not None else None
            if line is not None:
                out.errors.append(line)
            else:
                out.crash = f"the launcher stopped the sweep: {type(exc).__name__}: {one_line(str(exc), 300)}"
        try:
            out.summary = write_summary(sweep_dir, options=opt)
        except SeedexpError as exc:
            out.problem, out.summary_error = str(exc), exc
        except OSError as exc:
            out.summary_error = exc
            out.problem = (f"cannot write the summary in {str(sweep_dir)!r} ({exc.strerror or exc}); the records are "
                           f"intact - run `seedexp report {sweep_dir} --out DIR` to write it elsewhere")
    if out.summary is not None and tracking is not None:
        from .tracking import send

        out.tracking = list(send(sweep_dir, out.summary, tracking))
    return out
