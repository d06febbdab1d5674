"""The transfer package's public surface and layering."""

from __future__ import annotations

import importlib
import pathlib
import pkgutil
import subprocess
import sys
import types

import transfer


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ matches the package's public attributes that are not submodules."""
    public = {
        n
        for n in dir(transfer)
        if not n.startswith("_")
        and not isinstance(getattr(transfer, n), types.ModuleType)
        and n != "annotations"
    }
    assert set(transfer.__all__) == public
    assert all(getattr(transfer, n) is not None for n in transfer.__all__)


def test_the_test_helpers_load_only_when_asked_for() -> None:
    """``import transfer`` leaves ``transfer.testing`` (a real sshd, the fake shell) unloaded until a program
    asks for ``transfer.SshdServer``."""
    code = (
        "import sys, transfer; assert 'transfer.testing' not in sys.modules; "
        "from transfer import SshdServer; assert SshdServer.__module__ == 'transfer.testing.sshd'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).parents[2])


def test_every_module_imports_and_declares_all() -> None:
    """Each module imports on its own and lists its exports."""
    for info in pkgutil.iter_modules(transfer.__path__):
        module = importlib.import_module(f"transfer.{info.name}")
        assert isinstance(getattr(module, "__all__", None), list), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"
