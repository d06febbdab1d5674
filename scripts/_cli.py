"""What every command shares: common options, logging, the cloud to talk to, progress, and error → exit code.

The only place in the project that configures logging (STYLE P11): ``-v`` shows our steps as log lines,
``-vv`` everything including botocore's wire traces, always through
:class:`provisioning.redact.RedactingFilter` so no key material, secret or user data reaches the terminal.
Errors print as one line (``PROG: error: ...``); ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import structlog

from provisioning import EC2, ParameterError, VMEC2Error
from provisioning.redact import RedactingFilter
from staging import StagingError, StagingParameterError
from transfer import TransferError

__all__ = [
    "Cloud",
    "TerminalReporter",
    "add_common_options",
    "add_direct_options",
    "add_server_options",
    "add_transfer_options",
    "connect",
    "run_command",
    "run_main",
    "setup_logging",
]

_HANDLER_NAME = "vmec2-staging-cli"
#: Exit codes: 0 done, 1 failed on the way, 2 bad input (nothing was created), 130 interrupted.
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Credentials, endpoint, region, verbosity, output and sandbox options (VM::EC2's spellings too)."""
    cloud = parser.add_argument_group("cloud")
    cloud.add_argument("--region", help="AWS region (default: the endpoint's, then boto3's configuration)")
    cloud.add_argument("--endpoint", help="EC2 endpoint URL (default: $EC2_URL, then AWS)")
    cloud.add_argument("--profile", help="a named AWS profile")
    cloud.add_argument("--access_key", "--access-key", dest="access_key", metavar="KEY",
                       help="access key id (default: $EC2_ACCESS_KEY, then boto3's chain)")  # fmt: skip
    cloud.add_argument("--secret_key", "--secret-key", dest="secret_key", metavar="KEY",
                       help="secret key (default: $EC2_SECRET_KEY, then boto3's chain)")  # fmt: skip
    cloud.add_argument(
        "--sandbox",
        action="store_true",
        help="run on the local sandbox cloud: the one that is up, else one started for this run and left "
        "up (root only; 'vmec2-sandbox down' removes it)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="more detail: -v log lines and tracebacks, -vv wire traces (redacted)",
    )  # fmt: skip
    out.add_argument("-q", "--quiet", action="store_true", help="print only the result and errors")
    out.add_argument("--json", action="store_true", help="a machine-readable summary on stdout")


def add_transfer_options(parser: argparse.ArgumentParser, *, delete_help: str) -> None:
    """What both sync commands take about the copy itself and the snapshot's owner."""
    parser.add_argument("--zone", help="availability zone (default: the region's first available)")
    parser.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                        help="rsync --exclude pattern (repeatable)")  # fmt: skip
    parser.add_argument("--delete", action="store_true", help=delete_help)
    parser.add_argument("--acls", action="store_true", help="keep POSIX ACLs")
    parser.add_argument("--xattrs", action="store_true", help="keep extended attributes")
    parser.add_argument("--owner", default="self", help="owner of the snapshot (default: self)")


def add_direct_options(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--direct`` (no staging server: the EBS direct APIs) and its parallelism."""
    parser.add_argument("--direct", action="store_true", help=what)
    parser.add_argument("--concurrency", type=int, default=8, metavar="N",
                        help="parallel block calls with --direct (default: %(default)s)")  # fmt: skip


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The staging server's options (VM::EC2's ``--image``, ``--type``, ``--username``)."""
    server = parser.add_argument_group("staging server")
    server.add_argument("-i", "--image", metavar="AMI",
                        help="ami-... or a name pattern (default: official Debian 12)")  # fmt: skip
    server.add_argument("-t", "--type", dest="instance_type", default="t3.micro", metavar="TYPE",
                        help="instance type (default: %(default)s)")  # fmt: skip
    server.add_argument("-u", "--username", help="ssh login (default: from the image)")
    server.add_argument("--ssh-cidr", metavar="CIDR",
                        help="who may ssh in (default: your address as the cloud sees it)")  # fmt: skip
    server.add_argument("--dotdir", metavar="DIR", help="keys and run journals (default: ~/.vm-ec2-staging)")


def setup_logging(verbose: int, quiet: bool) -> None:
    """Configure stdlib logging (structlog's records flow through it) with redaction on the handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING)
    if quiet:
        root.setLevel(logging.ERROR)
    # The application's choice (never the library's): every structlog logger hands its records to stdlib.
    structlog.configure(
        processors=[structlog.processors.KeyValueRenderer(key_order=["event"], drop_missing=True)],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    if verbose < 2:
        for noisy in ("botocore", "boto3", "urllib3", "paramiko", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if verbose == 0:
        # paramiko's transport thread logs what our errors already say, with its traceback (a connection
        # closed under it by Ctrl-C, a server refusing): the one-line error is the user's, the trace is -v's.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)


@dataclass
class Cloud:
    """The EC2 façade a command works on, and who may ssh into its servers (None: look it up)."""

    ec2: Any
    ssh_cidr: str | None = None


def connect(args: argparse.Namespace, stderr: TextIO) -> Cloud:
    """The cloud the options name: the sandbox (``--sandbox``) or an endpoint/region with credentials."""
    if args.sandbox:
        from scripts._sandbox import sandbox_cloud

        ec2, cidr = sandbox_cloud(args, stderr)
        return Cloud(ec2, ssh_cidr=cidr)
    ec2 = EC2(
        access_key=args.access_key,
        secret_key=args.secret_key,
        endpoint=args.endpoint,
        region=args.region,
        profile=args.profile,
    )
    return Cloud(ec2)


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class TerminalReporter:
    """A :class:`staging.Reporter` for people: a progress bar on a terminal, one line per step otherwise.

    tqdm draws the transfer bar (rate, ETA, redrawn in place, no thread of its own); waits redraw one status
    line on a terminal and print a line every 30 s elsewhere, so a log file shows what the run waits for.
    """

    def __init__(self, stream: TextIO, *, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty()
        self._bar: Any = None
        self._waited: dict[str, float] = {}

    def _clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")

    def step(self, message: str) -> None:
        self.transfer_done()
        if not self.quiet:
            self._clear()
            print(f"==> {message}", file=self.stream, flush=True)

    def waiting(self, what: str, elapsed: float) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write(f"\r\033[K    waiting for {what} ({elapsed:.0f} s)")
            self.stream.flush()
            return
        last = self._waited.get(what)
        if last is None or elapsed - last >= 30:
            self._waited[what] = elapsed
            print(f"    waiting for {what} ({elapsed:.0f} s)", file=self.stream, flush=True)

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        if self.quiet:
            return
        if not self.tty:
            return  # the step line said what is copied; the summary says how it went
        if self._bar is None:
            from tqdm import tqdm

            self._clear()
            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=self.stream,
                             desc="    rsync", leave=False, dynamic_ncols=True)  # fmt: skip
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.update(max(0, done - self._bar.n))

    def transfer_done(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_main(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    stdout: TextIO | None,
    stderr: TextIO | None,
    work: Callable[[argparse.Namespace, TextIO, TextIO], int],
) -> int:
    """One command's ``main``: parse, configure logging, then ``work(args, out, err)`` under
    :func:`run_command`."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    return run_command(prog, args.verbose, lambda: work(args, out, err), err)


def run_command(prog: str, verbose: int, work: Callable[[], int], stderr: TextIO | None = None) -> int:
    """Run ``work`` and turn our error roots into one-line messages and exit codes."""
    err = stderr or sys.stderr
    try:
        return work()
    except (StagingParameterError, ParameterError) as exc:
        message, code = str(exc), EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted ({exc or 'Ctrl-C'}); temporary resources were cleaned up", file=err)
        return EXIT_INTERRUPTED
    except (StagingError, VMEC2Error, TransferError, OSError) as exc:
        message, code = str(exc) or type(exc).__name__, EXIT_FAILED
    if verbose:
        traceback.print_exc(file=err)
    print(f"{prog}: error: {message.splitlines()[0] if message else ''}", file=err)
    return code
