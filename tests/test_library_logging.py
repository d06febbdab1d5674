"""Library code never prints: with logging unconfigured, no module of the four packages writes to stdout.

An unconfigured structlog logger prints to stdout; every package logs through its own ``_log.get_logger``
(structlog over stdlib logging, under a NullHandler) instead. Checked in a fresh interpreter, where nothing
has configured anything, for every module that has a module-level ``log``.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
names = []
for package in ("provisioning", "transfer", "staging", "scripts"):
    top = importlib.import_module(package)
    for info in pkgutil.walk_packages(top.__path__, package + "."):
        if info.name.endswith(("__main__", "pytest_plugin")):
            continue
        module = importlib.import_module(info.name)
        log = getattr(module, "log", None)
        if log is not None and hasattr(log, "warning"):
            log.warning("library.logging.check", module=info.name)
            names.append(info.name)
print(len(names), file=sys.stderr)
"""


def test_no_module_logs_to_stdout_when_nothing_is_configured() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stderr.strip().splitlines()[-1]) > 20  # the check reached the modules that log
    assert result.stdout == ""
