"""A local record of what each run created, written before the resource is used.

Tags find leftovers in the cloud; the journal finds them *fast* and tells a crashed run from a live one: each
run keeps ``<dotdir>/runs/<run id>.json`` with its pid, host, endpoint and every resource id, rewritten
atomically after each creation and deleted when the run has cleaned up. ``gc`` treats a journal whose process
is gone (same host) as a crashed run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Journal", "JournalEntry", "read_journals"]


@dataclass(frozen=True)
class JournalEntry:
    """One resource a run created: ``kind`` (instance, volume, snapshot, security-group, key-pair),
    id and region."""

    kind: str
    id: str
    region: str


@dataclass
class Journal:
    """The journal of one run (see the module docstring). Thread-safe; every change is on disk at once."""

    path: Path
    run_id: str
    endpoint: str
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    started: float = field(default_factory=time.time)
    entries: list[JournalEntry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def open(cls, dotdir: Path, run_id: str, endpoint: str) -> Journal:
        """A new, empty journal for ``run_id`` under ``dotdir/runs`` (written at once)."""
        runs = dotdir / "runs"
        runs.mkdir(parents=True, exist_ok=True, mode=0o700)
        journal = cls(path=runs / f"{run_id}.json", run_id=run_id, endpoint=endpoint)
        journal._write()
        return journal

    def add(self, kind: str, resource_id: str, region: str) -> None:
        """Record a resource this run created."""
        with self._lock:
            self.entries.append(JournalEntry(kind, resource_id, region))
            self._write()

    def remove(self, resource_id: str) -> None:
        """Forget a resource that is gone (or handed over to the caller)."""
        with self._lock:
            self.entries = [e for e in self.entries if e.id != resource_id]
            self._write()

    def close(self) -> None:
        """Delete the journal: the run is over and nothing it recorded is left."""
        with self._lock, contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _write(self) -> None:
        data = {
            "run_id": self.run_id,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "host": self.host,
            "started": self.started,
            "entries": [asdict(e) for e in self.entries],
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".journal-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_journals(dotdir: Path) -> list[dict[str, Any]]:
    """Every journal under ``dotdir/runs``, each with ``alive``: its process still runs on this host."""
    out: list[dict[str, Any]] = []
    for path in sorted((dotdir / "runs").glob("run-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        same_host = data.get("host") == socket.gethostname()
        pid = data.get("pid")
        data["alive"] = bool(same_host and isinstance(pid, int) and _alive(pid))
        data["path"] = str(path)
        out.append(data)
    return out
