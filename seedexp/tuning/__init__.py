"""Hyper-parameter tuning that is honest about seeds (:func:`tune`, the ``seedexp_tune`` Hydra sweeper).

A search on one seed per trial picks lucky seeds, and its best score is
optimistic (the winner's curse). Here:

* every trial runs the SAME search seeds (common random numbers), and its
  objective is a declared statistic of the per-seed metric: the mean, or the
  pessimistic end of its t interval (``statistic="bound"``);
* optionally, seeds adapt per trial: a trial clearly worse than the incumbent
  (a paired, anytime-valid rule) stops early, the contenders get every seed
  (:class:`~seedexp.tuning.settings.Adaptive`, with its guarantee);
* the top-k configurations are re-run on FRESH seeds never used in the search
  and compared with the search's winner by the declared paired test and Holm;
  the report shows each finalist's search score against its fresh score;
* every run is an ordinary seedexp record (resume, ``seedexp report``,
  ``seedexp verify``), and a killed study re-run with the same call replays
  the seeded sampler over the records on disk: no finished run runs again.

Modules: :mod:`.space` (search spaces, Hydra sweep syntax), :mod:`.study` (the
engine both front-ends share), :mod:`.api` (:func:`tune`), :mod:`.report`
(trials.csv, finalists.csv, tuning.md, tuning.png). Needs Optuna
(``pip install 'seedexp[tune]'``), imported when a study starts.
"""

from __future__ import annotations

from .api import TuneResult, tune
from .space import parse_space

__all__ = ["tune", "TuneResult", "parse_space"]
