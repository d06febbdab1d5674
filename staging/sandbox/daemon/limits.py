"""Input AWS refuses and moto accepts, as pure checks: each returns ``(code, message)`` or None.

They run before moto sees a request (request parameters in the WSGI layer, volume sizes and zones in the
backend hooks), so a refused call records nothing and touches nothing on the machine.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: An AWS error: (code, message).
Problem = tuple[str, str]

#: Sizes (GiB) EBS accepts per volume type: (minimum, maximum).
VOLUME_SIZES = {
    "standard": (1, 1024),
    "gp2": (1, 16384),
    "gp3": (1, 16384),
    "io1": (4, 16384),
    "io2": (4, 65536),
    "st1": (125, 16384),
    "sc1": (125, 16384),
}
#: Raw user data is limited to 16 KB before base64 encoding.
USER_DATA_LIMIT = 16384
TAG_KEY_LIMIT = 128
TAG_VALUE_LIMIT = 256

_TAG_PARAM = re.compile(r"^(?:TagSpecification\.\d+\.)?Tag\.\d+\.(Key|Value)$")
#: Device names EC2 accepts for EBS volumes (``/dev/sdf``, ``/dev/xvdba``, ``xvdf`` on Windows).
_DEVICE = re.compile(r"(/dev/)?(sd|xvd|hd)[a-z]{1,2}([1-9]|1[0-5])?")


def device_problem(device: Any) -> Problem | None:
    """A device name EC2 refuses (the whole string must match: no trailing newline or path tricks)."""
    if isinstance(device, str) and _DEVICE.fullmatch(device):
        return None
    return (
        "InvalidParameterValue",
        f"Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name.",
    )


def volume_size_problem(
    size: Any, volume_type: str | None, *, code: str = "InvalidParameterValue"
) -> Problem | None:
    """A size (GiB) or volume type EBS refuses; ``volume_type`` None is gp2 (EC2's default).

    Args:
        size: The requested size (int or the query string's text); None is checked by the caller.
        volume_type: The volume type.
        code: The error code to answer (``InvalidBlockDeviceMapping`` for a launch mapping).
    """
    kind = volume_type or "gp2"
    if kind not in VOLUME_SIZES:
        return "InvalidParameterValue", f"Value ({kind}) for parameter volumeType is invalid."
    try:
        gib = int(size)
    except (TypeError, ValueError):
        return "InvalidParameterValue", f"Value ({size}) for parameter size is invalid."
    low, high = VOLUME_SIZES[kind]
    if gib < low:
        return code, f"Volume of {gib}GiB is too small for volume type {kind}; minimum is {low}GiB."
    if gib > high:
        return code, f"Volume of {gib}GiB is too large for volume type {kind}; maximum is {high}GiB."
    return None


def tag_problem(params: Mapping[str, Sequence[str]]) -> Problem | None:
    """Tags AWS refuses in a request (``Tag.N.*`` and ``TagSpecification.N.Tag.M.*``): reserved ``aws:``
    keys, keys over 128 and values over 256 characters."""
    if params.get("Action", [""])[0] == "DeleteTags":
        return None
    for name, values in params.items():
        match = _TAG_PARAM.match(name)
        if not match:
            continue
        for value in values:
            if match.group(1) == "Key":
                if value.lower().startswith("aws:"):
                    return (
                        "InvalidParameterValue",
                        f"Value ({value}) for parameter key is invalid."
                        " Tag keys starting with 'aws:' are reserved for internal use",
                    )
                if len(value) > TAG_KEY_LIMIT:
                    return "InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters"
            elif len(value) > TAG_VALUE_LIMIT:
                return "InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters"
    return None


def user_data_problem(params: Mapping[str, Sequence[str]]) -> Problem | None:
    """RunInstances user data over 16 KB (raw, before base64)."""
    if params.get("Action", [""])[0] != "RunInstances" or not params.get("UserData"):
        return None
    try:
        raw = base64.b64decode(params["UserData"][0], validate=False)
    except (binascii.Error, ValueError):
        return None  # moto answers InvalidUserData.Malformed
    return user_data_size_problem(raw)


def user_data_size_problem(raw: bytes) -> Problem | None:
    """User data over 16 KB (raw, before base64), at launch or in ModifyInstanceAttribute."""
    if len(raw) > USER_DATA_LIMIT:
        return "InvalidParameterValue", f"User data is limited to {USER_DATA_LIMIT} bytes"
    return None


def request_problem(params: Mapping[str, Sequence[str]]) -> Problem | None:
    """The first problem of a query-protocol request's parameters (tags, user data), if any."""
    return tag_problem(params) or user_data_problem(params)
