"""What a tuning study is, before it runs: its settings, adaptive seeds, fresh seeds, samplers, runners.

:class:`Settings` is the study's identity (a resume must match it);
:class:`Adaptive` the per-trial early stop with its guarantee;
:class:`Runner` the interface through which a front-end (the Python API,
the Hydra sweeper) runs a study's jobs; :mod:`seedexp.tuning.study` runs it.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from .space import Space

__all__ = ["STATISTICS", "SAMPLERS", "STATES", "Adaptive", "Settings", "Runner", "import_optuna", "make_sampler",
           "fresh_seed_list"]

#: What a trial's objective may be: the mean over seeds, or the pessimistic end of its t interval.
STATISTICS = ("mean", "bound")
#: Samplers by name (Python API; the Hydra route takes hydra-optuna-sweeper's ``sampler: {_target_: ...}``).
SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "nsga2": "NSGAIISampler"}
#: Trial states in tuning.json: ran every search seed / stopped early by the adaptive rule / a run failed.
STATES = ("complete", "stopped", "failed")


def import_optuna() -> Any:
    """Optuna, imported quietly (2.10 warns about SQLAlchemy 2 at import); a one-line error if absent."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import optuna
    except ImportError:
        raise ConfigError("tuning needs Optuna, which is not installed: pip install 'seedexp[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(name: str, seed: int) -> Any:
    """An Optuna sampler by name (:data:`SAMPLERS`), seeded."""
    optuna = import_optuna()
    if name not in SAMPLERS:
        raise ConfigError(f"sampler={name!r}: expected one of {', '.join(SAMPLERS)}, or an Optuna sampler instance")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of some samplers in some versions
        return getattr(optuna.samplers, SAMPLERS[name])(seed=seed)


def fresh_seed_list(search: Sequence[int], fresh: Any) -> list[int]:
    """The fresh seeds: ``fresh`` itself (a list, checked disjoint from ``search``) or, for a count, the
    smallest non-negative integers not used in the search."""
    from ..api import _seeds

    if fresh is None:
        fresh = len(search)
    if isinstance(fresh, int) and not isinstance(fresh, bool):
        if fresh < 2:
            raise ConfigError(f"fresh_seeds={fresh!r}: the finalists' re-check needs at least 2 fresh seeds")
        used, out, k = set(search), [], 0
        while len(out) < fresh:
            if k not in used:
                out.append(k)
            k += 1
        return out
    values = _seeds(fresh)
    reused = sorted(set(values) & set(search))
    if reused:
        raise ConfigError(f"fresh_seeds reuses search seed(s) {', '.join(map(str, reused[:5]))}: fresh seeds must "
                          "never have been used in the search (that is what makes the re-check honest)")
    if len(values) < 2:
        raise ConfigError("fresh_seeds: the finalists' re-check needs at least 2 fresh seeds")
    return values


@dataclass(frozen=True)
class Adaptive:
    """Adaptive seeds per trial: stop a trial early when it is clearly worse than the incumbent.

    A trial runs its first ``min_seeds`` search seeds, then ``batch`` more at
    a time. After each batch its per-seed values are paired with the
    incumbent's on the same seeds (the best trial so far that ran every
    search seed), and the anytime-valid confidence sequence of the mean
    difference (:func:`seedexp.sequential.confidence_sequence`, level
    ``confidence``) is computed; if it lies entirely on the worse side of 0,
    the trial stops ("stopped"). A trial never clearly worse runs every search
    seed: the contenders get the seeds.

    The guarantee: for a fixed comparator, a trial whose true mean is at least
    the comparator's is stopped with probability at most ``1 - confidence``,
    however many looks are taken (Ville's inequality: the sequence holds at
    every seed count at once; see :mod:`seedexp.sequential` for the
    assumptions: per-seed differences independent and near normal). It is a
    per-trial guarantee: over T trials, at most ``T (1 - confidence)`` good
    trials are expected to be stopped wrongly. The incumbent is itself the best
    of the trials so far on these seeds, so its values are optimistic; that
    bias makes the rule stop *more*, never keep a bad trial, and it is why no
    claim rests on search scores: the finalists are re-run on fresh seeds.

    Parameters
    ----------
    min_seeds : int
        Seeds every trial runs before it may be stopped (>= 2). Default 5: at
        95% the confidence sequence is unbounded below 5 pairs, so no trial
        stops earlier anyway (4 at 90%).
    batch : int
        Seeds added per look. Default 1. Not tied to the worker count, so the
        study is the same for any ``n_jobs``.
    confidence : float
        Level of the confidence sequence. Default 0.95.
    """

    min_seeds: int = 5
    batch: int = 1
    confidence: float = 0.95

    def __post_init__(self) -> None:
        def bad(key: str, accepted: str) -> ConfigError:
            return ConfigError(f"adaptive.{key}={getattr(self, key)!r} is not accepted: {accepted}")

        if isinstance(self.min_seeds, bool) or not isinstance(self.min_seeds, int) or self.min_seeds < 2:
            raise bad("min_seeds", "an integer >= 2")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise bad("batch", "an integer >= 1")
        if isinstance(self.confidence, bool) or not isinstance(self.confidence, (int, float)) \
                or not 0 < self.confidence < 1:
            raise bad("confidence", "a number strictly between 0 and 1, e.g. 0.95")

    @classmethod
    def of(cls, value: Any) -> "Adaptive | None":
        """``None``/``False``: off; ``True``: the defaults; a mapping: these keys (an unknown key is an error)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if not hasattr(value, "items"):
            raise ConfigError(f"adaptive={value!r}: expected null, true, or a mapping with min_seeds, batch, confidence")
        given = {str(k): v for k, v in value.items()}
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"adaptive.{unknown[0]} is not an adaptive option; accepted: min_seeds, batch, confidence")
        return cls(**given)


@dataclass
class Settings:
    """What a study is; every field but the last four is part of its identity (a resume must match it)."""

    experiment: str
    space: Space
    seeds: list[int]
    metrics: list[str] | None  # None: decided from the first ok run (report.primary_metric, or the only metric)
    statistic: str
    sampler: str
    sampler_seed: int
    adaptive: Adaptive | None
    directions: dict[str, bool]  # report.higher_is_better
    n_trials: int
    finalists: int
    fresh_seeds: list[int]
    report: dict[str, Any]

    def identity(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "space": self.space.to_dict(), "seeds": self.seeds,
                "metrics": self.metrics, "statistic": self.statistic, "sampler": self.sampler,
                "sampler_seed": self.sampler_seed,
                "adaptive": dataclasses.asdict(self.adaptive) if self.adaptive else None}


class Runner:
    """How a front-end runs jobs. Subclasses implement :meth:`plan` and :meth:`run`."""

    def plan(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """``{"group", "seed", "overrides"}`` of the run of ``params`` with master seed ``seed`` (for sweep.json)."""
        raise NotImplementedError

    def run(self, phase: str, jobs: Sequence[tuple[Mapping[str, Any], int]]) -> list[dict[str, Any] | None]:
        """Run (or resume) every job in ``<out>/<phase>``; return their records in job order (None: none readable)."""
        raise NotImplementedError
