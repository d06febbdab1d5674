"""The import graph inside each package has floors: no module imports one that (indirectly) imports it back.

``test_layering.py`` keeps the layers apart (scripts -> staging -> {provisioning, transfer}); this test looks
inside them. Every import counts, also one inside a function (it runs when the function does), except those
under ``if TYPE_CHECKING:``, which never run. With run-time cycles gone, every module stands on a floor above
all it imports, so "no module imports a higher one" is the same statement.

Type-only references may still point both ways between the ``provisioning/ec2/`` domain classes (an
``Instance`` returns ``Volume`` objects and a ``Volume`` names its ``Instance``); nowhere else.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterable, Mapping

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("provisioning", "transfer", "staging", "scripts")
#: Where type-only references may form a cycle (a module name prefix).
TYPE_ONLY_CYCLES_ALLOWED = "provisioning.ec2."

Graph = dict[str, set[str]]


def module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, type_only: bool = False) -> Iterable[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in ``tree`` with whether it sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), type_only)
        else:
            yield from _imports(node, type_only)


def build_graphs(root: pathlib.Path, packages: Iterable[str]) -> tuple[Graph, Graph]:
    """(run-time graph, type-only graph) between the modules of ``packages`` under ``root``."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    runtime: Graph = {name: set() for name in files}
    typing: Graph = {name: set() for name in files}

    def resolve(candidate: str) -> str | None:
        while candidate and candidate not in files:
            candidate = candidate.rpartition(".")[0]
        return candidate or None

    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, type_only in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import mod`` imports the submodule ``pkg.mod`` when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                found = resolve(target)
                if found is not None and found != name:
                    (typing if type_only else runtime)[name].add(found)
    return runtime, typing


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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


RUNTIME, TYPE_ONLY = build_graphs(ROOT, PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_runtime_import_cycle(package: str) -> None:
    """Run-time imports (module level or inside functions) never loop."""
    inside = {
        m: {t for t in ts if t.split(".")[0] == package}
        for m, ts in RUNTIME.items()
        if m.split(".")[0] == package
    }
    assert not cycles(inside), f"run-time import cycles in {package}: {cycles(inside)}"


def test_type_only_cycles_stay_among_the_ec2_domain_classes() -> None:
    """Counting ``TYPE_CHECKING`` imports too, the only loops are among ``provisioning/ec2/`` classes."""
    both = {m: RUNTIME[m] | TYPE_ONLY[m] for m in RUNTIME}
    bad = [c for c in cycles(both) if not all(m.startswith(TYPE_ONLY_CYCLES_ALLOWED) for m in c)]
    assert not bad, f"import cycles (type-only references included): {bad}"


def test_library_modules_never_import_the_test_helpers() -> None:
    """``transfer.testing`` and ``provisioning.testing`` (fakes, a real sshd for tests) serve tests and the
    sandbox; no library module leans on them (the ``transfer`` face hands ``SshdServer`` on, loading it only
    when asked for, and the demo command runs on a local moto server)."""
    allowed = {"transfer", "scripts.demo"}
    users = {
        m
        for m, deps in RUNTIME.items()
        if any(d.split(".")[1:2] == ["testing"] for d in deps)
        and ".testing" not in m
        and not m.startswith("staging.sandbox")
    }
    assert users <= allowed, f"library modules importing test helpers: {sorted(users - allowed)}"


def test_checker_sees_cycles(tmp_path: pathlib.Path) -> None:
    """The checker finds a loop through a function-level import and through ``from . import mod``,
    and tells a type-only reference apart (so the tests above cannot pass vacuously)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .c import x\n")
    (pkg / "c.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from pkg.d import y\n")
    (pkg / "d.py").write_text("import pkg.a\n")
    runtime, type_only = build_graphs(tmp_path, ["pkg"])
    assert runtime["pkg.a"] == {"pkg.b"} and runtime["pkg.b"] == {"pkg.c"}
    assert type_only["pkg.c"] == {"pkg.d"} and not cycles(runtime)
    both = {m: runtime[m] | type_only[m] for m in runtime}
    assert cycles(both) == [["pkg.a", "pkg.b", "pkg.c", "pkg.d"]]
