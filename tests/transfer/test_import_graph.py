"""transfer/'s modules stand on floors: no import circle, so no module imports one above it (issue 12).

Every import counts, also those under ``TYPE_CHECKING`` or inside a function: a circle hidden from the
interpreter is still one for the reader. A package's ``__init__`` is only a face over its modules, so the
implicit import of a parent package is not an edge.
"""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def module_files(package: str) -> dict[str, pathlib.Path]:
    """Dotted module name -> file, for every module of ``package`` (packages by their ``__init__``)."""
    files = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package that it imports (absolute and relative imports)."""
    files = module_files(package)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # ``from pkg import mod`` imports the module ``pkg.mod``; ``from mod import name`` the module.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_transfer_has_no_import_circle() -> None:
    """No two modules of transfer/ import each other, directly or around a circle."""
    assert cycles(import_graph("transfer")) == []


def test_errors_is_the_bottom() -> None:
    """errors.py imports only leaves (no circle with hostkeys.py through the fingerprint helper)."""
    graph = import_graph("transfer")
    assert graph["transfer.errors"] <= {"transfer.fingerprints", "transfer.result"}
    assert "transfer.errors" in graph["transfer.hostkeys"]


def test_library_modules_never_import_the_test_helpers() -> None:
    """Only the package face re-exports SshdServer from transfer.testing; no library module needs it."""
    graph = import_graph("transfer")
    users = {m for m, deps in graph.items() if any(d.startswith("transfer.testing") for d in deps)}
    assert users - {"transfer"} <= {m for m in graph if m.startswith("transfer.testing")}


def test_the_checker_sees_a_circle(tmp_path: pathlib.Path) -> None:
    """The cycle finder reports a circle of three and ignores a chain (so the rule cannot pass vacuously)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
