"""The Examples sections of the public modules run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["seedexp.seeds", "seedexp.stats.benchmark", "seedexp.frameworks", "seedexp.sklearn", "seedexp.frameworks.torch", "seedexp.api",
                                  "seedexp.frameworks.keras", "seedexp.frameworks.jax", "seedexp.tuning.space",
                                  "seedexp.tuning.api", "seedexp.report_html", "seedexp.redact", "seedexp.supervise"])
def test_examples(name):
    if name.endswith("torch"):
        pytest.importorskip("torch")
    if name.endswith("keras"):
        pytest.importorskip("keras")
    if name.endswith("jax"):
        pytest.importorskip("flax")
    if name == "seedexp.tuning.api":
        pytest.importorskip("optuna")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
