"""Write a sweep's summary files: summary.json, .csv, runs.csv, .md, .png, the benchmark and curve files, summary.html.

:func:`write_summary` is what a sweep calls at its end (:mod:`seedexp.lifecycle`)
and ``seedexp report``. It writes only files it owns: ``summary.json`` carries
the schema ``seedexp.summary/...`` and is written first, so a directory whose
``summary.json`` is someone else's (or that holds a ``summary.md`` with no
``summary.json``) is refused, and ``out_dir`` writes the summary elsewhere.
The rendering is in :mod:`seedexp.report`, :mod:`seedexp.report_curves`,
:mod:`seedexp.report_benchmark` and :mod:`seedexp.report_html`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .report import plot, runs_csv, to_csv, to_markdown
from .report_curves import CURVES_CSV, write_curves
from .stats.options import check_options
from .sweepdir import (OUTPUTS, SUMMARY_NAME, aggregate, load_stopping, load_summary, write_json_atomic,
                       write_text_atomic)

__all__ = ["check_destination", "write_summary"]


def check_destination(dest: Path) -> None:
    """Refuse to write a summary where files that are not seedexp's would be overwritten.

    ``summary.json`` must be absent or a seedexp summary (schema
    ``seedexp.summary/...``); without it, none of the other outputs may exist
    (they could be anyone's). The directory must be writable.

    Raises
    ------
    ConfigError
        One line naming the file, and the way out (``--out DIR`` / ``out_dir=``, or ``--no-write``).
    """
    dest = Path(dest)
    way_out = "write the summary elsewhere with --out DIR (out_dir=...), or print it with --no-write"
    existing = dest / SUMMARY_NAME
    if existing.exists() or existing.is_symlink():
        _, why = load_summary(dest)
        if why is not None:
            raise ConfigError(f"{existing} exists and is not a seedexp summary ({why}); "
                              f"refusing to overwrite it: {way_out}")
    else:
        foreign = [name for name in (*OUTPUTS[1:], CURVES_CSV) if (dest / name).exists()]
        if foreign:
            raise ConfigError(f"{dest} holds {', '.join(foreign)} but no seedexp summary.json, so they may not be "
                              f"seedexp's; refusing to overwrite them: {way_out}")
    if dest.exists() and not os.access(dest, os.W_OK):
        raise ConfigError(f"{dest} is not writable; {way_out}")


def write_summary(sweep_dir: Path, *, out_dir: Path | None = None, png: bool = True,
                  options: Mapping[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """Aggregate ``sweep_dir`` and write every summary file at its root (or in ``out_dir``).

    Parameters
    ----------
    sweep_dir : path
        The sweep directory (``hydra.sweep.dir``).
    out_dir : path, optional
        Where to write the files; default ``sweep_dir``.
    png : bool
        Also draw ``summary.png``.
    options : mapping, optional
        The report options, or the :class:`~seedexp.stats.options.Options` an
        entry checked already.
    **values
        Report options by name (the ``report:`` keys of the config), see
        :func:`seedexp.stats.options.check_options`; checked before any work.

    Returns
    -------
    dict
        The summary (:func:`seedexp.stats.summary.summarize`), with ``sweep_dir``,
        ``corrupt`` and ``out_dir``; for an adaptive sweep also ``stopping``
        (:func:`seedexp.sweepdir.load_stopping`).

    Raises
    ------
    ConfigError
        An option out of range, or a destination holding files that are not seedexp's.
    RecordError
        ``sweep_dir`` holds no seedexp record and no sweep plan.
    """
    opt = check_options(options, **values)
    sweep_dir = Path(sweep_dir)
    dest = Path(out_dir) if out_dir is not None else sweep_dir
    summary = aggregate(sweep_dir, options=opt)  # reads only; refuses a directory that is not a seedexp sweep
    stopping, problem = load_stopping(sweep_dir)
    if stopping is not None:
        summary["stopping"] = {**stopping, "fixed_n_tables_valid": False}  # the verdict is the design's, not theirs
    if problem:
        summary["corrupt"].append(problem)
    check_destination(dest)
    summary["out_dir"] = str(dest.absolute())
    dest.mkdir(parents=True, exist_ok=True)
    write_json_atomic(dest / SUMMARY_NAME, summary)  # first: it is what marks the others as ours
    write_text_atomic(dest / "summary.csv", to_csv(summary))
    write_text_atomic(dest / "runs.csv", runs_csv(summary))
    markdown = to_markdown(summary)
    write_text_atomic(dest / "summary.md", markdown)
    pictures = png
    if summary.get("benchmark"):
        from . import report_benchmark as benchmark_report

        write_text_atomic(dest / "benchmark.csv", benchmark_report.to_csv(summary))
        if png:
            benchmark_report.write_pictures(summary, dest)
            if not benchmark_report.per_group_plot(summary):  # the benchmark pictures show a large benchmark
                png = False
                (dest / "summary.png").unlink(missing_ok=True)  # not a stale one of an earlier report
    if png:
        plot(summary, dest / "summary.png")
    write_curves(summary, dest, png)  # curves.csv and curves_<metric>.png, when runs logged series
    from .report_html import write_html

    write_html(summary, dest, markdown=markdown, png=pictures)  # last: it embeds the pictures written above
    return summary
