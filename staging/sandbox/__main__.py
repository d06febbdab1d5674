"""``python3 -m staging.sandbox`` and the ``vmec2-sandbox`` console script: which process this becomes.

``daemon ...`` (what :meth:`staging.sandbox.Sandbox.start` runs) becomes the sandbox daemon
(:mod:`staging.sandbox.daemon.process`); anything else is the command line
(:mod:`staging.sandbox.client.cli`).
"""

from __future__ import annotations

import sys

from staging.sandbox.client.cli import main as cli_main
from staging.sandbox.client.cli import program_name

__all__ = ["main", "program_name"]


def main(argv: list[str] | None = None, *, environ: dict[str, str] | None = None) -> int:
    """Run the command line, or the daemon for the internal ``daemon`` sub-command; returns the exit status.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).
        environ: The environment to read ``VMEC2_SANDBOX_DIR`` from (``os.environ`` when None).
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["daemon"]:
        # Imported here: the daemon's modules (and moto) are loaded in the daemon process only.
        from staging.sandbox.daemon.process import main as daemon_main

        return daemon_main(argv[1:], program_name())
    return cli_main(argv, environ=environ)


if __name__ == "__main__":
    sys.exit(main())
