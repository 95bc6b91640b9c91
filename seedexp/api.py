"""The Python front-end: :func:`run`, :func:`sweep`, :func:`summarize`. No Hydra needed.

For notebooks and scripts that today call ``np.random.seed`` and repeat
``fit_model`` in a loop. An experiment is a function ``fn(seeds, **params)``
returning ``{metric: number}`` (the same contract as the ``seedexp`` command's
experiments); ``seeds`` is the run's :class:`~seedexp.SeedPlan`.

Records are written by the same core as the command line
(:func:`seedexp.core.execute`), so a sweep made here can be reported with
``seedexp report DIR``, resumes like one, and is bitwise equal whether it ran
in this process or in worker processes.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import ConfigError, RecordError
from .record import config_hash, group_of
from .redact import redact_config, redact_overrides, remember
from .code_identity import code_identity
from .core import RunSpec, execute

__all__ = ["run", "sweep", "summarize", "Summary"]


def _name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', '?'))}"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _spec(fn: Callable[..., Any], seed: int | None, params: Mapping[str, Any], pins: Mapping[str, int] | None,
          strict: bool, threads: int | None, code: dict[str, Any] | None = None) -> RunSpec:
    overrides = [f"{k}={_jsonable(v)}" for k, v in sorted(params.items())] + [f"seed={seed}"]
    config = {"seed": seed, "pin": dict(pins or {}), "determinism": {"strict": strict, "threads": threads},
              "experiment": {"function": _name(fn), **{k: _jsonable(v) for k, v in params.items()}}}
    remember(config, overrides)  # fn gets the real params; records, run dirs and logs their masks
    config, overrides = redact_config(config), redact_overrides(overrides)
    return RunSpec(seed=seed, pins=dict(pins or {}), strict=bool(strict), threads=threads, experiment=_name(fn),
                   group=group_of(overrides), overrides=overrides, config=config, config_hash=config_hash(config),
                   code=code if code is not None else code_identity(fn))


def _run_dir(out: Path, spec: RunSpec) -> Path:
    name = ",".join(spec.overrides).replace("/", "_")
    return out / name


def run(fn: Callable[..., Mapping[str, Any]], seed: int | None = 0, *, pins: Mapping[str, int] | None = None,
        strict: bool = False, threads: int | None = None, out: str | os.PathLike | None = None,
        resume: bool = True, **params: Any) -> dict[str, Any]:
    """Run ``fn(seeds, **params)`` once with master seed ``seed``; return its record.

    Parameters
    ----------
    fn : callable
        ``fn(seeds, **params) -> {metric: number}``; ``seeds`` is a
        :class:`~seedexp.SeedPlan` (see the "stream" glossary in :mod:`seedexp.seeds`).
    seed : {None, int}
        The master seed; ``None`` draws OS entropy (recorded).
    pins : mapping of str to int, optional
        Streams pinned to a fixed seed, e.g. ``{"init": 7}``.
    strict, threads
        Determinism switches of torch / TensorFlow (see :mod:`seedexp.frameworks`).
    out : path, optional
        A directory for the record (``out/<params>,seed=N/result.json``); nothing is
        written when omitted.
    resume : bool
        With ``out``: return the existing record of the same configuration and code.
    **params
        Passed to ``fn``.

    Returns
    -------
    dict
        The run record (schema in :mod:`seedexp.record`): ``status``, ``metrics``,
        ``streams`` (every stream seed handed out), ...

    Examples
    --------
    >>> import seedexp
    >>> def noisy(seeds, scale=1.0):
    ...     return {"value": scale * seeds.generator("init").normal()}
    >>> a = seedexp.run(noisy, seed=3, scale=2.0)
    >>> b = seedexp.run(noisy, seed=3, scale=2.0)
    >>> a["status"], a["metrics"] == b["metrics"]
    ('ok', True)
    """
    spec = _spec(fn, seed, params, pins, strict, threads)
    run_dir = _run_dir(Path(out), spec) if out is not None else None
    return execute(spec, lambda plan: functools.partial(fn, plan, **params), run_dir, resume=resume)


def _grid(params: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    if not params:
        return [{}]
    for key, values in params.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ConfigError(f"params[{key!r}]={values!r} must be a list of values to sweep, e.g. {{{key!r}: [{values!r}]}}")
    keys = list(params)
    lists = [list(params[k]) for k in keys]
    for key, values in zip(keys, lists):
        if not values:
            raise ConfigError(f"params[{key!r}] is empty; give at least one value")
    return [dict(zip(keys, combo)) for combo in itertools.product(*lists)]


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    from .seeds import check_seed

    values = list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) else list(seeds)
    if not values:
        raise ConfigError("seeds is empty; e.g. seeds=range(30)")
    values = [check_seed(s, "seeds[]") for s in values]
    if len(set(values)) != len(values):
        raise ConfigError("seeds has duplicates; each master seed once, e.g. seeds=range(30)")
    return values


def _run_one(fn: Callable[..., Any], out: str, pins: Any, strict: bool, threads: Any, resume: bool,
             code: dict[str, Any], params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One run of a sweep (in a supervised worker, or in this process with ``isolation="none"``)."""
    spec = _spec(fn, seed, params, pins, strict, threads, code)
    record = execute(spec, lambda plan: functools.partial(fn, plan, **params), _run_dir(Path(out), spec),
                     resume=resume, quiet=True)
    return {"seed": record["seed"], "group": record["group"], "status": record["status"]}


def sweep(fn: Callable[..., Mapping[str, Any]], seeds: int | Iterable[int] = 30, params: Mapping[str, Sequence[Any]] | None = None,
          *, n_jobs: int = 1, out: str | os.PathLike | None = None, pins: Mapping[str, int] | None = None,
          strict: bool = False, threads: int | None = None, resume: bool = True, progress: bool = True,
          report: Mapping[str, Any] | None = None, tracking: Any = None, task: str | None = None,
          isolation: str = "process", timeout: float | None = None,
          memory_limit: int | str | None = None) -> "Summary":
    """Run ``fn`` for every seed and every combination of ``params``; summarize.

    Parameters
    ----------
    fn : callable
        ``fn(seeds, **params) -> {metric: number}``. With ``n_jobs > 1`` it must be
        picklable (defined in a module, or in a notebook: joblib's cloudpickle sends it).
    seeds : int or iterable of int
        The master seeds: ``30`` means ``range(30)``.
    params : mapping of str to list, optional
        Values to sweep: ``{"model": ["rf", "lr"]}`` gives one group per value, each
        run with every seed, so groups are compared seed by seed.
    n_jobs : int
        Runs at once, each in its own supervised worker process. Results are
        bitwise equal to ``n_jobs=1``: every run resets every global RNG.
    out : path, optional
        The sweep directory (default ``multirun/<fn name>``): one run dir per
        configuration and seed, and the summary files at its root. A second call
        with the same arguments resumes: only missing or changed runs run.
    pins, strict, threads, resume
        As for :func:`run`.
    progress : bool
        A progress bar (``tqdm.auto``: works in Jupyter and on a terminal).
    report : mapping, optional
        Options of the summary (the ``report:`` settings, see :func:`seedexp.summary_files.write_summary`).
    tracking : str or mapping, optional
        Send the summary and every run to a tracker after the sweep, as the
        ``tracking:`` settings do: ``"mlflow"``, ``"tensorboard"``, or
        ``{"backend": "mlflow", "uri": "http://127.0.0.1:5000"}`` (see
        :func:`seedexp.tracking.check_config`; checked before any run). A tracker
        that is down is one warning: the sweep's files are complete.
    task : str, optional
        A benchmark: the key of ``params`` whose values are the tasks (data sets,
        environments), e.g. ``"dataset"``. The other keys make the methods, compared
        across tasks (``report.task``; see :mod:`seedexp.stats.benchmark`).
    isolation : {"process", "none", "fork", "spawn"}
        ``"process"``: every run in a warm worker process that the sweep
        supervises (:mod:`seedexp.supervise`), so a run that crashes (``os._exit``,
        a segfault, the OOM killer) or passes its limits costs that run only: its
        record says ``crashed`` or ``timed_out`` with the cause and its last output,
        a warning names it, and the sweep goes on. ``"none"``: every run in this
        process, one after another (for a debugger: ``breakpoint()`` works here).
        ``"fork"``/``"spawn"`` force how workers start (``"process"`` forks where it
        is safe). With ``"spawn"``, ``fn`` is sent with cloudpickle.
    timeout : float, optional
        Seconds a run may take; past it the run is stopped and recorded ``timed_out``.
    memory_limit : int or str, optional
        Resident memory a run's worker may use (bytes, or ``"8GB"``, ``"512MiB"``);
        past it the run is stopped and recorded ``crashed``.

    Returns
    -------
    Summary
        The table (``.to_pandas()``), the paired comparisons, every run; shown
        as a table in Jupyter. ``.ok`` is False when a run failed, crashed, timed
        out or is missing; a re-run of the same call runs only those.

    Examples
    --------
    >>> import os, tempfile, warnings, seedexp
    >>> def noisy(seeds, scale=1.0):
    ...     if seeds.master == 2:
    ...         os._exit(1)  # the run's process dies: this run is lost, not the sweep
    ...     return {"value": scale * seeds.generator("init").normal()}
    >>> with warnings.catch_warnings(record=True):  # one SeedexpWarning names the crashed run
    ...     s = seedexp.sweep(noisy, seeds=4, out=tempfile.mkdtemp(), progress=False)
    >>> s.ok, [r["status"] for r in s.runs]
    (False, ['ok', 'ok', 'crashed', 'ok'])
    """
    from .stats.options import check_options
    from .lifecycle import run_sweep
    from .supervise import check_limits

    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"n_jobs={n_jobs!r} must be an integer >= 1")
    if task is not None:  # a benchmark: the task is one of the swept keys
        if not isinstance(task, str) or task not in (params or {}):
            raise ConfigError(f"task={task!r} is not a key of params; the swept keys are: "
                              f"{', '.join(params or {}) or '(none)'}")
        report = {**dict(report or {}), "task": task}
    isolation, timeout, memory = check_limits(isolation, timeout, memory_limit)
    if isolation == "none" and n_jobs > 1:
        raise ConfigError(f"isolation='none' runs every run in this process, one at a time, and n_jobs={n_jobs} "
                          "asks for worker processes; drop one of them")
    options = check_options(report)  # before any run: a typo here must not cost the sweep
    if tracking is not None:
        from .tracking import check_config

        tracking = check_config(tracking)  # a typo or a missing extra fails before any run
    grid, seed_list = _grid(params), _seeds(seeds)
    out_dir = Path(out if out is not None else Path("multirun") / getattr(fn, "__name__", "sweep")).absolute()
    code = code_identity(fn)
    jobs = [(p, s) for p in grid for s in seed_list]
    planned = []
    for p, s in jobs:
        spec = _spec(fn, s, p, pins, strict, threads, code)
        planned.append({"group": spec.group, "seed": s, "overrides": spec.overrides})
    run_one = functools.partial(_run_one, fn, str(out_dir), pins, strict, threads, resume, code)

    def launch(errors: list[str]) -> None:
        bar = _bar(len(jobs), progress)
        try:
            if isolation == "none":
                for params_, seed in jobs:
                    run_one(params_, seed)
                    bar.update(1)
            else:
                _supervised(run_one, jobs, n_jobs, out_dir, isolation, timeout, memory, resume, bar,
                            lambda p, s: _spec(fn, s, p, pins, strict, threads, code))
        finally:
            bar.close()

    outcome = run_sweep(out_dir, launch, options=options, plan=lambda: planned,
                        tracking=tracking if tracking is not None and tracking["backend"] else None)
    if outcome.tracking:
        import warnings

        from .errors import SeedexpWarning

        for line in outcome.tracking:
            warnings.warn(line, SeedexpWarning, stacklevel=2)
    if outcome.exception is not None:  # the summary of what did run is written; the error is the user's to see
        raise outcome.exception
    if outcome.summary_error is not None:
        raise outcome.summary_error
    return Summary(outcome.summary)


def _bar(total: int, enabled: bool) -> Any:
    from .supervise import progress_bar  # no monitor thread: a process with one is not forked

    return progress_bar(total=total, unit="run", desc="sweep", disable=not enabled, leave=False)


def _supervised(run_one: Callable[..., Any], jobs: list, n_jobs: int, out_dir: Path, isolation: str,
                timeout: float | None, memory: int | None, resume: bool, bar: Any,
                spec_of: Callable[[dict, int], RunSpec]) -> None:
    """Every run in a supervised worker (``n_jobs`` of them); a run whose worker dies is recorded and warned about.

    ``run_one(params, seed)`` runs in the worker (:func:`_run_one`); a run whose
    record is complete (``resume``) wakes no worker. Used by :func:`sweep` and
    by the tuning study's runner (:mod:`seedexp.tuning.api`).
    """
    import warnings

    from .core import resumed_record
    from .errors import SeedexpWarning
    from .record import RECORD_NAME
    from .supervise import RunInfo, Supervisor, Task, death_line

    def tasks() -> Iterable[Task]:
        for params, seed in jobs:
            spec = spec_of(params, seed)
            run_dir = _run_dir(out_dir, spec)
            if resume and (run_dir / RECORD_NAME).is_file() and resumed_record(run_dir, spec) is not None:
                bar.update(1)  # done: no worker needed
                continue
            yield Task("run", (params, seed), RunInfo(str(run_dir), seed, spec.group, spec.overrides, spec.experiment))

    def died(task: Any, death: Any) -> None:
        warnings.warn(f"seedexp: {death_line(task.run, death)}", SeedexpWarning, stacklevel=4)

    with Supervisor(n_jobs, isolation=isolation, timeout=timeout, memory_limit=memory) as pool:
        pool.share("run", run_one)
        for _ in pool.map(tasks(), on_death=died):
            bar.update(1)


class Summary:
    """The summary of a sweep: statistics per group and metric, paired comparisons, every run.

    Attributes
    ----------
    data : dict
        The ``summary.json`` content (schema ``seedexp.summary/...``).
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    @property
    def groups(self) -> list[dict[str, Any]]:
        return self.data["groups"]

    @property
    def comparisons(self) -> list[dict[str, Any]]:
        """Paired comparisons (groups that share seeds), one dict per pair and metric."""
        return self.data["comparisons"]

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self.data["runs"]

    @property
    def ok(self) -> bool:
        """True when every planned run finished ok."""
        from .stats.summary import all_ok

        return all_ok(self.data)

    def to_pandas(self) -> Any:
        """The tidy table: one row per (group, metric), one column per statistic."""
        import io

        import pandas as pd

        from .report import to_csv

        return pd.read_csv(io.StringIO(to_csv(self.data)))

    def runs_frame(self) -> Any:
        """One row per run: group, seed, status and every metric."""
        import io

        import pandas as pd

        from .report import runs_csv

        return pd.read_csv(io.StringIO(runs_csv(self.data)))

    def to_markdown(self) -> str:
        from .report import to_markdown

        return to_markdown(self.data)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return (f"<seedexp Summary: {self.data.get('n_runs')} runs in {len(self.groups)} group(s), "
                f"{self.data.get('n_ok')} ok; .to_pandas(), .comparisons>")


def summarize(records_or_dir: str | os.PathLike | Iterable[Mapping[str, Any]], **options: Any) -> Summary:
    """Summarize a sweep directory, or records in memory.

    Parameters
    ----------
    records_or_dir : path or iterable of dict
        A sweep directory (every ``result.json`` under it), or records. A record
        needs ``group`` (str), ``seed`` (int), ``status`` (``"ok"``/``"failed"``),
        ``metrics`` (``{name: number or None}``); ``path`` and ``error`` are optional.
        A missing field is a one-line :class:`~seedexp.errors.RecordError` naming it.
    **options
        The summary's options (see :func:`seedexp.summary_files.write_summary`).

    Returns
    -------
    Summary
        Nothing is written.
    """
    from .stats.summary import summarize as summarize_records
    from .sweepdir import aggregate

    if isinstance(records_or_dir, (str, os.PathLike)):
        return Summary(aggregate(Path(records_or_dir), **options))
    records = []
    for i, rec in enumerate(records_or_dir):
        if not isinstance(rec, Mapping):
            raise RecordError(f"record {i} is a {type(rec).__name__}, not a dict")
        for key in ("group", "seed", "status", "metrics"):
            if key not in rec:
                raise RecordError(f"record {i} has no {key!r} field; a record needs group, seed, status and metrics")
        records.append(dict(rec))
    return Summary(summarize_records(records, **options))
