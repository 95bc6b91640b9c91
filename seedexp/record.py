"""The run record: ``result.json`` in every run directory.

Schema ``seedexp.result/1`` (one JSON object; every run writes one):

=================  ==========================================================
key                meaning
=================  ==========================================================
schema             ``"seedexp.result/1"``
status             ``"ok"``, ``"failed"`` (the experiment raised), ``"running"`` (the
                   marker written before the experiment starts: left behind, the run's
                   process died unseen), ``"crashed"`` (its supervised worker died: exit
                   code, signal, or over ``memory_limit``) or ``"timed_out"`` (stopped at
                   its ``timeout``); the last two are written by the sweep's supervisor
                   (:mod:`seedexp.supervise`), completing the ``running`` marker
experiment         the experiment's ``_target_``
metrics            ``{name: float}`` (``null`` for NaN/inf, with a warning: a lost value); empty when failed,
                   or when a user's own Hydra task returned nothing (a warning says so)
fingerprints       ``{name: str}``: hashes of artifacts (e.g. trained weights)
returned           when the experiment returned one bare number: the metric it is
                   recorded under (optional; a resumed Hydra task returns that number)
seed               the master seed (an int of any size)
seed_drawn         true when ``seed: null`` drew it from OS entropy (in a Hydra app: a
                   32-bit int, usable as ``random_state``)
pins               ``{stream: int}`` pinned streams
streams            ``{stream: int}`` every stream seed handed out (``cv/0``...)
overrides          the run's command-line overrides (Hydra's task overrides)
group              ``overrides`` minus the seed: the configuration's name
config             the resolved run configuration (without ``hydra``); a float that is
                   NaN or inf is written as text (``"inf"``), JSON having neither
config_hash        SHA-256 of ``config`` as canonical JSON: resume matches on it
                   (secrets in ``overrides``, ``group`` and ``config`` are masked by
                   their keyed tag, so the hash changes with them: :mod:`seedexp.redact`)
code               the experiment code: module, ``source_sha256`` (resume matches
                   on it too), ``git_commit``, ``git_dirty``
unused_pins        pinned streams that no code asked for (the pin changed nothing)
global_draws       which global streams (``python``, ``numpy``) the run actually drew from
reseeds            calls of the experiment that reseeded a global generator (optional):
                   ``[{call, via, seed, site: {file, line, function}, streams, from_stream}]``
void_streams       ``{stream: seed}`` streams those calls replaced (not in ``streams``; optional)
void_pins          pins of void streams: they changed nothing (optional)
warnings           what seedexp warned about during the run (optional)
determinism        switches asked (``strict``, ``threads``, ``reseed``) and read back at the end
                   (PYTHONHASHSEED, torch, TF...); ``changed``: who turned a strict switch off
versions           Python, seedexp and every ML library imported by the run
host               hostname, platform, pid, device
started_at         ISO-8601 UTC time the run started
duration_s         wall time of the experiment call
error              ``{type, message}`` when failed (traceback in traceback.txt); when
                   crashed or timed out, ``type`` is ``ProcessDied``, ``MemoryLimit``,
                   ``Timeout`` or ``Interrupted``, ``message`` the cause in one line, and
                   ``log_tail`` the run's last output (traceback.txt: the output and the
                   Python stacks faulthandler dumped when the process died or was stopped)
crash              when crashed or timed out: ``{exit_code, signal, signal_name}`` of the
                   worker process (exit code, or the signal that ended it)
series             when the run logged per-step values: ``{file: "series.npz", sha256,
                   metrics: {name: {n, first_step, last_step}}}`` (:mod:`seedexp.series`)
=================  ==========================================================

Records are written atomically (:func:`seedexp.sweepdir.write_record`: a
temporary file in the same directory, fsync, ``os.replace``): a run killed at
any moment leaves either no ``result.json`` or a complete one. This module
says what a record holds; :mod:`seedexp.sweepdir` reads and writes the files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import socket
import sys
from typing import Any, Iterable, Mapping

from .redact import redact_override

SCHEMA = "seedexp.result/1"
RECORD_NAME = "result.json"
TRACEBACK_NAME = "traceback.txt"

#: Libraries whose version is recorded when (and only when) the run imported them.
TRACKED_LIBRARIES = (
    "numpy", "scipy", "sklearn", "imblearn", "pandas", "torch", "lightning", "tensorflow", "keras", "hydra",
    "omegaconf", "joblib", "jax", "jaxlib", "flax",
)


#: Terminal escape sequences (colours, cursor moves, hyperlinks) a library may put in a message.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape codes (e.g. the ANSI colours of a torch or Lightning error).

    Messages go into records and summary files, which are read as text, not on a terminal.

    Examples
    --------
    >>> strip_escapes("\x1b[31mRuntimeError\x1b[0m: bad")
    'RuntimeError: bad'
    """
    return _ESCAPES.sub("", text) if "\x1b" in text else text


#: The settings that do not change a run: whether a finished run is reused (``resume``),
#: how the sweep is reported (``report.*``), sent to a tracker (``tracking.*``) and stopped
#: (``stop.*``), and where and under which limits its runs execute (``isolation``, ``timeout``,
#: ``memory_limit``: :mod:`seedexp.supervise`). They are left out of a run's group (:func:`group_of`), of the config that is
#: hashed (:func:`run_config`: resume matches on the hash) and of its run directory's name
#: (the ``exclude_keys`` seedexp's sweeper adds: :func:`seedexp.hydra.run_dirs.not_in_dir_names`). So
#: changing them on a finished sweep re-runs nothing and makes no new group.
NON_RUN_SETTINGS = ("resume", "report", "tracking", "stop", "isolation", "timeout", "memory_limit")


def changes_runs(key: str) -> bool:
    """Does the setting ``key`` (``stop.halfwidth``, ``+report.baseline``...) change what a run computes?"""
    return key.lstrip("+~").split(".", 1)[0] not in NON_RUN_SETTINGS


def run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that makes the run: every top-level key but :data:`NON_RUN_SETTINGS`.

    ``determinism.reseed`` at its default (``warn``) is left out too, so records made
    before that key existed still resume.
    """
    out = {k: v for k, v in config.items() if k not in NON_RUN_SETTINGS}
    determinism = out.get("determinism")
    if isinstance(determinism, Mapping) and determinism.get("reseed", "warn") == "warn":
        out["determinism"] = {k: v for k, v in determinism.items() if k != "reseed"}
    return out


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of a resolved configuration, as canonical (sorted, compact) JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def group_of(overrides: Iterable[str], seed_key: str = "seed") -> str:
    """The configuration a run belongs to: its overrides minus the seed, sorted.

    The settings that do not change a run (:data:`NON_RUN_SETTINGS`) are left out too,
    a secret's value is replaced by its tag (:func:`seedexp.redact.redact_override`), and
    Hydra's ``+``/``++`` prefixes (add / force-add a key) are dropped: ``++model.C=1``
    sets what ``model.C=1`` sets.

    Examples
    --------
    >>> group_of(["seed=3", "experiment.model=rf", "report.test=permutation", "resume=true"])
    'experiment.model=rf'
    >>> group_of(["++model.C=1", "+extra=2"])
    'extra=2,model.C=1'
    """
    def counts(override: str) -> bool:
        key = override.split("=", 1)[0].lstrip("+~")
        return key != seed_key and changes_runs(key)

    # a secret: by its tag (seedexp.redact); +key=v and ++key=v set key=v
    kept = sorted(redact_override(o).lstrip("+") for o in overrides if counts(o))
    return ",".join(kept) if kept else "(defaults)"


def library_versions() -> dict[str, str]:
    """Python, seedexp and the tracked ML libraries that are imported right now."""
    from . import __version__

    versions = {"python": platform.python_version(), "seedexp": __version__}
    for name in TRACKED_LIBRARIES:
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


def host_info() -> dict[str, Any]:
    """Where this process runs: enough to trace a record of a distributed sweep back.

    Returns
    -------
    dict
        ``hostname``, ``platform`` and ``pid``. Inside a SLURM job also ``slurm``: those
        of ``job_id``, ``array_job_id``, ``array_task_id``, ``node_id`` (the node's index
        in the job) and ``node_name`` that SLURM set, as SLURM wrote them (strings), e.g.
        for ``sacct -j ARRAY_JOB_ID_ARRAY_TASK_ID``. In a process connected to Ray (a Ray
        worker) also ``ray``: ``{"node_id": hex, "node_ip": str}``, as ``ray list nodes``
        shows them. Ray is asked only when the process has already imported it.
    """
    info: dict[str, Any] = {"hostname": socket.gethostname(), "platform": platform.platform(), "pid": os.getpid()}
    slurm_vars = (("job_id", "SLURM_JOB_ID"), ("array_job_id", "SLURM_ARRAY_JOB_ID"),
                  ("array_task_id", "SLURM_ARRAY_TASK_ID"), ("node_id", "SLURM_NODEID"),
                  ("node_name", "SLURMD_NODENAME"))
    slurm = {key: os.environ[var] for key, var in slurm_vars if os.environ.get(var)}
    if slurm:
        info["slurm"] = slurm
    ray = sys.modules.get("ray")
    is_initialized = getattr(ray, "is_initialized", None)
    if is_initialized is not None and is_initialized():
        try:
            info["ray"] = {"node_id": ray.get_runtime_context().get_node_id(),
                           "node_ip": ray.util.get_node_ip_address()}
        except Exception as exc:  # where a run ran is a courtesy: never lose the record for it
            info["ray"] = {"error": f"{type(exc).__name__}: {exc}"}
    return info


def clean_metric(value: float) -> float | None:
    """JSON has no NaN/inf: they are stored as ``null`` (and the run's record warns, :func:`nonfinite_warning`)."""
    return value if math.isfinite(value) else None


def nonfinite_warning(names: Iterable[str]) -> str:
    """The record's warning for metrics that were NaN or inf: stored as null, counted as lost values."""
    names = list(names)
    return (f"metric{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)} returned NaN or inf: stored "
            "as null (JSON has neither); the summary counts each as a lost value of that metric")


def json_safe(value: Any) -> Any:
    """``value`` with every float that is NaN or inf as its text (``"inf"``, ``"-inf"``, ``"nan"``): strict JSON.

    Examples
    --------
    >>> json_safe({"experiment": {"patience": float("inf"), "lr": 0.1}})
    {'experiment': {'patience': 'inf', 'lr': 0.1}}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


#: A record larger than this is not a record (a link to /dev/zero, a runaway metric dump).
MAX_RECORD_BYTES = 16 * 1024 * 1024

#: Statuses a record may hold. ``running`` is the marker written before the
#: experiment starts: left behind, it means the run's process died (crashed).
#: ``crashed`` and ``timed_out`` are written by a sweep's supervisor when a run's
#: worker died or was stopped (:mod:`seedexp.supervise`).
STATUSES = ("ok", "failed", "running", "crashed", "timed_out")

#: Fields every record has, and their JSON types (checked on read).
REQUIRED_FIELDS: dict[str, tuple[type, ...]] = {
    "schema": (str,), "status": (str,), "seed": (int,), "metrics": (dict,), "group": (str,),
}


def record_problem(data: Any) -> str | None:
    """Why ``data`` (a parsed ``result.json``) is not a usable record, or None.

    Another schema, a missing or mistyped field (:data:`REQUIRED_FIELDS`), an
    unknown status, a metric that is not a number or null. Files are read by
    :func:`seedexp.sweepdir.read_record`.
    """
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return f"no schema {SCHEMA!r}"
    for key, types in REQUIRED_FIELDS.items():
        value = data.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            return f"field {key!r} is {type(value).__name__ if key in data else 'missing'}"
    if data["status"] not in STATUSES:
        return f"status {data['status']!r} is not one of {', '.join(STATUSES)}"
    for name, value in data["metrics"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"metric {name!r} is a {type(value).__name__}, not a number"
    return None
