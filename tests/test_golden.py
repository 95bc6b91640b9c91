"""Behaviour kept: the same records give the same summary files, number for number (issue 28).

The expected files were written by the code before the restructuring
(``tests/golden_summary.py``); a change that moves code around must not move
a number, a key or a line of them.
"""

from __future__ import annotations

import json

import pytest

from golden_summary import CASES, DATA, FILES, produce

pytestmark = pytest.mark.fast


def _diff_paths(expected, got, where="summary"):
    """The first key paths where two JSON values differ (for a readable failure)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        if set(expected) != set(got):
            return [f"{where}: keys {sorted(set(expected) ^ set(got))}"]
        return [d for k in expected for d in _diff_paths(expected[k], got[k], f"{where}.{k}")]
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{where}: {len(expected)} items, now {len(got)}"]
        return [d for i, (a, b) in enumerate(zip(expected, got)) for d in _diff_paths(a, b, f"{where}[{i}]")]
    return [] if expected == got and type(expected) is type(got) else [f"{where}: {expected!r} -> {got!r}"]


def _without_new_options(expected, got):
    """Report options added since the golden files, at their defaults, change nothing: leave them out."""
    from seedexp.stats.options import DEFAULTS

    options = dict(got.get("options", {}))
    for key in set(options) - set(expected.get("options", {})):
        if key in DEFAULTS and options[key] == DEFAULTS[key]:
            del options[key]
    return {**got, "options": options}


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_files_are_those_of_the_code_before(case, tmp_path):
    got = produce(case, tmp_path)
    for name in FILES:
        expected_text = (DATA / case / name).read_text()
        if name.endswith(".json"):
            expected = json.loads(expected_text)
            differences = _diff_paths(expected, _without_new_options(expected, got[name]))
            assert not differences, "\n".join(differences[:20])
        else:
            assert got[name] == expected_text, name
