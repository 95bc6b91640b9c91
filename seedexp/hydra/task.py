"""One Hydra job -> :func:`seedexp.core.execute`.

Builds a :class:`~seedexp.core.RunSpec` from the job's composed config (the
keys of ``seedexp.yaml``: ``seed``, ``pin``, ``determinism``, ``resume``) and
Hydra's runtime (run dir, overrides), validates them by type, and runs the
experiment: the ``experiment`` node's ``_target_`` for the ``seedexp``
command, or the user's own task function for an app decorated with
:func:`seedexp.main` (or any app whose sweeper is seedexp's).
"""

from __future__ import annotations

import difflib
import functools
import re
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..console import log as console
from ..errors import ConfigError, SeedexpError
from ..record import config_hash, group_of, run_config
from ..redact import redact_config, redact_overrides, redact_text, remember
from .secrets import redact_saved_configs
from ..code_identity import code_identity
from ..core import RunSpec, execute, one_line
from ..seeds import SeedPlan
from .app_seed import draw_seed, give_seed, guard_seed, warn_replaced_app_seed
from .job_return import failed_run_error, job_status, number_metric, objective, sweeper_is_seedexp, task_return
from .run_dirs import check_same_run

#: Top-level keys of the ``seedexp`` command's config; another key there is a slip.
CLI_KEYS = ("seed", "pin", "determinism", "resume", "report", "stop", "tracking", "isolation", "timeout",
            "memory_limit", "experiment")

#: Set on task functions seedexp already wrapped.
WRAPPED = "__seedexp_task__"
#: The user's own task function, on its wrapper.
USER_FN = "__seedexp_user_fn__"
#: Its code identity, taken in the sweep's driver: in a worker process ``__main__`` is another file.
USER_CODE = "__seedexp_code__"


def parse_bool(value: Any, key: str) -> bool:
    """``true/false`` (bool, or the strings true/false/yes/no/1/0 as from ``${oc.env:...}``), else one line."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off", ""):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"{key}={value!r} is not a boolean; use {key}=true or {key}=false")


def parse_threads(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"determinism.threads={value!r}: expected a positive integer or null "
                          "(null keeps the library's default)")
    return int(value)


def _seed_value(value: Any) -> Any:
    """Hints for the common slips in ``seed=`` (the SeedError itself comes from seeds.check_seed)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        raise ConfigError("seed=auto is an adaptive sweep (seeds 0, 1, 2, ... until the stop.* target is met): add "
                          "-m, e.g. seedexp -m experiment=NAME 'seed=auto' stop.halfwidth=0.01")
    if isinstance(value, str) and (".." in value or "," in value or "-" in value.strip("-")):
        raise ConfigError(f"seed={value!r} is not a seed; for a sweep over seeds use -m 'seed=range(0,6)' "
                          "(or -m seed=0,1,2); for one run give one integer, e.g. seed=12321")
    return value


def spec_from_config(config: Mapping[str, Any], overrides: list[str], experiment: str, code: dict) -> tuple[RunSpec, bool]:
    """The run spec of a composed config; raises ConfigError naming a bad key."""
    if "seed" not in config:
        raise ConfigError("the config has no 'seed': it does not include seedexp's settings; "
                          "add `- seedexp` to its defaults list (defaults: [seedexp, _self_])")
    determinism = config.get("determinism") or {}
    if not isinstance(determinism, Mapping):
        raise ConfigError(f"determinism={determinism!r} must be a mapping: determinism.strict=..., determinism.threads=...")
    pins = config.get("pin") or {}
    if not isinstance(pins, Mapping):
        raise ConfigError(f"pin={pins!r} must be a mapping of stream -> seed, e.g. pin.init=7")
    remember(config, overrides)  # for the text redaction of this process's logs and messages
    recorded = redact_config(dict(config))  # secrets by their keyed tag: the run gets the real config
    spec = RunSpec(
        seed=_seed_value(config.get("seed")),
        pins={str(k): v for k, v in pins.items() if v is not None},
        strict=parse_bool(determinism.get("strict", False), "determinism.strict"),
        threads=parse_threads(determinism.get("threads")),
        experiment=experiment,
        group=group_of(overrides),
        overrides=redact_overrides(overrides),
        config=recorded,
        config_hash=config_hash(run_config(recorded)),
        code=code,
        reseed=str(determinism.get("reseed") or "warn"),
    )
    SeedPlan(spec.seed, pins=spec.pins)  # validate seed and pins now: one line naming the bad one
    from ..supervise import check_limits

    check_limits(config.get("isolation", "process"), config.get("timeout"), config.get("memory_limit"))  # a typo
    return spec, parse_bool(config.get("resume", True), "resume")


def config_error(value: Any) -> str | None:
    """The one line of a sweep's job that found that what was asked cannot run, else None.

    A job of a sweep returns ``{"config_error": line}`` instead of its record
    (:func:`run_job`); the sweep stops after the batch and says the line once.
    """
    return value.get("config_error") if isinstance(value, dict) else None


def small_return(ret: Any) -> Any:
    """A job's return cut to what travels and is kept: the status, a config error, or the exception (not the record)."""
    from hydra.core.utils import JobStatus

    from . import _compat

    value = _compat.job_value(ret)
    if ret.status == JobStatus.COMPLETED and isinstance(value, dict):
        _compat.set_job_value(ret, {k: value[k] for k in ("config_error", "status", "seed", "group", "resumed")
                                    if k in value})
    elif ret.status == JobStatus.FAILED:
        try:
            import pickle

            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - an exception that cannot travel: its text does
            _compat.set_job_value(ret, RuntimeError(f"{type(value).__name__}: {value}"))
    return ret


def run_dir_of(job_return: Any) -> Path | None:
    """The run dir of a launched job (a fast-path job carries it; Hydra's carry their config), or None."""
    fast = getattr(job_return, "seedexp_output_dir", None)
    if fast is not None:
        return Path(fast)
    try:
        return Path(str(job_return.hydra_cfg.hydra.runtime.output_dir))
    except (AttributeError, TypeError):
        return None


def check_cli_keys(config: Mapping[str, Any]) -> None:
    """In the ``seedexp`` command, a top-level key nobody reads is a slip (e.g. ``+seeds=3``)."""
    for key in config:
        if key not in CLI_KEYS:
            close = difflib.get_close_matches(str(key), CLI_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"'{key}' is not a seedexp setting{hint} and nothing would read it; "
                              f"settings: {', '.join(CLI_KEYS)}; experiment parameters go under experiment.NAME")


def error_line(exc: BaseException) -> str:
    """One line, with the hint that matters, for the errors Hydra/OmegaConf raise while composing."""
    text = str(exc)
    missing = re.search(r"Could not find '([^']+)'", text)
    if missing and "/" in missing.group(1):
        group, _, name = missing.group(1).rpartition("/")
        options = getattr(exc, "options", None) or []
        avail = f"; available: {', '.join(options)}" if options else ""
        return (f"unknown {group} {name!r}{avail}. Pick one of those, or add {group}/{name}.yaml "
                f"to a directory passed with --config-dir")
    override = re.search(r"Could not override '([^']+)'", text)
    if override:
        key = override.group(1)
        if key.startswith("pin."):  # the open block: a stream not listed there is added with +
            return (f"'{key}' is not among the listed streams: add it with a leading +, e.g. +{key}=7 "
                    "(`seedexp --cfg job` shows the pin keys already set)")
        close = difflib.get_close_matches(key.split(".")[0], CLI_KEYS, n=1) if "." not in key else []
        hint = f" (did you mean '{close[0]}'?)" if close and close[0] != key else ""
        return (f"'{key}' is not a setting of this config{hint}; `seedexp --cfg job` shows the settings "
                "(add a new key with +KEY=VALUE only if your code reads it)")
    lexer = re.search(r"(?:LexerNoViableAltException|token recognition error)[^:]*: ([^\n;]+)", text)
    if lexer and "=" in lexer.group(1):
        key, _, value = lexer.group(1).strip().partition("=")
        quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return (f"{key}={value}: the value has characters Hydra's override grammar does not take unquoted (letters "
                f"beyond ASCII, spaces, some symbols): quote it, {key}={quoted} (in a shell: \"{key}={quoted}\")")
    merging = re.search(r"Error merging override (\S+)", text)
    if merging:
        cause = exc.__cause__ or exc.__context__
        why = one_line(str(cause), 200) if cause is not None else ""
        key = merging.group(1).split("=", 1)[0].lstrip("+~")
        return (f"cannot set {merging.group(1)}{f' ({why})' if why else ''}: the value does not fit what {key} holds "
                f"in the config; `seedexp --cfg job` shows the settings and their values")
    ambiguous = re.search(r"Ambiguous value for argument '([^']+)'", text)
    if ambiguous:
        return (f"{ambiguous.group(1)} gives several values: add -m (--multirun) to run one job per value, "
                "e.g. seedexp -m 'seed=range(0,30)'")
    primary = re.search(r"Cannot find primary config '([^']+)'", text)
    if primary:
        return (f"no config named {primary.group(1)!r} in the config search path; check --config-name and "
                "--config-dir (DIR/NAME.yaml)")
    for err in (exc, exc.__cause__, exc.__context__):
        mark = getattr(err, "problem_mark", None)
        if mark is not None:  # a YAML syntax error: the file and line are what matter
            problem = getattr(err, "problem", None) or getattr(err, "context", None) or "syntax error"
            return f"YAML error in {mark.name}, line {mark.line + 1}, column {mark.column + 1}: {problem}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines[:2]) if lines else type(exc).__name__


# -- the seedexp command's experiments ------------------------------------------

def _locate(target: str) -> Any:
    """Import ``package.module.attr`` (the longest importable module prefix)."""
    import importlib

    parts = target.split(".")
    if len(parts) < 2:
        raise ImportError(f"{target!r} has no module part")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and ".".join(parts[:cut]).startswith(exc.name) and cut > 1:
                continue
            raise
        for name in parts[cut:]:
            obj = getattr(obj, name)
        if not callable(obj):
            raise TypeError(f"{target!r} is a {type(obj).__name__}, not a function")
        return obj
    raise ImportError(f"no module named {parts[0]!r}")


#: Extras that bring a module, for "pip install 'seedexp[...]'" hints.
EXTRAS = {"torch": "torch", "tensorflow": "tensorflow", "keras": "tensorflow", "ray": "ray", "submitit": "slurm",
          "lightning": "lightning"}


def missing_extra_hint(exc: BaseException) -> str:
    name = getattr(exc, "name", None) or ""
    extra = EXTRAS.get(name.split(".")[0])
    return f"; install it with: pip install 'seedexp[{extra}]'" if extra else ""


def experiment_target(experiment: Any) -> tuple[str, Callable[..., Any]]:
    """The experiment's ``_target_`` and the function it names (ConfigError when it cannot be imported)."""
    if not isinstance(experiment, Mapping) or not experiment.get("_target_"):
        raise ConfigError("no experiment selected (the config has no experiment._target_); "
                          "choose one with experiment=NAME, e.g. experiment=imbalanced_clf")
    target = str(experiment["_target_"])
    try:
        return target, _locate(target)
    except ModuleNotFoundError as cause:
        raise ConfigError(f"experiment._target_={target!r} cannot be imported (no module named {cause.name!r})"
                          f"{missing_extra_hint(cause) or '; fix the dotted path package.module.function and make sure the module is importable (installed, or on PYTHONPATH)'}") from None
    except Exception as cause:  # noqa: BLE001 - any import-time error of the user's module is a config error
        raise ConfigError(f"experiment._target_={target!r} cannot be imported ({type(cause).__name__}: "
                          f"{one_line(str(cause), 200)}){missing_extra_hint(cause)}") from None


def prepare_experiment(experiment: Mapping[str, Any], target: str) -> Callable[[SeedPlan], Callable[[], Any]]:
    """``prepare(plan)`` for an experiment node: instantiate it fresh, inject YAML-declared estimators."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    scalars = all(isinstance(v, _SCALARS) for k, v in experiment.items() if k != "_target_")
    key = json.dumps(dict(experiment), sort_keys=True) if scalars else None

    def prepare(plan: SeedPlan) -> Callable[[], Any]:
        if key is not None and key in _PREPARED:  # the same node, scalars only: nothing a run could change
            return functools.partial(_PREPARED[key], seeds=plan)
        try:
            fn = instantiate(experiment, _partial_=True)
        except InstantiationException as exc:
            cause = exc.__cause__ or exc
            raise ConfigError(f"experiment {target!r}: its config could not be instantiated "
                              f"({type(cause).__name__}: {one_line(str(cause), 200)}); fix the parameter in its "
                              "experiment/*.yaml or on the command line") from None
        keywords = getattr(fn, "keywords", {})
        if any(hasattr(v, "get_params") or hasattr(v, "split") for v in keywords.values()):
            from ..sklearn import inject_config_objects

            inject_config_objects(keywords, plan)
        _check_signature(fn, target)
        if key is not None:
            if len(_PREPARED) >= 64:
                _PREPARED.clear()
            _PREPARED[key] = fn
        return functools.partial(fn, seeds=plan)

    return prepare


#: Instantiated experiment nodes whose parameters are all scalars, by their JSON (a sweep's
#: runs of one configuration share it: Hydra's instantiate is then done once, not per run).
_PREPARED: dict[str, Any] = {}
_SCALARS = (str, int, float, bool, type(None))


def _check_signature(fn: functools.partial, target: str) -> None:
    try:
        sig = inspect.signature(fn.func)
        sig.bind(**fn.keywords, seeds=None)
    except TypeError as exc:
        raise ConfigError(f"experiment {target!r}: {exc}; its parameters are "
                          f"({', '.join(inspect.signature(fn.func).parameters)})") from None
    except ValueError:
        pass


# -- a user's own task function -------------------------------------------------

def prepare_user_task(fn: Callable[..., Any], cfg: Any) -> Callable[[SeedPlan], Callable[[], Any]]:
    """``prepare(plan)`` for ``fn(cfg)`` or ``fn(cfg, seeds)`` (a user's Hydra task function)."""
    try:
        takes_seeds = "seeds" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        takes_seeds = False

    def prepare(plan: SeedPlan) -> Callable[[], Any]:
        give_seed(cfg, plan.master)  # cfg.seed is the recorded master seed (seed: null drew it)
        call = functools.partial(fn, cfg, seeds=plan) if takes_seeds else functools.partial(fn, cfg)
        return guard_seed(call, plan.master)

    return prepare


# -- the job --------------------------------------------------------------------

def check_inside(run_dir: Path, sweep_dir: Path) -> None:
    """A sweep's run dir must lie inside its sweep dir (``hydra.sweep.subdir`` with ``..`` leads out).

    The line is the same for every job of the sweep, so the sweep prints it once.
    """
    run, root = Path(os.path.abspath(run_dir)), Path(os.path.abspath(sweep_dir))
    if run != root and root not in run.parents:
        raise ConfigError(f"hydra.sweep.subdir puts run dirs outside hydra.sweep.dir {str(root)!r}; nothing was "
                          "recorded there: give hydra.sweep.subdir a path inside the sweep dir, without '..' "
                          "(the default names each run dir after its overrides)")


def full_error() -> bool:
    """Did the user ask for tracebacks (``HYDRA_FULL_ERROR=1``)?

    The ``seedexp`` command sets ``HYDRA_FULL_ERROR=1`` for Hydra itself (so that
    composition errors reach it as exceptions) and passes the user's own choice
    in ``SEEDEXP_FULL_ERROR``.
    """
    return os.environ.get("SEEDEXP_FULL_ERROR", os.environ.get("HYDRA_FULL_ERROR")) == "1"


def job_spec(cfg: Any, overrides: Sequence[str], run_dir: Path, sweep_dir: Path | None, *,
             user_fn: Callable[..., Any] | None = None,
             cli: bool = False) -> tuple[RunSpec, bool, Callable[[SeedPlan], Callable[[], Any]]]:
    """``(spec, resume, prepare)`` of a Hydra job (``sweep_dir``: None for a single run)."""
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    if cli:
        check_cli_keys(config)
        target, fn = experiment_target(config.get("experiment"))
        prepare = prepare_experiment(config["experiment"], target)
    else:
        assert user_fn is not None
        fn, target = user_fn, f"{getattr(user_fn, '__module__', '?')}.{getattr(user_fn, '__qualname__', '?')}"
        prepare = prepare_user_task(user_fn, cfg)
    code = getattr(fn, USER_CODE, None) or code_identity(fn)
    spec, resume = spec_from_config(config, list(overrides), target, code)
    spec.metrics_required = cli  # a user's Hydra task may return nothing, as Hydra tasks do
    spec.number_metric = number_metric(config)  # a task that returns one number: its metric's name
    if not cli:  # the task sees cfg.seed: a drawn seed must be usable as random_state
        from hydra.core.hydra_config import HydraConfig

        warn_replaced_app_seed(HydraConfig.get() if HydraConfig.initialized() else None, config.get("seed"))
        if spec.seed is None:
            spec.seed, spec.seed_drawn = draw_seed(), True
    if sweep_dir is not None:
        check_inside(run_dir, sweep_dir)
    return spec, resume, prepare


def completed_record_of(task_function: Callable[..., Any], cfg: Any, overrides: Sequence[str], run_dir: str,
                        sweep_dir: str) -> dict[str, Any] | None:
    """The record resume would return for a sweep's job without running it, or None.

    The sweep's fast path asks this before it copies the job's config: a
    finished sweep resumes at the cost of a record read a run.
    """
    from ..core import resumed_record
    from ..record import RECORD_NAME

    user_fn, cli = getattr(task_function, USER_FN, None), task_function is cli_task
    if (user_fn is None and not cli) or not os.path.isfile(os.path.join(run_dir, RECORD_NAME)):
        return None
    try:
        spec, resume, _ = job_spec(cfg, overrides, Path(run_dir), Path(sweep_dir), user_fn=user_fn, cli=cli)
    except Exception:  # noqa: BLE001 - the job itself runs and reports it
        return None
    return resumed_record(Path(run_dir), spec) if resume else None


def redact_hydra_files(cfg: Any, run_dir: Path, hc: Any) -> None:
    """Hydra's per-job path saved the job's config, overrides and Hydra settings as given: mask their secrets."""
    from omegaconf import OmegaConf

    saved = run_dir / str(hc.output_subdir) if hc.output_subdir is not None else None
    if saved is not None and saved.is_dir() and remember(OmegaConf.to_container(cfg, resolve=False),
                                                          list(hc.overrides.task)):
        redact_saved_configs(saved)


def run_job(cfg: Any, *, user_fn: Callable[..., Any] | None = None, cli: bool = False) -> Any:
    """Run the current Hydra job through seedexp; return what the task returned.

    The task's own return value (a number, or a dict of metrics; rebuilt from
    the record when the run was resumed) is what Hydra's sweeper gets: Optuna's
    and Nevergrad's read it as the objective (:func:`~seedexp.hydra.job_return.objective`).
    seedexp's own sweepers read the records on disk and get only the run's
    status (:func:`~seedexp.hydra.job_return.job_status`).

    Errors in what the user asked for (bad seed, broken ``_target_``) print one
    line: in a single run they end the process (exit 2); under seedexp's
    sweeper the job returns ``{"config_error": line}`` and the sweeper stops the
    sweep after the batch, with a partial summary; under another sweeper the
    job raises that line. A failed run raises too under another sweeper (it
    marks the trial failed); its record says why.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf.errors import OmegaConfBaseException

    hc = HydraConfig.get()
    sweeping = hc.mode != RunMode.RUN  # None in a programmatic Hydra.multirun (Hydra sets RUN for a single run)
    ours = sweeping and sweeper_is_seedexp(hc)
    try:
        run_dir = Path(hc.runtime.output_dir)
        redact_hydra_files(cfg, run_dir, hc)
        spec, resume, prepare = job_spec(cfg, list(hc.overrides.task), run_dir,
                                         Path(hc.sweep.dir) if sweeping else None, user_fn=user_fn, cli=cli)
        if sweeping:  # a record of another run in this job's dir is never overwritten
            check_same_run(run_dir, spec)
        record = execute(spec, prepare, run_dir, resume=resume)
    except (SeedexpError, OmegaConfBaseException) as exc:  # what was asked cannot run: one line
        if full_error():
            raise
        line = redact_text(one_line(str(exc), 1000))
        if ours:
            return {"config_error": line}
        if sweeping:
            raise ConfigError(line) from None
        console.error(f"seedexp: error: {line}")
        raise SystemExit(2) from None
    return job_status(record) if ours else _returned(record, cfg, run_dir, sweeping)


def _returned(record: dict[str, Any], cfg: Any, run_dir: Path, sweeping: bool) -> Any:
    """What a job returns outside seedexp's sweepers (a single run, or Optuna's sweeper); a single run says its line."""
    from ..core import secondary_rank

    if not sweeping and secondary_rank():
        return task_return(record)  # a DDP rank > 0 re-ran the script: rank 0 reports the run
    if record["status"] != "ok":
        if sweeping:
            raise failed_run_error(record)
        raise SystemExit(1)
    if sweeping:  # another sweeper (Optuna, Nevergrad) reads the value as its objective
        return objective(record, cfg)
    from ..diagnose import run_note

    shown = " ".join(f"{k}={v:.6g}" if v is not None else f"{k}=nan" for k, v in record["metrics"].items())
    console.info(f"seedexp: seed={record['seed']} {shown or '(no metrics)'}\n"
                 f"record: {run_dir.absolute() / 'result.json'}")
    note = run_note(record, reads_seed=config_reads_seed(cfg))
    if note is not None:
        console.warning(f"seedexp: note: {note}")
    if any(v is None for v in record["metrics"].values()):
        raise SystemExit(1)  # a value is NaN or inf: lost (its warning says which)
    return task_return(record)


def config_reads_seed(cfg: Any) -> bool:
    """Does the configuration pass the master seed on itself (an interpolation of ``seed``)?"""
    from omegaconf import OmegaConf

    try:
        text = repr(OmegaConf.to_container(cfg, resolve=False))
    except Exception:  # noqa: BLE001 - unknown: assume it does (no note)
        return True
    return re.search(r"\$\{\s*seed\s*\}", text) is not None


def pin_code(task_function: Callable[..., Any]) -> None:
    """Take the user's code identity now, in the driver, for jobs that run in worker processes."""
    user_fn = getattr(task_function, USER_FN, None)
    if user_fn is not None and getattr(user_fn, USER_CODE, None) is None:
        try:
            setattr(user_fn, USER_CODE, code_identity(user_fn))
        except (AttributeError, TypeError):  # a callable without a __dict__: identified where it runs
            pass


def wrap_task(task_function: Callable[..., Any]) -> Callable[..., Any]:
    """A task function that runs through seedexp (records, seeds, resume); idempotent."""
    if getattr(task_function, WRAPPED, False):
        return task_function

    @functools.wraps(task_function)
    def seedexp_task(cfg: Any) -> Any:
        return run_job(cfg, user_fn=task_function)

    setattr(seedexp_task, WRAPPED, True)
    setattr(seedexp_task, USER_FN, task_function)
    return seedexp_task


def cli_task(cfg: Any) -> Any:
    """The ``seedexp`` command's task: the config's ``experiment`` node."""
    return run_job(cfg, cli=True)


setattr(cli_task, WRAPPED, True)
