"""Pure parsers for rsync's ``--info=progress2`` lines and ``--stats`` summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ProgressParser",
    "RsyncProgress",
    "RsyncStats",
    "parse_progress_line",
    "parse_rate",
    "parse_stats",
]


@dataclass(frozen=True)
class RsyncProgress:
    """One ``--info=progress2`` update for the whole transfer.

    Attributes:
        bytes_done: Bytes of file data done so far (including data matched, not sent).
        percent: rsync's percentage of the total (of the files it knows about so far).
        total: Estimated total bytes (``bytes_done * 100 / percent``), None at 0 %.
        rate: Bytes per second.
        eta: Seconds left as rsync estimates them (elapsed time on the final line).
        files_transferred: The ``xfr#`` counter, when shown.
        to_check: Files left to check (``to-chk=N/M``: N), when shown.
        files_total: Files known so far (``to-chk=N/M``: M), when shown.
    """

    bytes_done: int
    percent: int
    total: int | None
    rate: float
    eta: float
    files_transferred: int | None = None
    to_check: int | None = None
    files_total: int | None = None


_UNITS = {"": 1, "k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_PROGRESS_RE = re.compile(
    r"^\s*(?P<bytes>[\d,.]+)\s+(?P<pct>\d+)%\s+(?P<rate>[\d.,]+)(?P<unit>[kKMGT]?)B/s\s+"
    r"(?P<eta>\d+:\d\d:\d\d)(?:\s+\(xfr#(?P<xfr>\d+),\s+(?:ir|to)-chk=(?P<chk>\d+)/(?P<tot>\d+)\))?\s*$"
)


def _int(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


def parse_rate(value: str, unit: str = "") -> float:
    """``"11.50", "M"`` → bytes per second (rsync's units are powers of 1024)."""
    return float(value.replace(",", "")) * _UNITS[unit]


def parse_progress_line(line: str) -> RsyncProgress | None:
    """Parse one progress2 line; None for anything else."""
    m = _PROGRESS_RE.match(line)
    if not m:
        return None
    done, pct = _int(m["bytes"]), int(m["pct"])
    h, mi, s = (int(x) for x in m["eta"].split(":"))
    return RsyncProgress(
        bytes_done=done,
        percent=pct,
        total=done * 100 // pct if pct else None,
        rate=parse_rate(m["rate"], m["unit"]),
        eta=float(h * 3600 + mi * 60 + s),
        files_transferred=int(m["xfr"]) if m["xfr"] else None,
        to_check=int(m["chk"]) if m["chk"] else None,
        files_total=int(m["tot"]) if m["tot"] else None,
    )


class ProgressParser:
    """Feed raw rsync stdout chunks; calls ``callback`` per progress update and keeps the other lines.

    rsync ends progress updates with ``\\r`` and ordinary lines with ``\\n``; chunks may split lines anywhere.
    """

    def __init__(self, callback: Callable[[RsyncProgress], None] | None = None) -> None:
        self.callback = callback
        self.last: RsyncProgress | None = None
        self.lines: list[str] = []
        self._buf = ""

    def feed(self, chunk: bytes) -> None:
        """Consume a chunk of stdout."""
        self._buf += chunk.decode("utf-8", "surrogateescape")
        *complete, self._buf = re.split(r"[\r\n]", self._buf)
        for line in complete:
            self._line(line)

    def close(self) -> None:
        """Flush a final unterminated line."""
        if self._buf:
            self._line(self._buf)
            self._buf = ""

    def _line(self, line: str) -> None:
        progress = parse_progress_line(line)
        if progress is None:
            if line.strip():
                self.lines.append(line)
            return
        self.last = progress
        if self.callback is not None:
            self.callback(progress)


@dataclass(frozen=True)
class RsyncStats:
    """The ``--stats`` summary of one rsync run (bytes are file-data or wire bytes as labelled)."""

    files: int = 0
    files_created: int = 0
    files_deleted: int = 0
    files_transferred: int = 0
    total_size: int = 0
    transferred_size: int = 0
    literal_data: int = 0
    matched_data: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    speedup: float = 0.0


_STATS_FIELDS = {
    "Number of files": "files",
    "Number of created files": "files_created",
    "Number of deleted files": "files_deleted",
    "Number of regular files transferred": "files_transferred",
    "Total file size": "total_size",
    "Total transferred file size": "transferred_size",
    "Literal data": "literal_data",
    "Matched data": "matched_data",
    "Total bytes sent": "bytes_sent",
    "Total bytes received": "bytes_received",
}


def parse_stats(text: str) -> RsyncStats:
    """Parse rsync's ``--stats`` output (unknown lines are ignored; missing fields stay 0)."""
    values: dict[str, int | float] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        field = _STATS_FIELDS.get(key.strip())
        if sep and field:
            m = re.match(r"\s*([\d,]+)", rest)
            if m:
                values[field] = _int(m.group(1))
        m = re.search(r"speedup is ([\d,.]+)", line)
        if m:
            values["speedup"] = float(m.group(1).replace(",", ""))
    return RsyncStats(**values)  # type: ignore[arg-type]
