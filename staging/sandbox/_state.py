"""The sandbox's state file: every resource is written here *before* it is created.

``down --force`` reads only this file, so a crashed daemon leaves nothing that cannot be found again. The file
is JSON, replaced atomically (write a temporary file, then rename) so a reader never sees half of it.

Layout (``state.json``)::

    {"version": 1, "token": "ab12", "state_dir": "...", "status": "starting|running|failed",
     "daemon_pid": 123, "endpoint": "http://127.0.0.1:PORT", "regions": [...], "login_user": "admin",
     "network": {"cidr": "100.64.0.0/24", "bridge": "vsbab12", "gateway": "100.64.0.1"},
     "shared": ["admin", "ubuntu"],            # machine-wide things we hold a reference on (login users)
     "hosts": {"i-...": {"netns": "...", "veth": "...", "address": "..."}},
     "loops": {"vol-...": {"file": "...", "device": "/dev/loop3"}},
     "images": {"us-east-1": {"debian-12-amd64-sandbox": "ami-..."}},
     "login_users": {"debian-12-amd64-sandbox": "admin", "ubuntu/images/...": "ubuntu"},
     "error": "..."}
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
#: The daemon's stdout/stderr, written by the starter before the daemon has written any state.
DAEMON_LOG = "daemon.log"
STATE_VERSION = 1


def state_path(state_dir: Path) -> Path:
    """Where the state file of the sandbox in ``state_dir`` lives."""
    return Path(state_dir) / STATE_FILE


def read_state(state_dir: Path) -> dict[str, Any]:
    """The state recorded in ``state_dir`` ({} if there is none or it cannot be parsed)."""
    try:
        data = json.loads(state_path(state_dir).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class StateFile:
    """The daemon's writer for ``state.json``: a dict guarded by a lock and flushed on every change."""

    def __init__(self, state_dir: Path, initial: dict[str, Any]) -> None:
        self.path = state_path(state_dir)
        self._lock = threading.RLock()
        self.data: dict[str, Any] = {"version": STATE_VERSION, "hosts": {}, "loops": {}, **initial}
        self.flush()

    def flush(self) -> None:
        """Write the current state atomically."""
        with self._lock:
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)

    def update(self, **fields: Any) -> None:
        """Set top-level fields and flush."""
        with self._lock:
            self.data.update(fields)
            self.flush()

    def put(self, section: str, key: str, value: dict[str, Any]) -> None:
        """Record ``value`` under ``section[key]`` (e.g. a host before its namespace exists) and flush."""
        with self._lock:
            self.data.setdefault(section, {})[key] = value
            self.flush()

    def forget(self, section: str, key: str) -> None:
        """Drop ``section[key]`` once the resource is gone, and flush."""
        with self._lock:
            self.data.setdefault(section, {}).pop(key, None)
            self.flush()
