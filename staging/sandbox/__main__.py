"""``python3 -m staging.sandbox`` and the ``vmec2-sandbox`` console script: the command line
(:mod:`staging.sandbox.client.cli`); its internal ``daemon`` sub-command becomes the daemon process."""

from __future__ import annotations

import sys

from staging.sandbox.client.cli import main, program_name

__all__ = ["main", "program_name"]

if __name__ == "__main__":
    sys.exit(main())
