"""Secrets in the files Hydra and OmegaConf write (the OmegaConf side of :mod:`seedexp.redact`).

:mod:`seedexp.redact` masks plain data and text and imports no Hydra or OmegaConf;
this module applies it to OmegaConf configs: the ``seedexp.run_dirname`` resolver
of seedexp's default ``hydra.sweep.subdir``, ``multirun.yaml`` and the per-job
``.hydra/*.yaml`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..redact import RESOLVER, redact_dirname, redact_saved

__all__ = ["register_resolver", "redacted_yaml", "redact_saved_configs"]


def _run_dirname(dirname: Any, *, _root_: Any) -> str:
    """The resolver of :data:`DEFAULT_SUBDIR` (it reads the job's ``hydra.overrides.task``)."""
    from omegaconf import OmegaConf

    lines = OmegaConf.select(_root_, "hydra.overrides.task", default=None) or []
    kv_sep = OmegaConf.select(_root_, "hydra.job.config.override_dirname.kv_sep", default="=")
    return redact_dirname(str(dirname), [str(x) for x in lines], str(kv_sep))


def register_resolver() -> None:
    """Register the ``seedexp.run_dirname`` resolver of :data:`DEFAULT_SUBDIR` with OmegaConf (once)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, _run_dirname)


def redacted_yaml(config: Any) -> str:
    """An OmegaConf config as YAML, unresolved (as ``OmegaConf.save`` writes it), with every secret masked."""
    from omegaconf import OmegaConf

    data = OmegaConf.to_container(config, resolve=False) if OmegaConf.is_config(config) else config
    return OmegaConf.to_yaml(OmegaConf.create(redact_saved(data)))


def redact_saved_configs(directory: Path) -> None:
    """Mask the secrets in the YAML files of ``directory`` (Hydra's ``.hydra/``: config, hydra, overrides)."""
    from omegaconf import OmegaConf

    from ..sweepdir import write_text_atomic

    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        except Exception:  # noqa: BLE001 - not a config of Hydra's: not ours to rewrite
            continue
        clean = redact_saved(data)
        if clean != data:
            write_text_atomic(path, OmegaConf.to_yaml(OmegaConf.create(clean)))
