"""EC2 object classes, grouped by feature area; importing this package registers them with dispatch.

Every module in this package is imported here, so a new module only has to exist to take part.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
