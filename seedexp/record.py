"""The run record: ``result.json`` in every run directory.

Schema ``seedexp.result/1`` (one JSON object; every run writes one):

=================  ==========================================================
key                meaning
=================  ==========================================================
schema             ``"seedexp.result/1"``
status             ``"ok"`` or ``"failed"``
experiment         the experiment's ``_target_``
metrics            ``{name: float}`` (``null`` for NaN/inf); empty when failed
fingerprints       ``{name: str}``: hashes of artifacts (e.g. trained weights)
seed               the master seed (an int of any size)
seed_drawn         true when ``seed: null`` drew it from OS entropy
pins               ``{stream: int}`` pinned streams
streams            ``{stream: int}`` every stream seed handed out (``cv/0``...)
overrides          the run's command-line overrides (Hydra's task overrides)
group              ``overrides`` minus the seed: the configuration's name
config             the resolved run configuration (without ``hydra``)
config_hash        SHA-256 of ``config`` as canonical JSON: resume matches on it
determinism        switches in force (``strict``, PYTHONHASHSEED, torch, TF...)
versions           Python, seedexp and every ML library imported by the run
host               hostname, platform, pid, device
started_at         ISO-8601 UTC time the run started
duration_s         wall time of the experiment call
error              ``{type, message}`` when failed (traceback in traceback.txt)
=================  ==========================================================

Records are written atomically (temporary file in the same directory, fsync,
``os.replace``): a run killed at any moment leaves either no ``result.json``
or a complete one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import RecordError

SCHEMA = "seedexp.result/1"
RECORD_NAME = "result.json"
TRACEBACK_NAME = "traceback.txt"

#: Libraries whose version is recorded when (and only when) the run imported them.
TRACKED_LIBRARIES = (
    "numpy", "scipy", "sklearn", "imblearn", "pandas", "torch", "tensorflow", "keras", "hydra", "omegaconf",
)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of a resolved configuration, as canonical (sorted, compact) JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def group_of(overrides: Iterable[str], seed_key: str = "seed") -> str:
    """The configuration a run belongs to: its overrides minus the seed, sorted."""
    kept = sorted(o for o in overrides if o.split("=", 1)[0].lstrip("+~") != seed_key)
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
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "pid": os.getpid()}


def clean_metric(value: float) -> float | None:
    """JSON has no NaN/inf: they are stored as ``null``."""
    return value if math.isfinite(value) else None


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (NaN/inf are refused: store them as null)."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def write_record(run_dir: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` as ``<run_dir>/result.json`` atomically; return the path."""
    path = Path(run_dir) / RECORD_NAME
    write_json_atomic(path, record)
    return path


def read_record(path: Path) -> dict[str, Any]:
    """Read one record; a file that is not a complete record raises :class:`RecordError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(
            f"{path} is not a readable run record ({exc.__class__.__name__}: {exc}); "
            "delete it and re-run the same command to redo that run"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("status") not in ("ok", "failed"):
        raise RecordError(
            f"{path} is not a seedexp run record (no schema {SCHEMA!r} / status); "
            "delete it and re-run the same command to redo that run"
        )
    return data


def is_complete(run_dir: Path, expected_hash: str) -> bool:
    """True when ``run_dir`` already holds a successful record of the same configuration."""
    path = Path(run_dir) / RECORD_NAME
    if not path.is_file():
        return False
    try:
        record = read_record(path)
    except RecordError:
        return False
    return record["status"] == "ok" and record.get("config_hash") == expected_hash
