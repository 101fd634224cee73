"""The interactive delay of all of a server's processes, for the batches of any of them.

An import's batches and a frontend's lookups may reach different serving processes: the
lookups' process sees their waits, the batches' process tells the import, and neither
knew of the other. Each process keeps a file of its own beside the others' (the directory
where the workers' metrics meet): its delay and when it said so, and until when an import
batch it answered keeps it importing. A batch's answer tells the worst recent delay of
them all; a process whose interactive requests come while any of them imports measures
its event loop's lateness (web/loop_lag.py). time.perf_counter is the system's monotonic
clock on Linux, the same in every process.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

PREFIX = "interactive-"
_RECORD = struct.Struct("ddd")  # delay (s), when it was said, importing until
FRESH_SECONDS = 2.0  # an older delay is no longer "lately" (a window and the one before)
IMPORT_SECONDS = 3.0  # a batch's process counts as importing this long after answering
CHECK_SECONDS = 0.1  # how often a process looks whether any other imports


class SharedDelay:
    """One process's file among its siblings'; without a directory, this process alone."""

    def __init__(self, directory: Path | None, name: str | None = None) -> None:
        self.directory = directory
        self.name = PREFIX + (name or str(os.getpid()))
        self._fd: int | None = None
        self._delay = self._said = self._importing = 0.0
        self._checked = float("-inf")
        self._anyone_importing = False

    def publish(self, delay: float, now: float) -> None:
        """This process's delay now (asked on every interactive request: written when it
        changed, or to stay fresh)."""
        if delay == self._delay and now - self._said < FRESH_SECONDS / 4:
            return
        self._delay, self._said = delay, now
        self._write()

    def importing(self, now: float) -> None:
        self._importing = now + IMPORT_SECONDS
        self._write()

    def worst(self, now: float) -> float:
        """The worst delay any process said within FRESH_SECONDS (this one's included)."""
        worst = self._delay if now - self._said < FRESH_SECONDS else 0.0
        for delay, said, _ in self._others():
            if now - said < FRESH_SECONDS:
                worst = max(worst, delay)
        return worst

    def anyone_importing(self, now: float) -> bool:
        """Whether this or another process answered an import batch lately (looked up at
        most every CHECK_SECONDS: it is asked on every interactive request)."""
        if self._importing > now:
            return True
        if now - self._checked >= CHECK_SECONDS:
            self._checked = now
            self._anyone_importing = any(until > now for _, _, until in self._others())
        return self._anyone_importing

    def _write(self) -> None:
        if self.directory is None:
            return
        if self._fd is None:
            path = self.directory / self.name
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self._fd, _RECORD.pack(self._delay, self._said, self._importing), 0)

    def _others(self) -> list[tuple[float, float, float]]:
        if self.directory is None:
            return []
        found = []
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return []
        for entry in entries:
            if entry.name.startswith(PREFIX) and entry.name != self.name:
                try:
                    with open(entry.path, "rb") as handle:
                        data = handle.read(_RECORD.size)
                except OSError:
                    continue  # its process ended meanwhile
                if len(data) == _RECORD.size:
                    found.append(_RECORD.unpack(data))
        return found


def from_environment() -> SharedDelay:
    """The serving processes' shared directory (web/server.py sets it), if any."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return SharedDelay(Path(directory) if directory else None)
