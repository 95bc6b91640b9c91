"""``seedexp verify [overrides] [--runs N]``: is this experiment really reproducible?

Runs the configured experiment N times (default 2), each in a fresh process,
in its own working directory, started with a different ``PYTHONHASHSEED``,
then compares the records bit for bit: every metric and every fingerprint
the experiment returns (``{"fingerprints": {"weights": sha256_hex}}``).
Prints REPRODUCIBLE, or each value that differs, by how much, and what could
cause it. Exit code 0 or 1, so it can gate CI.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ._subprocess import absolute_overrides, run_script, run_seedexp
from .errors import ConfigError
from .record import RECORD_NAME
from .sweepdir import read_record


def compare(records: Sequence[dict[str, Any]]) -> list[str]:
    """One line per metric or fingerprint that is not bitwise identical across ``records``."""
    problems: list[str] = []
    for key in ("metrics", "fingerprints"):
        names = sorted(set().union(*(r[key] for r in records)))
        for name in names:
            values = [r[key].get(name) for r in records]
            if len({json.dumps(v) for v in values}) == 1:
                continue
            if key == "metrics" and all(isinstance(v, float) for v in values):
                spread = max(values) - min(values)
                scale = max(abs(v) for v in values) or 1.0
                problems.append(f"metric {name!r} differs: {', '.join(repr(v) for v in values)} "
                                f"(max difference {spread:.3g}, relative {spread / scale:.3g})")
            else:
                problems.append(f"{key[:-1]} {name!r} differs: {', '.join(str(v)[:16] for v in values)}")
    if len({json.dumps(r["streams"], sort_keys=True) for r in records}) > 1:
        problems.append("the stream seeds handed out differ: the experiment asks for streams depending on something unseeded")
    return problems


def likely_causes(record: dict[str, Any]) -> list[str]:
    """What could make runs of this record's configuration differ."""
    det, causes = record.get("determinism", {}), []
    device = det.get("torch_device")
    if device and device != "cpu":
        causes.append(f"a GPU is in use ({device}): many CUDA kernels are non-deterministic")
    if not det.get("strict"):
        if "torch_deterministic_algorithms" in det or "tf_op_determinism" in det:
            causes.append("determinism switches are off: try determinism.strict=true")
    backend = det.get("jax_backend")
    if backend and backend != "cpu" and "--xla_gpu_deterministic_ops=true" not in (det.get("XLA_FLAGS") or ""):
        causes.append(f"JAX runs on {backend}: XLA's GPU kernels (scatter, atomics) are non-deterministic; try "
                      "determinism.strict=true (XLA_FLAGS=--xla_gpu_deterministic_ops=true)")
    threads = det.get("torch_threads") or det.get("tf_intra_op_threads")
    if threads and threads > 1:
        causes.append(f"multi-threaded ops ({threads} threads) may sum in another order: try determinism.threads=1")
    causes.extend(_worker_causes(det, record.get("warnings") or []))
    causes.append("an unseeded source in the experiment: os.urandom, time, uuid, a library's own RNG, "
                  "or randomness drawn without seeds.generator()/seeds.seed()")
    return causes


def _worker_causes(det: dict[str, Any], warned: list[str]) -> list[str]:
    """Work done in worker processes or threads (joblib's ``n_jobs``, other pools)."""
    causes = []
    if det.get("joblib_tasks"):
        none = det.get("joblib_random_state_none") or []
        who = f" ({', '.join(none)} with random_state=None)" if none else ""
        threads = [w for w in warned if w.startswith("joblib ran") or "joblib threads" in w]
        causes.append(f"worker processes: the run handed {det['joblib_tasks']} task(s) to joblib{who}; seedexp seeds "
                      "each task, but not draws from np.random/random in threads"
                      + (" (the run warned about that)" if threads else "") + ": set random_state "
                      "(seedexp.sklearn.inject_random_state)")
    causes.append("worker processes or threads that seedexp does not seed: multiprocessing.Pool, concurrent.futures, "
                  "Ray or Dask tasks started by the experiment draw from their own unseeded global RNGs; "
                  "seed them from seeds.seed(...)")
    return causes


@dataclass
class VerifyResult:
    """What :func:`verify` found. ``reproducible`` is True when every record is bitwise equal."""

    reproducible: bool
    records: list[dict[str, Any]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    root: Path | None = None
    error: str | None = None

    @property
    def experiment(self) -> str:
        return self.records[0]["experiment"] if self.records else ""

    @property
    def seed(self) -> Any:
        return self.records[0]["seed"] if self.records else None

    @property
    def n_metrics(self) -> int:
        return len(self.records[0]["metrics"]) if self.records else 0

    @property
    def n_fingerprints(self) -> int:
        return len(self.records[0]["fingerprints"]) if self.records else 0


def verify(overrides: Sequence[str], *, runs: int = 2, keep: bool = False,
           progress: Callable[[str], None] | None = None, app: str | Path | None = None) -> VerifyResult:
    """Run one configuration ``runs`` times in fresh processes and compare the records bit for bit.

    Parameters
    ----------
    overrides : sequence of str
        As for the ``seedexp`` command (``experiment=torch_digits seed=3``), or for
        the app; one configuration.
    runs : int
        How many fresh runs (at least 2).
    keep : bool
        Keep the run directories when reproducible (they are always kept otherwise).
    progress : callable, optional
        Called with one line before each run.
    app : path, optional
        A ``@seedexp.main`` script (``train.py``): each run is ``python train.py
        OVERRIDES`` started in the current directory (so its relative paths hold),
        its run dir a fresh directory of its own.

    Returns
    -------
    VerifyResult
        ``error`` is set when a run did not succeed (its files are kept).

    Raises
    ------
    ConfigError
        ``runs < 2``, or a sweep was asked for.
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise ConfigError(f"--runs {runs}: verify needs at least 2 runs to compare; e.g. --runs 3")
    if any(o.startswith(("-m", "--multirun")) for o in overrides):
        raise ConfigError("verify runs one configuration: drop -m/--multirun and give a single seed")
    overrides = absolute_overrides(overrides)
    script = None
    if app is not None:
        script = Path(app).absolute()
        if not script.is_file():
            raise ConfigError(f"--app {str(app)!r}: no such file; give the path of your @seedexp.main script, "
                              "e.g. seedexp verify --app train.py model=lr seed=3")
    root = Path(tempfile.mkdtemp(prefix="seedexp-verify-"))
    records = []
    for i in range(runs):
        cwd = root / f"run{i}"
        cwd.mkdir()
        hash_seed = str(1 + 7919 * i)
        if progress is not None:
            progress(f"verify: run {i + 1}/{runs} in {cwd} (PYTHONHASHSEED={hash_seed} at start)")
        if script is not None:  # the app's own directory layout: started where the user starts it
            proc = run_script(script, [*overrides, f"hydra.run.dir={_quoted(cwd)}", "resume=false"], Path.cwd(),
                              hash_seed=hash_seed, quiet=True)
        else:
            proc = run_seedexp([*overrides, "hydra.run.dir=.", "resume=false"], cwd, hash_seed=hash_seed, quiet=True)
        if proc.returncode != 0 or not (cwd / RECORD_NAME).is_file():
            lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()]
            return VerifyResult(False, records, root=root, error=f"run {i + 1} did not succeed (exit {proc.returncode}): "
                                f"{lines[-1] if lines else 'no output'}; its files are in {cwd}")
        record = read_record(cwd / RECORD_NAME)
        if record["status"] != "ok":
            err = record.get("error") or {}
            return VerifyResult(False, records, root=root,
                                error=f"run {i + 1} failed: {err.get('type')}: {err.get('message')}; files in {cwd}")
        records.append(record)
    problems = compare(records)
    if not problems and not keep:
        shutil.rmtree(root, ignore_errors=True)
    return VerifyResult(not problems, records, problems, root)


def _quoted(path: Path) -> str:
    """A path as a quoted Hydra override value."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"
