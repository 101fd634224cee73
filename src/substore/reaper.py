"""The process that cleans up after `substore serve`, however serve ends.

A kill -9 runs none of serve's own clean-up: its embedded PostgreSQL kept running and its
workers' metrics directory stayed. So serve tells a small process of its own, on a pipe,
what it makes; when serve ends, by a signal or not, the pipe reads end of file and that
process removes the directories and lets go of serve's hold on the database (stopping it
unless another live substore process holds it). After a graceful exit serve has done both
itself, and the reaper finds nothing left to do.

The reaper runs in a session of its own, so that Ctrl-C in a terminal, or a signal to
serve's process group, reaches serve and passes it by.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from substore import embedded

_DATABASE, _DIRECTORY = "database", "directory"


class Reaper:
    """serve's end of the pipe; the reaper process starts when first told something."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def look_after_database(self, pgdata: Path) -> None:
        """Let go of this process's hold on the embedded server in `pgdata` when it ends."""
        self._tell(_DATABASE, pgdata)

    def look_after_directory(self, path: Path) -> None:
        """Remove `path` when this process ends."""
        self._tell(_DIRECTORY, path)

    def _tell(self, kind: str, path: Path) -> None:
        if self._process is None:
            self._process = _spawn()
        assert self._process.stdin is not None
        self._process.stdin.write(f"{kind} {path}\n")
        self._process.stdin.flush()


def _spawn() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", __name__, str(os.getpid())],
        stdin=subprocess.PIPE,  # its only copy of the write end is this process's
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


def reap(serve_pid: int, told: Iterable[str]) -> None:
    """Read what serve makes until it ends (end of file), then clean up after it."""
    databases: list[Path] = []
    directories: list[Path] = []
    for line in told:
        kind, _, path = line.rstrip("\n").partition(" ")
        (databases if kind == _DATABASE else directories).append(Path(path))
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)
    for pgdata in databases:
        embedded.let_go(pgdata, serve_pid)


if __name__ == "__main__":
    reap(int(sys.argv[1]), sys.stdin)
