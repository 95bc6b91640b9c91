"""Hydra plugin package, installed as ``hydra_plugins.seedexp_sweeper``.

Hydra only loads plugins from the ``hydra_plugins`` namespace; pyproject.toml
maps this directory there. Selected by ``hydra/sweeper: seedexp`` in
``conf/config.yaml``.
"""

from __future__ import annotations

from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class SeedexpSweeper(BasicSweeper):
    """Hydra's basic sweeper, composing each job's config once instead of twice.

    The basic sweeper composes every job of a batch up front to catch
    composition errors early, then the launcher composes each again: half of
    Hydra's per-job cost. A seed sweep's jobs differ in values, not in
    structure, so composing the batch's first job catches the same errors;
    a job whose values break composition still fails when launched, with a
    one-line error, after the records before it are written.
    """

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        if batch:
            super().validate_batch_is_legal(batch[:1])
