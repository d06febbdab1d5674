"""The public handle on a sandbox: :class:`Sandbox` (start/stop, endpoint, environment, images, faults)."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from provisioning.errors import ParameterError
from provisioning.settings import check_region
from staging._log import get_logger
from staging.sandbox._state import DAEMON_LOG, read_state
from staging.sandbox.client.preflight import check_environment
from staging.sandbox.client.teardown import is_daemon, teardown
from staging.sandbox.errors import SandboxError
from staging.sandbox.faults import Faults

log = get_logger(__name__)

DEFAULT_REGIONS = ("us-east-1", "us-west-2")
#: Fake credentials the sandbox accepts (moto accepts any).
ACCESS_KEY = "sandbox"
SECRET_KEY = "sandbox-secret"


class Sandbox:
    """A local EC2 cloud made of real parts, as a context manager.

    ``with Sandbox(tmp / "cloud") as cloud:`` starts the daemon (moto's server with side-effect hooks) and
    returns once the API answers; leaving the block removes everything it made, even after errors.

    Args:
        state_dir: Directory of the sandbox (created; must not hold another sandbox). Removed by :meth:`stop`.
        regions: Regions that get the sandbox images (any region can be called).
        faults: Faults to inject from the start (change later with :meth:`set_faults`).
        login_user: The cloud-image-like user with password-less sudo that hosts accept the launch key for.
        legacy_devices: Also show attached volumes under the requested Xen-style name (``/dev/sdf`` is
            ``/dev/xvdf``), inside the attached host only.
        port: Loopback port of the API (0: any free port).
        start_timeout: Seconds to wait for the daemon to come up.

    Raises:
        SandboxError: A region that is not an AWS region (checked here, before anything exists).
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        regions: Sequence[str] = DEFAULT_REGIONS,
        faults: Faults | None = None,
        login_user: str = "admin",
        legacy_devices: bool = False,
        port: int = 0,
        start_timeout: float = 60.0,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.regions = [_aws_region(region) for region in regions]
        self.faults = faults or Faults()
        self.login_user = login_user
        self.legacy_devices = legacy_devices
        self.port = port
        self.start_timeout = start_timeout
        self._state: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def attach(cls, state_dir: str | Path) -> Sandbox:
        """A handle on a sandbox that is already up (e.g. started by ``python -m staging.sandbox up``)."""
        sandbox = cls(state_dir)
        sandbox._state = read_state(sandbox.state_dir)
        if not sandbox._state:
            raise SandboxError(f"no sandbox is up in {sandbox.state_dir}", next_command=sandbox._cli("up"))
        sandbox.regions = list(sandbox._state.get("regions", sandbox.regions))
        sandbox.login_user = str(sandbox._state.get("login_user", sandbox.login_user))
        return sandbox

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Check the machine, start the daemon and wait until the API answers.

        Raises:
            EnvironmentProblem: Not root or a tool is missing (nothing has been created).
            SandboxError: A sandbox already lives in ``state_dir``, or the daemon failed (everything it made
                has been removed again; the message has the daemon's error).
        """
        check_environment()
        Faults.from_dict(self.faults.to_dict())  # a bad value fails here, before anything exists
        existing = read_state(self.state_dir)
        if existing and self._daemon_running(existing):
            raise SandboxError(f"a sandbox is already up in {self.state_dir}", next_command=self._cli("down"))
        if existing:
            raise SandboxError(
                f"{self.state_dir} holds what a crashed sandbox left",
                next_command=self._cli("down", "--force"),
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if any(self.state_dir.iterdir()):
            raise SandboxError(f"{self.state_dir} is not empty")
        config = {
            "token": secrets.token_hex(2),
            "regions": self.regions,
            "login_user": self.login_user,
            "port": self.port,
            "legacy_devices": self.legacy_devices,
            "faults": self.faults.to_dict(),
        }
        argv = [sys.executable, "-m", "staging.sandbox", "daemon", "--state-dir", str(self.state_dir)]
        with (self.state_dir / DAEMON_LOG).open("ab") as logf:
            proc = subprocess.Popen(
                [*argv, "--config", json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                start_new_session=True,  # a Ctrl-C in the caller's terminal must not kill the cloud
            )
        self._proc = proc
        try:
            self._wait_running(proc)
        except BaseException:
            self._cleanup_after_failed_start(proc)
            raise
        log.info("sandbox.up", endpoint=self.endpoint, cidr=self.network)
        return self

    def _wait_running(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            self._state = read_state(self.state_dir)
            status = self._state.get("status")
            if status == "running":
                return
            if status == "failed" or proc.poll() is not None:
                raise SandboxError(f"sandbox failed to start: {self._failure(proc)}")
            if time.monotonic() > deadline:
                raise SandboxError(f"sandbox not up after {self.start_timeout:g}s: {self._log_tail()}")
            time.sleep(0.05)

    def _failure(self, proc: subprocess.Popen[bytes]) -> str:
        """Why the daemon did not come up: its recorded error, else how it ended and its last words."""
        if self._state.get("error"):
            return str(self._state["error"])
        code = proc.wait()
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        return f"the daemon {how}" + (f": {tail}" if (tail := self._log_tail()) else " (no output)")

    def _cleanup_after_failed_start(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop our daemon first (it may still be creating things), then remove what its state records."""
        log_tail = self._log_tail()
        if proc.poll() is None:
            proc.terminate()  # a starting daemon dies at once; a serving one powers its hosts off
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()
        self._proc = None
        teardown(self.state_dir)
        log.warning("sandbox.start_failed", log=log_tail)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = (self.state_dir / DAEMON_LOG).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, force: bool = False) -> bool:
        """Remove everything the sandbox made (daemon, hosts, loop devices, network, user, files).

        Args:
            force: Also clean up when the daemon is no longer running (after a crash).

        Returns:
            Whether there was a sandbox (or its remains) to remove; False when none was up.

        Raises:
            SandboxError: The daemon is gone and ``force`` is false.
        """
        state = read_state(self.state_dir)
        if state and not force and not self._daemon_running(state):
            raise SandboxError(
                f"the sandbox daemon in {self.state_dir} is not running",
                next_command=self._cli("down", "--force"),
            )
        teardown(self.state_dir)
        if self._proc is not None:
            self._proc.wait()  # the daemon is our child when we started it: collect it
            self._proc = None
        return bool(state)

    def _daemon_running(self, state: dict[str, Any]) -> bool:
        pid = state.get("daemon_pid")
        return isinstance(pid, int) and is_daemon(pid, self.state_dir)

    def _cli(self, *command: str) -> tuple[str, ...]:
        """The arguments of the command line's ``command`` on this sandbox (a ``next_command``)."""
        return (*command, "--state-dir", str(self.state_dir))

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(force=True)

    # --- what clients need -----------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """The EC2 (and STS, ...) endpoint URL on loopback.

        Raises:
            SandboxError: The sandbox never came up (its state has no endpoint).
        """
        if "endpoint" not in self._state:
            raise SandboxError(f"the sandbox in {self.state_dir} is not running (no endpoint)")
        return str(self._state["endpoint"])

    @property
    def region(self) -> str:
        """The default region (the first of ``regions``)."""
        return self.regions[0]

    @property
    def network(self) -> str:
        """The CIDR the hosts' addresses come from (e.g. ``100.64.0.0/24``)."""
        return str((self._state.get("network") or {}).get("cidr", ""))

    @property
    def caller_address(self) -> str:
        """Your address as the hosts see it (the bridge's gateway address), e.g. ``100.64.0.1``.

        What a check-IP service answers on AWS: a security group rule for ``caller_address + "/32"`` lets
        this machine in. ``GET {endpoint}/_sandbox/checkip`` answers the same as plain text.

        Raises:
            SandboxError: The sandbox never came up (its state has no network).
        """
        address = (self._state.get("network") or {}).get("gateway")
        if not address:
            raise SandboxError(f"the sandbox in {self.state_dir} is not running (no network)")
        return str(address)

    @property
    def login_users(self) -> dict[str, str]:
        """``{image name: login user}`` of the sandbox images (the user each host accepts the key for)."""
        return dict(self._state.get("login_users") or {})

    @property
    def images(self) -> dict[str, dict[str, str]]:
        """``{region: {image name: image id}}`` of the images the sandbox registered."""
        return dict(self._state.get("images") or {})

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment variables that point boto3 / the AWS CLI at the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": region or self.region,
            "AWS_REGION": region or self.region,
        }

    # --- control API ------------------------------------------------------------------------------------
    def _control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}/_sandbox/{name}", data=data, method="POST" if data is not None else "GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise SandboxError(f"the sandbox refused {name}: {detail}") from exc
        except OSError as exc:
            raise SandboxError(
                f"the sandbox daemon does not answer ({exc})", next_command=self._cli("down", "--force")
            ) from exc

    def status(self) -> dict[str, Any]:
        """The daemon's view: hosts (address, namespace, sshd pid) and active faults."""
        result: dict[str, Any] = self._control("status")
        return result

    def set_faults(self, faults: Faults) -> None:
        """Replace the active faults (takes effect with the next API call)."""
        self._control("faults", faults.to_dict())
        self.faults = faults

    def drop_ssh_connections(self, instance_id: str) -> int:
        """Cut every SSH session of an instance's host (sshd keeps listening); returns how many died."""
        return int(self._control("drop-connections", {"instance_id": instance_id})["dropped"])


def _aws_region(region: str) -> str:
    """``region`` if it is an AWS region (moto serves those only); the error names the nearest ones."""
    try:
        return check_region(region)
    except ParameterError as exc:
        raise SandboxError(str(exc)) from exc
