"""``cfg.seed`` in a user's Hydra app: the run's master seed, as recorded.

The task's ``cfg.seed`` is the run's master seed as recorded in ``result.json``
(:func:`give_seed`); ``seed: null`` draws a 32-bit seed (:func:`draw_seed`), so
``random_state=cfg.seed`` works. A seed of 2**32 or more cannot be a
``random_state``: a run that fails on it says to use ``seeds.seed(name)``
(:func:`guard_seed`). An app's own ``seed:`` that seedexp's default replaced
(``_self_`` before ``- seedexp`` in the defaults list) is warned about
(:func:`replaced_app_seed`).
"""

from __future__ import annotations

import secrets
import warnings
from pathlib import Path
from typing import Any, Callable

from ..core import one_line
from ..errors import ExperimentError, SeedexpWarning

__all__ = ["draw_seed", "give_seed", "guard_seed", "seed_hint", "replaced_app_seed", "warn_replaced_app_seed",
           "RANDOM_STATE_LIMIT"]

#: Largest ``random_state`` scikit-learn accepts, plus one.
RANDOM_STATE_LIMIT = 2**32


def draw_seed() -> int:
    """A fresh master seed for ``seed: null`` in an app: 32 bits of OS entropy (usable as ``random_state``)."""
    return secrets.randbits(32)


def give_seed(cfg: Any, master: int) -> None:
    """Set the task's ``cfg.seed`` to the run's master seed (the recorded one), when the config has the key."""
    from omegaconf import OmegaConf, open_dict, read_write

    if not OmegaConf.is_config(cfg) or "seed" not in cfg:
        return
    with read_write(cfg), open_dict(cfg):
        cfg.seed = int(master)


def seed_hint(exc: BaseException, master: int) -> ExperimentError | None:
    """The clear error for ``random_state=cfg.seed`` with a seed too large for scikit-learn, else None."""
    if master < RANDOM_STATE_LIMIT or "random_state" not in str(exc):
        return None
    return ExperimentError(f"cfg.seed={master} cannot be a random_state (scikit-learn takes 0 to 2**32-1): pass "
                           "seeds.seed('model') (a 32-bit seed derived from the master seed) instead, or run with a "
                           f"seed below 2**32 ({type(exc).__name__}: {one_line(str(exc), 200)})")


def guard_seed(call: Callable[[], Any], master: int) -> Callable[[], Any]:
    """``call`` whose failure on a too-large ``random_state=cfg.seed`` becomes :func:`seed_hint`'s line."""
    if master < RANDOM_STATE_LIMIT:
        return call

    def guarded() -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - re-raised, with the hint when it is the seed's fault
            hint = seed_hint(exc, master)
            if hint is None:
                raise
            raise hint from exc

    return guarded


_WARNED: set[str] = set()


def replaced_app_seed(hydra_cfg: Any, seed: Any) -> str | None:
    """A line when the app's own ``seed:`` (in its primary config file) is not the composed one.

    That happens when ``_self_`` comes before ``- seedexp`` in the defaults list:
    seedexp's ``seed: 0`` is merged after the app's value. A ``seed=...``
    override on the command line is the user's choice and is not warned about.
    """
    overrides = list(hydra_cfg.overrides.task) if hydra_cfg is not None else []
    if any(o.split("=", 1)[0].lstrip("+~") == "seed" for o in overrides):
        return None
    path, own = _primary_seed(hydra_cfg)
    if path is None or own is None or isinstance(own, str) or own == seed:
        return None
    return (f"{path} sets seed: {own}, but the run uses seed {seed}: seedexp's default replaced it because "
            "`- seedexp` comes after `_self_` in its defaults list. Put `_self_` last (defaults: [seedexp, ..., "
            "_self_]) to keep your value, or give seed=... on the command line")


def warn_replaced_app_seed(hydra_cfg: Any, seed: Any) -> None:
    """:func:`replaced_app_seed` as a :class:`~seedexp.errors.SeedexpWarning`, once per process."""
    try:
        line = replaced_app_seed(hydra_cfg, seed)
    except Exception:  # noqa: BLE001 - a courtesy check must never stop a run
        return
    if line is not None and line not in _WARNED:
        _WARNED.add(line)
        warnings.warn(line, SeedexpWarning, stacklevel=2)


def _primary_seed(hydra_cfg: Any) -> tuple[str | None, Any]:
    """``(file, value)`` of the top-level ``seed`` in the app's primary config file, or ``(None, None)``."""
    import yaml

    name = hydra_cfg.job.get("config_name") if hydra_cfg is not None else None
    if not name:
        return None, None
    for source in hydra_cfg.runtime.config_sources:
        if source.get("schema") != "file" or source.get("provider") in ("hydra", "seedexp"):
            continue
        path = Path(str(source.path)) / f"{name}.yaml"
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                return None, None
            return (str(path), data.get("seed")) if isinstance(data, dict) else (None, None)
    return None, None
