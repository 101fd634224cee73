"""Bulk work at the lowest CPU priority, so that requests go first on a busy machine.

An import keeps both cores of a small machine busy: normalising in the server's pool
processes, upserting in PostgreSQL. Linux shares the CPU between sessions before it
looks at the processes in them (autogroup scheduling), and PostgreSQL starts every
backend in a session of its own. So `SCHED_IDLE` or `nice` on a normaliser only ranked
it among the server's own processes, and a backend upserting an import had the same
share as the whole server answering lookups: a lookup's p99 during a 100k import was
3-5x its idle p99. Bulk processes now get a session of their own at the lowest
autogroup priority (and SCHED_IDLE within it); the backends of the connections an
import uses, the lowest nice and autogroup priority, where the database server runs on
this machine under this user (the embedded PostgreSQL; elsewhere nothing changes).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from pathlib import Path
from typing import Any

LOWEST = 19  # nice, and autogroup nice
_PROC = Path("/proc")


def lower_this_process() -> None:
    """Run this process (a normaliser) only when requests leave the CPU to it."""
    if hasattr(os, "setsid"):
        with contextlib.suppress(OSError):  # already a session leader
            os.setsid()
    _lower(os.getpid())
    if hasattr(os, "SCHED_IDLE"):  # Linux; elsewhere nice alone
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def lower_backend(driver_connection: Any) -> bool:
    """Lower the PostgreSQL backend behind an asyncpg connection, if it is a process of
    this machine we may lower. Whether it was lowered.

    The backend's pid is PostgreSQL's word; it names a process here only when the
    connection is a Unix socket, whose peer (the postmaster, by SO_PEERCRED) is the
    backend's parent. Anything else is left alone: a pid from a server on another
    machine could name an unrelated process here.
    """
    backend = driver_connection.get_server_pid()
    postmaster = _peer_pid(driver_connection)
    if postmaster is None or _parent(backend) != postmaster:
        return False
    return _lower(backend)


def niceness(pid: int) -> tuple[int, int | None]:
    """A process's nice and its autogroup's nice (None without autogroup scheduling)."""
    fields = (_PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    try:
        group = (_PROC / str(pid) / "autogroup").read_text().split()
    except OSError:
        return int(fields[16]), None
    return int(fields[16]), int(group[-1])


def _lower(pid: int) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, LOWEST)
    except OSError:  # not ours to lower
        return False
    # Only where the process leads its own session (a backend, a normaliser after
    # setsid): the autogroup is the whole session's, a terminal's included.
    with contextlib.suppress(OSError):
        if os.getsid(pid) == pid:
            (_PROC / str(pid) / "autogroup").write_text(str(LOWEST))
    return True


def _peer_pid(driver_connection: Any) -> int | None:
    transport = getattr(driver_connection, "_transport", None)  # asyncpg's, not public
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family != getattr(socket, "AF_UNIX", None):
        return None
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[0]


def _parent(pid: int) -> int | None:
    try:
        return int((_PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
