"""Instances: lifecycle with optional waits, user data, console output, images, volumes and addresses.

``Instance`` wraps the ``Instance`` shape (DescribeInstances and RunInstances also give each instance its
reservation's fields). Its state prints as its name (``str(inst.instanceState) == "running"``).
Methods that call AWS are explicit: :meth:`Instance.current_status`, :meth:`Instance.key_pair`,
:meth:`Instance.user_data` and friends each make one call; reading a field never does.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._log import get_logger
from ..errors import NotFoundError, ParameterError
from ..objects import AWSObject, register_class
from ..waiting import Poll, describe_created, member_id
from ._base import Action, EC2Object, Resource, vmec2_method

if TYPE_CHECKING:
    from .address import ElasticAddress
    from .image import Image
    from .security import KeyPair
    from .volume import Attachment, Volume

__all__ = ["ConsoleOutput", "Instance", "InstanceStateChange", "PasswordData", "Placement", "StatusSummary"]

log = get_logger(__name__)


def _decode(text: str) -> bytes:
    """Base64 text as bytes; text that is not base64 comes back as is (look-alikes may send plain text)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


def _decrypt(data: str, private_key: str | bytes) -> str:
    """Decrypt GetPasswordData's answer (base64 of RSA PKCS#1 v1.5) with the key pair's PEM key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    pem = private_key.encode() if isinstance(private_key, str) else private_key
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ParameterError("Windows passwords are encrypted with RSA key pairs only")
    try:
        return key.decrypt(base64.b64decode(data), padding.PKCS1v15()).decode()
    except ValueError as exc:
        raise ParameterError(f"cannot decrypt the password with this key: {exc}") from exc


@register_class("ec2", "Instance")
class Instance(Resource):
    """An EC2 instance (VM::EC2::Instance).

    Fields are read by any spelling (``inst.dnsName``, ``inst.public_dns_name``); ``str(inst)`` is its id.
    """

    status_field = "State"
    kind = "instance"
    poll = Poll("DescribeInstances", "instance-id")
    failed_states = frozenset({"shutting-down", "terminated"})
    gone_state = "terminated"

    monitor = Action("MonitorInstances", "Enable detailed monitoring (MonitorInstances).", default=None)
    unmonitor = Action(
        "UnmonitorInstances", "Disable detailed monitoring (UnmonitorInstances).", default=None
    )

    # --- lifecycle ------------------------------------------------------------------------------------

    def _change(self, operation: str, target: str, wait: bool, **kwargs: Any) -> Any:
        facade = self._facade()
        changes = facade.call("ec2", operation, self, **kwargs)
        log.info("instance.state_change", instance=str(self), operation=operation, wait=wait)
        if wait:
            # The wait brings this object up to date from its last describe: no refresh() needed. Inside
            # this method's guard it raises, so a failed wait is reported once, by the method.
            facade.wait_for_terminal_state([self], target)
        return changes[0] if isinstance(changes, list) and changes else changes

    @vmec2_method()
    def start(self, wait: bool = False) -> InstanceStateChange | None:
        """Start the instance (StartInstances); with ``wait=True`` return once it is running."""
        result: InstanceStateChange | None = self._change("StartInstances", "running", wait)
        return result

    @vmec2_method()
    def stop(self, wait: bool = False, force: bool = False) -> InstanceStateChange | None:
        """Stop the instance (StopInstances); with ``wait=True`` return once it is stopped."""
        result: InstanceStateChange | None = self._change(
            "StopInstances", "stopped", wait, force=force or None
        )
        return result

    @vmec2_method()
    def terminate(self, wait: bool = False) -> InstanceStateChange | None:
        """Terminate the instance (TerminateInstances); with ``wait=True`` return once it is terminated."""
        result: InstanceStateChange | None = self._change("TerminateInstances", "terminated", wait)
        return result

    @vmec2_method(default=False)
    def reboot(self, wait: bool = False) -> bool:
        """Reboot the instance (RebootInstances); with ``wait=True`` return once it is running again."""
        return bool(self._change("RebootInstances", "running", wait))

    @property
    def groups(self) -> list[Any]:
        """The instance's security groups (``groupId``, ``groupName``); the reservation's for EC2-Classic
        answers that list them there only, as VM::EC2 read them."""
        own = self.field("SecurityGroups")
        if own:
            return list(own)
        return list(self._parent.field("Groups") or []) if self._parent is not None else []

    @property
    def up_time(self) -> float:
        """Seconds since the instance was launched, from this snapshot's launch time (no API call)."""
        launched = self.field("LaunchTime")
        return 0.0 if launched is None else (datetime.now(UTC) - launched).total_seconds()

    #: VM::EC2's other name for :meth:`current_status`.
    current_state = Resource.current_status

    # --- attributes that need a call ----------------------------------------------------------------

    @vmec2_method()
    def key_pair(self) -> KeyPair | None:
        """The instance's key pair with its fingerprint (DescribeKeyPairs); None if launched without one."""
        if not self.field("KeyName"):
            return None
        pairs = self._facade().call("ec2", "DescribeKeyPairs", self.field("KeyName"))
        return pairs[0] if pairs else None

    @vmec2_method()
    def user_data_bytes(self) -> bytes | None:
        """The user data as bytes (DescribeInstanceAttribute, base64 decoded); ``b""`` when there is none."""
        attr = self._facade().call("ec2", "DescribeInstanceAttribute", self, "userData")
        value = attr.UserData.Value if attr.UserData is not None else None
        return _decode(value) if value else b""

    @vmec2_method()
    def user_data(self, data: str | bytes | None = None) -> str | bool | None:
        """The user data as text (DescribeInstanceAttribute, base64 decoded, UTF-8); with ``data``, VM::EC2's
        setter form: ``instance.userData("x")`` is :meth:`set_user_data` (the instance must be stopped)."""
        if data is not None:
            return self.set_user_data(data)
        raw = self.user_data_bytes()
        return None if raw is None else raw.decode("utf-8", errors="replace")

    @vmec2_method(default=False)
    def set_user_data(self, data: str | bytes) -> bool:
        """Replace the user data (ModifyInstanceAttribute; botocore base64-encodes it once, as AWS wants).
        The instance must be stopped."""
        raw = data.encode() if isinstance(data, str) else data
        return bool(self._facade().call("ec2", "ModifyInstanceAttribute", instance_id=self, user_data=raw))

    @vmec2_method()
    def console_output(self) -> ConsoleOutput | None:
        """The console output (GetConsoleOutput, base64 decoded): text, with ``timestamp`` and
        ``instance_id``; ``""`` before there is any."""
        answer = self._facade().call("ec2", "GetConsoleOutput", self)
        out = answer.Output
        text = _decode(out).decode("utf-8", errors="replace") if out else ""
        return ConsoleOutput(text, answer.Timestamp, answer.InstanceId or str(self))

    @vmec2_method()
    def password_data(self, private_key: str | bytes | None = None) -> PasswordData | None:
        """The Windows administrator password (GetPasswordData), with ``timestamp``; ``""`` until it is ready.

        Args:
            private_key: The PEM private key of the instance's key pair. Without it the password comes back
                encrypted (base64), as AWS sends it; with it, in clear text.
        """
        answer = self._facade().call("ec2", "GetPasswordData", self)
        data = str(answer.PasswordData or "").strip()
        text = _decrypt(data, private_key) if data and private_key is not None else data
        return PasswordData(text, answer.Timestamp, answer.InstanceId or str(self))

    def field(self, member: str) -> Any:
        """A member's value; block devices learn their instance (for their ``deleteOnTermination`` setter)."""
        value = super().field(member)
        if member == "BlockDeviceMappings":
            for device in value or ():
                device.instance = self
        return value

    # --- chained actions ----------------------------------------------------------------------------

    @vmec2_method()
    def create_image(
        self, name: str, description: str | None = None, *, no_reboot: bool | None = None, **kwargs: Any
    ) -> Image | None:
        """Make an image of the instance (CreateImage) and return it (DescribeImages).

        Other CreateImage arguments (``block_devices=``, ``tag_specifications=``...) pass through.
        """
        facade = self._facade()
        image_id = facade.call(
            "ec2", "CreateImage", self, name, description=description, no_reboot=no_reboot, **kwargs
        )
        image: Image = describe_created(facade, "DescribeImages", image_id)
        return image

    @vmec2_method()
    def attach_volume(self, volume: Volume | str, device: str, **kwargs: Any) -> Attachment | None:
        """Attach a volume (object or id) at ``device`` (AttachVolume); returns the attachment. The instance
        is re-read, so its ``blockDeviceMapping`` lists the new device."""
        attachment: Attachment = self._facade().call("ec2", "AttachVolume", volume, self, device, **kwargs)
        attachment._known_instance = self  # its changes (deleteOnTermination) re-read this instance
        self.refresh()
        return attachment

    @vmec2_method()
    def detach_volume(self, volume: Volume | str, *, force: bool = False) -> Attachment | None:
        """Detach a volume (object or id) from this instance (DetachVolume); returns the attachment. The
        instance is re-read."""
        attachment: Attachment = self._facade().call("ec2", "DetachVolume", volume, self, force=force or None)
        self.refresh()
        return attachment

    @vmec2_method()
    def associate_address(self, address: ElasticAddress | str) -> str | None:
        """Associate an elastic address (object, public IP or allocation id); returns the association id.
        The instance is re-read, so ``ipAddress`` is the new address."""
        if isinstance(address, AWSObject):
            association: str | None = address.associate(self)
        else:
            key = "allocation_id" if address.startswith("eipalloc-") else "public_ip"
            association = str(
                self._facade().call("ec2", "AssociateAddress", instance_id=self, **{key: address})
            )
        self.refresh()
        return association

    @vmec2_method(default=False)
    def disassociate_address(self, address: ElasticAddress | str | None = None) -> bool:
        """Disassociate this instance's elastic address, or ``address`` (object or public IP) if it is
        this instance's (DescribeAddresses, DisassociateAddress); the instance is re-read.

        Raises:
            NotFoundError: the instance has no (such) elastic address.
        """
        facade = self._facade()
        wanted = {"instance-id": str(self)}
        if address is not None:
            wanted["public-ip"] = str(address)
        addresses = facade.call("ec2", "DescribeAddresses", Filters=wanted)
        if not addresses:
            raise NotFoundError("InvalidAddress.NotFound", f"{self} has no elastic address", operation="")
        addr = addresses[0]
        key = {"association_id": addr.AssociationId} if addr.AssociationId else {"public_ip": str(addr)}
        done = bool(facade.call("ec2", "DisassociateAddress", **key))
        self.refresh()
        return done


class ConsoleOutput(str):
    """An instance's console output (VM::EC2::Instance::ConsoleOutput): the text, plus ``timestamp`` and
    ``instance_id`` (``instanceId``)."""

    timestamp: datetime | None
    instance_id: str

    def __new__(cls, text: str, timestamp: datetime | None, instance_id: str) -> ConsoleOutput:
        made = super().__new__(cls, text)
        made.timestamp, made.instance_id = timestamp, instance_id
        return made

    @property
    def instanceId(self) -> str:
        """VM::EC2's spelling of :attr:`instance_id`."""
        return self.instance_id


class PasswordData(ConsoleOutput):
    """A Windows password (VM::EC2::Instance::PasswordData): the text, ``password``, ``timestamp``."""

    @property
    def password(self) -> str:
        """The password (encrypted unless a private key was given)."""
        return str(self)


@register_class("ec2", "Placement")
class Placement(EC2Object):
    """Where an instance runs (VM::EC2::Instance::Placement): prints as its availability zone, so
    ``create_volume(availability_zone=instance.placement)`` puts the volume next to the instance."""

    primary_field = "AvailabilityZone"


@register_class("ec2", "InstanceStatusSummary")
class StatusSummary(EC2Object):
    """An instance or system status check (VM::EC2::Instance::Status): prints as ``ok``, ``impaired``...;
    ``details`` lists the individual checks."""

    primary_field = "Status"


def _adopt_current_state(change: AWSObject, instance: AWSObject) -> None:
    """A state change takes its instance's fresh state as ``CurrentState`` (the update of its poll rule)."""
    current = instance._data.get("State", change._data.get("CurrentState"))
    change._replace({**change._data, "CurrentState": current}, change._parent)


@register_class("ec2", "InstanceStateChange")
class InstanceStateChange(Resource):
    """The answer of Start/Stop/TerminateInstances for one instance (VM::EC2::Instance::State::Change).

    ``str(change)`` is the instance id; ``change.current_state``/``previous_state`` print as state names.
    """

    kind = "instance"
    poll = Poll("DescribeInstances", "instance-id", key=member_id("InstanceId"), update=_adopt_current_state)
    failed_states = Instance.failed_states
    gone_state = "terminated"

    @vmec2_method()
    def current_status(self) -> str | None:
        """The instance's state now (DescribeInstances)."""
        instances = self._facade().call("ec2", "DescribeInstances", str(self.InstanceId))
        if not instances:
            raise NotFoundError("InvalidInstanceID.NotFound", f"{self} does not exist", operation="")
        return instances[0].recorded_status()  # type: ignore[no-any-return]

    def instance(self) -> Instance | None:
        """The instance this change is about (DescribeInstances)."""
        found = self._facade().call("ec2", "DescribeInstances", str(self.InstanceId))
        return found[0] if found else None
