"""The layering rule (STYLE P1): imports go scripts -> staging -> {provisioning, transfer}, never back."""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "provisioning": {"transfer", "staging", "scripts"},
    "transfer": {"provisioning", "staging", "scripts"},
    "staging": {"scripts"},
    "scripts": set(),
}


def imported_top_levels(path: pathlib.Path) -> set[tuple[int, str]]:
    """Every absolute import in ``path`` as (line, top-level package)."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update((node.lineno, a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_allowed_layers(package: str) -> None:
    """No module of a layer imports a layer above it or its sibling."""
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {mod}"
        for f in sorted((ROOT / package).rglob("*.py"))
        for line, mod in imported_top_levels(f)
        if mod in FORBIDDEN[package]
    ]
    assert not bad, "layering violated:\n" + "\n".join(bad)


def test_checker_sees_violations(tmp_path: pathlib.Path) -> None:
    """The checker itself catches both import forms (so the rule above cannot pass vacuously)."""
    f = tmp_path / "m.py"
    f.write_text("import transfer.ssh\nfrom staging import x\nfrom . import y\n")
    assert {m for _, m in imported_top_levels(f)} == {"transfer", "staging"}
