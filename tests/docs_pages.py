"""The code blocks of the documentation (``docs/**/*.md``, README.md, BENCHMARKS.md), for the tests that check them.

A fenced block may carry a marker on the line above it::

    <!-- docs: tested by tests/test_x.py::test_name -->     a dedicated test runs or compares this block,
                                                            and finds it with claimed("test_name")
    <!-- docs: illustrative: WHY -->                        shown, not checked (sparingly; a reason is required)

Every other block is checked by ``tests/test_docs.py`` according to its language: ``python``
blocks run, ``console`` and ``bash`` commands are checked against the command line, ``yaml``
blocks are parsed and their seedexp keys looked up. In BENCHMARKS.md a bare block right after a
``bash`` block is that benchmark command's output as measured, and shown as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- docs: (.+?) -->$")
FENCE = re.compile(r"^(```+)\s*([\w-]*)\s*$")


@dataclass(frozen=True)
class Block:
    page: str          # relative to the repository root, e.g. "docs/how-to/notebook.md"
    line: int          # 1-based line of the opening fence
    lang: str          # "" for a bare fence
    code: str          # the text between the fences, ending with a newline
    marker: str | None  # what the marker above says ("tested by ...", "illustrative: ..."), or None
    heading: str       # the last "#"/"##"/"###" heading above the block

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """Every page whose blocks the tests check: the site's pages, the README and BENCHMARKS.md."""
    return sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md", ROOT / "BENCHMARKS.md"]


def blocks(page: str | Path, lang: str | None = None) -> list[Block]:
    """The fenced blocks of ``page`` (relative to the repository root, or a path), optionally of one language."""
    path = Path(page) if Path(page).is_absolute() else ROOT / page
    rel = path.relative_to(ROOT).as_posix()
    lines = path.read_text().splitlines()
    out: list[Block] = []
    heading, marker_line, i = "", None, 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1)), None)
            if end is None:
                raise AssertionError(f"{rel}:{i + 1}: a code block that is never closed")
            marker = MARKER.match(marker_line or "")
            out.append(Block(rel, i + 1, fence.group(2), "\n".join(lines[i + 1:end]) + "\n",
                             marker.group(1).strip() if marker else None, heading))
            i, marker_line = end + 1, None
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip():
            marker_line = line.strip()
        i += 1
    return [b for b in out if lang is None or b.lang == lang]


def all_blocks() -> list[Block]:
    return [b for page in pages() for b in blocks(page)]


def claimed(test_name: str) -> list[Block]:
    """The blocks whose marker says ``tested by tests/...::<test_name>``, in page order."""
    found = [b for b in all_blocks() if b.marker and re.fullmatch(rf"tested by tests/\w+\.py::{test_name}", b.marker)]
    if not found:
        raise AssertionError(f"no page has a block marked <!-- docs: tested by tests/...::{test_name} -->")
    return found


def section(page: str, heading: str | None = None) -> str:
    """The text of ``page`` (from the heading that starts with ``heading`` to the next heading of its level)."""
    text = (ROOT / page).read_text()
    if heading is None:
        return text
    lines, out, level, fence = text.splitlines(), [], None, False
    for line in lines:
        if FENCE.match(line):
            fence = not fence
        if not fence and re.match(r"^#+ ", line):
            depth = len(line) - len(line.lstrip("#"))
            if level is None and line.lstrip("#").strip().startswith(heading):
                level = depth
            elif level is not None and depth <= level:
                break
        if level is not None:
            out.append(line)
    if level is None:
        raise AssertionError(f"{page} has no heading starting with {heading!r}")
    return "\n".join(out) + "\n"
