"""The statistics of a sweep: pure estimators, the declared analysis, and the summary built from them.

* :mod:`seedexp.stats.estimators`: pure functions of arrays (intervals,
  bootstrap, paired tests, effect size, win rate, p-value adjustment); no I/O.
* :mod:`seedexp.stats.options`: the report options, their defaults and their
  one check (:func:`check_options`, at the entry).
* :mod:`seedexp.stats.summary`: run records -> the summary dict
  (:func:`summarize`), in short steps.

Reading a sweep directory is :mod:`seedexp.sweepdir`; rendering the summary
(markdown, CSV, PNG) is :mod:`seedexp.report`. Importing this package imports
numpy only; scipy and statsmodels are imported when a statistic is computed.
"""

from __future__ import annotations

from .estimators import (
    STAT_NAMES,
    adjust_pvalues,
    bootstrap_interval,
    describe,
    difference_interval,
    effect_size_dz,
    log_interval,
    mean_interval,
    median_interval,
    paired,
    paired_pvalue,
    win_rate,
)
from .options import DEFAULTS, Options, check_options, higher_is_better_default
from .summary import RUN_STATUSES, SUMMARY_SCHEMA, summarize

__all__ = [
    "STAT_NAMES", "adjust_pvalues", "bootstrap_interval", "describe", "difference_interval", "effect_size_dz",
    "log_interval", "mean_interval", "median_interval", "paired", "paired_pvalue", "win_rate",
    "DEFAULTS", "Options", "check_options", "higher_is_better_default",
    "RUN_STATUSES", "SUMMARY_SCHEMA", "summarize",
]
