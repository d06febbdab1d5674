"""The sandbox's modules are grouped by the process that runs them, and only the hooks touch moto.

``client/`` runs in the caller's process, ``daemon/`` in the daemon, ``machine/`` is driven by both (see
docs/sandbox.md, "Which process runs what"). These tests read the imports (static, no sandbox needed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import staging.sandbox

ROOT = Path(staging.sandbox.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (also inside functions and ``TYPE_CHECKING`` blocks)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _modules(folder: str = "") -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): _imports(p) for p in sorted((ROOT / folder).rglob("*.py"))}


def test_only_the_hooks_and_the_daemon_process_import_moto() -> None:
    """The cloud model, EBS direct, the WSGI layer, the client and the machine never import moto."""
    allowed = ("daemon/hooks/", "daemon/process.py")
    offenders = {
        name
        for name, imports in _modules().items()
        if not name.startswith(allowed) and any(m == "moto" or m.startswith("moto.") for m in imports)
    }
    assert offenders == set()


def test_the_client_and_the_machine_do_not_import_the_daemon() -> None:
    """The client starts the daemon as a process; the machine's parts know neither side."""
    for side, forbidden in (("client", ("daemon",)), ("machine", ("daemon", "client"))):
        for name, imports in _modules(side).items():
            wrong = {m for m in imports for f in forbidden if m.startswith(f"staging.sandbox.{f}")}
            assert wrong == set(), f"{side}/{name} imports {wrong}"
