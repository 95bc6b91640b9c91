"""The Python front-end of tuning: :func:`tune` and its :class:`TuneResult`. No Hydra needed.

Every run goes through :func:`seedexp.core.execute`, exactly as in
:func:`seedexp.sweep`: the search's runs are ordinary records under
``<out>/search`` and the finalists' fresh-seed runs under ``<out>/fresh``, each
a sweep directory ``seedexp report`` reads.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import ConfigError
from .space import parse_space
from .settings import STATISTICS, Adaptive, Runner, Settings, fresh_seed_list, import_optuna, make_sampler
from .study import Search

__all__ = ["tune", "TuneResult"]


class _PythonRunner(Runner):
    """Runs jobs with :func:`seedexp.core.execute`, here (``n_jobs=1``) or on supervised workers, in job order."""

    def __init__(self, fn: Callable[..., Any], out: Path, n_jobs: int, pins: Any, strict: bool, threads: Any,
                 resume: bool) -> None:
        from ..code_identity import code_identity

        self.fn, self.out, self.n_jobs = fn, out, n_jobs
        self.pins, self.strict, self.threads, self.resume = pins, strict, threads, resume
        self.code = code_identity(fn)

    def _spec(self, params: Mapping[str, Any], seed: int) -> Any:
        from ..api import _spec

        return _spec(self.fn, seed, params, self.pins, self.strict, self.threads, self.code)

    def plan(self, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
        spec = self._spec(params, seed)
        return {"group": spec.group, "seed": seed, "overrides": spec.overrides}

    def run(self, phase: str, jobs: Sequence[tuple[Mapping[str, Any], int]]) -> list[dict[str, Any] | None]:
        from ..api import _run_dir, _run_one, _supervised
        from ..core import completed_record
        from ..sweepdir import existing_record

        where = self.out / phase
        dirs = [_run_dir(where, self._spec(p, s)) for p, s in jobs]
        todo = [job for job, d in zip(jobs, dirs)
                if not (self.resume and completed_record(d, self._spec(*job)) is not None)]
        run_one = functools.partial(_run_one, self.fn, str(where), self.pins, self.strict, self.threads, self.resume,
                                    self.code)
        if self.n_jobs == 1 or len(todo) <= 1:
            for params, seed in todo:
                run_one(params, seed)
        else:  # supervised workers: a run whose process dies is a crashed record, the study goes on
            _supervised(run_one, todo, self.n_jobs, where, "process", None, None, False, _NoBar(), self._spec)
        return [existing_record(d) for d in dirs]  # in job order: what the study sees does not depend on who finished first


class _NoBar:
    """The study shows its own progress (per trial): its runs' supervisor updates nothing."""

    def update(self, n: int) -> None:
        pass


class TuneResult:
    """What :func:`tune` found: the best configuration, the finalists' re-check, every trial.

    Attributes
    ----------
    best : dict
        The chosen configuration's parameters: the search's winner, unless a
        finalist beat it on the fresh seeds (then that one; see :attr:`verdict`).
    verdict : str
        One sentence: did the winner hold on fresh seeds?
    finalists : list of dict
        Per finalist: search score, fresh score, optimism (search minus fresh,
        in the metric's better direction) and the paired comparison with the winner.
    data : dict
        Everything in ``tuning.json``.
    study : optuna.Study
        The in-memory Optuna study (rebuilt from the records on a resume).
    out : pathlib.Path
        The study's directory.
    """

    def __init__(self, data: Mapping[str, Any], study: Any, out: Path) -> None:
        self.data = {k: v for k, v in data.items() if not k.startswith("_")}
        self.study, self.out = study, out
        self.summaries = data.get("_summaries", {})

    @property
    def best(self) -> dict[str, Any] | None:
        best = self.data.get("best")
        return dict(best["params"]) if best else None

    @property
    def verdict(self) -> str:
        return self.data.get("verdict", "")

    @property
    def finalists(self) -> list[dict[str, Any]]:
        return list(self.data.get("finalists", []))

    @property
    def trials(self) -> Any:
        """A pandas DataFrame, one row per trial: number, state, seeds, statistics, objective, parameters."""
        import pandas as pd

        from .report import trial_rows

        return pd.DataFrame(trial_rows(self.data))

    def finalists_frame(self) -> Any:
        """A pandas DataFrame of the finalists' re-check (search vs fresh score, optimism, comparison)."""
        import pandas as pd

        from .report import finalist_rows

        return pd.DataFrame(finalist_rows(self.data))

    def to_markdown(self) -> str:
        from .report import to_markdown

        return to_markdown(self.data)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        n = len(self.data.get("trials", []))
        return f"<seedexp TuneResult: {n} trials, best {self.best}; {self.verdict}>"


def _n(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name}={value!r} must be an integer >= {low}")
    return value


def tune(fn: Callable[..., Mapping[str, Any]], space: Mapping[str, Any], seeds: int | Iterable[int] = 5,
         n_trials: int = 20, *, metric: str | Sequence[str] | None = None, statistic: str = "mean",
         n_jobs: int = 1, out: str | os.PathLike | None = None, sampler: Any = "tpe", seed: int = 0,
         adaptive: Any = None, finalists: int = 3, fresh_seeds: int | Iterable[int] | None = None,
         fixed: Mapping[str, Any] | None = None, pins: Mapping[str, int] | None = None, strict: bool = False,
         threads: int | None = None, resume: bool = True, progress: bool = True, plots: bool = True,
         report: Mapping[str, Any] | None = None, tracking: Any = None) -> TuneResult:
    """Search hyper-parameters where every trial runs the same seeds; re-check the finalists on fresh seeds.

    Parameters
    ----------
    fn : callable
        ``fn(seeds, **params) -> {metric: number}``, as for :func:`seedexp.sweep`.
        With ``n_jobs > 1`` it must be picklable (defined in a module).
    space : mapping
        Parameter name -> distribution: a list of choices, or Hydra sweep syntax
        (``"interval(0, 1)"``, ``"tag(log, interval(1e-4, 1))"``, ``"range(2, 8)"``
        with both ends included, ``"choice(a, b)"``); see :mod:`seedexp.tuning.space`.
    seeds : int or iterable of int
        The search seeds, the SAME for every trial (common random numbers):
        ``5`` means ``range(5)``. With ``adaptive``, the most any trial runs.
    n_trials : int
        Trials asked from the sampler.
    metric : str or list of str, optional
        The metric to optimise; default ``report["primary_metric"]``, else the
        runs' only metric. A list makes a multi-objective study (finalists: the
        Pareto front, re-checked on the first metric). Its direction comes from
        ``report["higher_is_better"]``, else from its name (losses and errors
        are minimised).
    statistic : {"mean", "bound"}
        A trial's objective: the mean over its seeds, or the pessimistic end
        of its t interval (the lower bound when higher is better) at
        ``report["confidence"]``, which prefers configurations that are good
        on every seed.
    n_jobs : int
        Worker processes for the seeds of a trial (supervised, as in
        :func:`seedexp.sweep`: a run whose process dies is a ``crashed`` record
        and the study goes on). The trials,
        their order, their records and the result are the same for every
        ``n_jobs``: trials are asked and told in a fixed order.
    out : path, optional
        The study's directory (default ``multirun/tune_<fn name>``): ``search/``
        and ``fresh/`` hold the runs, the root ``tuning.json``, ``trials.csv``,
        ``finalists.csv``, ``tuning.md`` and ``tuning.png``. Running the same
        call again resumes: finished runs are not run again.
    sampler : {"tpe", "random", "cmaes", "nsga2"} or optuna sampler
        Optuna's sampler. A name is seeded from ``seed`` (stream
        ``tune.sampler``), so the search is reproducible; an instance is used
        as given (give it a seed yourself, or resume cannot replay it).
    seed : int
        The study's master seed (the sampler's seed derives from it).
    adaptive : {None, True, mapping}
        Adaptive seeds per trial, ``{"min_seeds": 5, "batch": 1,
        "confidence": 0.95}``: a trial clearly worse than the incumbent stops
        early (see :class:`seedexp.tuning.settings.Adaptive` for its guarantee).
    finalists : int
        How many of the best configurations are re-run on fresh seeds (>= 1).
    fresh_seeds : int or iterable of int, optional
        The fresh seeds: a count (default: as many as ``seeds``; the smallest
        integers not used in the search) or a list disjoint from ``seeds``.
    fixed : mapping, optional
        Parameters passed to every trial unchanged.
    pins, strict, threads, resume
        As for :func:`seedexp.run`.
    progress : bool
        A progress bar over the trials.
    plots : bool
        Draw ``tuning.png`` and each phase's ``summary.png``.
    report : mapping, optional
        The report options (:func:`seedexp.summary_files.write_summary`): ``confidence``,
        ``test`` and ``correction`` (the finalists' declared paired test and its
        multiple-comparison correction, Holm by default), ``higher_is_better``, ...
    tracking : str or mapping, optional
        Send the study's two sweeps (every trial as a group, the finalists'
        fresh runs with their comparisons) to MLflow / TensorBoard / W&B, as
        :func:`seedexp.sweep` does.

    Returns
    -------
    TuneResult

    Examples
    --------
    >>> import tempfile, seedexp
    >>> def f(seeds, x):
    ...     return {"score": -(x - 0.3) ** 2 + 0.01 * seeds.generator("noise").normal()}
    >>> r = seedexp.tune(f, {"x": "interval(0, 1)"}, seeds=3, n_trials=6, finalists=2,
    ...                  out=tempfile.mkdtemp(), progress=False, plots=False)
    >>> len(r.trials), [f["rank"] for f in r.finalists], sorted(r.best)
    (6, [1, 2], ['x'])
    """
    from ..stats.options import check_options
    from ..api import _name, _seeds
    from ..seeds import SeedPlan, check_seed

    _n(n_trials, "n_trials", 1)
    _n(n_jobs, "n_jobs", 1)
    _n(finalists, "finalists", 1)
    if statistic not in STATISTICS:
        raise ConfigError(f"statistic={statistic!r}: expected one of {', '.join(STATISTICS)}")
    parsed = parse_space(space, fixed)
    seed_list = _seeds(seeds)
    ad = Adaptive.of(adaptive)
    if ad is not None and ad.min_seeds > len(seed_list):
        raise ConfigError(f"adaptive.min_seeds={ad.min_seeds} is more than the {len(seed_list)} search seeds; "
                          "give more seeds or a smaller min_seeds")
    if statistic == "bound" and len(seed_list) < 2:
        raise ConfigError("statistic='bound' needs at least 2 seeds per trial (an interval); give seeds >= 2")
    metrics = None if metric is None else ([metric] if isinstance(metric, str) else [str(m) for m in metric])
    if metrics is not None and (not metrics or len(set(metrics)) != len(metrics) or not all(metrics)):
        raise ConfigError(f"metric={metric!r}: expected a metric name or a list of distinct names")
    if metrics is not None and len(metrics) > 1 and ad is not None:
        raise ConfigError("adaptive seeds need a single metric (a multi-objective trial has no single 'worse'); "
                          "drop adaptive or give one metric")
    opt = check_options(dict(report or {}))
    if tracking is not None:
        from ..tracking import check_config

        tracking = check_config(tracking)
    import_optuna()  # a missing Optuna fails before any run
    master = check_seed(seed, "seed")
    sampler_seed = SeedPlan(master).seed("tune.sampler")
    if isinstance(sampler, str):
        name = sampler if not (metrics and len(metrics) > 1 and sampler == "tpe") else "nsga2"
        make_sampler(name, sampler_seed)  # an unknown name fails now
        factory = functools.partial(make_sampler, name, sampler_seed)
        sampler_id = name
    else:
        if not hasattr(sampler, "sample_independent"):
            raise ConfigError(f"sampler={sampler!r}: expected a name ({', '.join(['tpe', 'random', 'cmaes', 'nsga2'])}) "
                              "or an Optuna sampler instance")
        factory, sampler_id = (lambda: sampler), type(sampler).__name__
    out_dir = Path(out if out is not None else Path("multirun") / f"tune_{getattr(fn, '__name__', 'fn')}").absolute()
    settings = Settings(experiment=_name(fn), space=parsed, seeds=seed_list, metrics=metrics, statistic=statistic,
                        sampler=sampler_id, sampler_seed=sampler_seed, adaptive=ad,
                        directions=dict(opt["higher_is_better"] or {}), n_trials=n_trials, finalists=finalists,
                        fresh_seeds=fresh_seed_list(seed_list, fresh_seeds),
                        report={k: v for k, v in dict(report or {}).items()} | {"confidence": opt["confidence"]})
    runner = _PythonRunner(fn, out_dir, n_jobs, pins, strict, threads, resume)
    from ..sweepdir import clean_orphans, sweep_lock

    with sweep_lock(out_dir):
        clean_orphans(out_dir)
        search = Search(settings, runner, out_dir, factory, progress=progress, png=plots)
        data = search.run()
        from .report import write_files

        write_files(out_dir, data, png=plots)
    result = TuneResult(data, search.study, out_dir)
    if tracking is not None and tracking["backend"]:
        import warnings

        from ..errors import SeedexpWarning
        from ..tracking import send

        for phase, summary in result.summaries.items():
            if summary is not None:
                for line in send(out_dir / phase, summary, tracking):
                    warnings.warn(line, SeedexpWarning, stacklevel=2)
    return result
