"""The shape of the package (issue 28): no import circle, Hydra only in seedexp/hydra, its private API in one file,
no module or function too long to read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

PACKAGE = Path(__file__).resolve().parent.parent / "seedexp"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "_hydra_plugins" not in p.parts)


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function (absolute names)."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def test_no_import_circle():
    names = {_name(p): p for p in MODULES}
    graph = {n: {m for m in _imports(p) if m in names and m != n and not n.startswith(m + ".")}
             for n, p in names.items()}
    seen: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            assert seen.get(nxt) != 1, "import circle: " + " -> ".join(path[path.index(nxt):] + [node, nxt]) \
                if nxt in path else f"import circle through {node} -> {nxt}"
            if nxt not in seen:
                visit(nxt, [*path, node])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [])


def test_hydra_is_imported_only_in_seedexp_hydra_and_its_private_api_only_in_compat():
    private = re.compile(r"hydra\._internal|\._return_value|\.instance\(\)\.cfg|\._parse_config|\.repository\b")
    for path in MODULES:
        rel = path.relative_to(PACKAGE).as_posix()
        hydra = {m for m in _imports(path) if m.split(".")[0] in ("hydra", "omegaconf")}
        if not rel.startswith("hydra/"):
            assert not hydra, f"{rel} imports {sorted(hydra)}: Hydra belongs in seedexp/hydra/"
        if rel != "hydra/_compat.py":
            assert not private.search(path.read_text()), f"{rel} uses Hydra's private API: it goes in hydra/_compat.py"


def test_no_module_over_600_lines_and_no_function_over_80_without_a_reason():
    """Code lines of a function, its docstring apart; a longer one says why (``Long because``) in its docstring."""
    problems = []
    for path in MODULES:
        text = path.read_text()
        rel = path.relative_to(PACKAGE).as_posix()
        if text.count("\n") > 620:
            problems.append(f"{rel} has {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                body = node.body[1:] if doc and len(node.body) > 1 else node.body  # the code, not the docstring
                length = node.end_lineno - body[0].lineno + 1
                if length > 80 and "Long because" not in doc:
                    problems.append(f"{rel}:{node.lineno} {node.name} has {length} lines and no 'Long because' in "
                                    "its docstring")
    assert problems == []
