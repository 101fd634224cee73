"""substore.priority: bulk work at the lowest CPU priority, and nothing else lowered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from substore.priority import LOWEST, lower_backend, niceness

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling")

AUTOGROUP = Path("/proc/self/autogroup").exists()  # the kernel shares CPU between sessions

LOWER_ITSELF = """
import os
from substore.priority import lower_this_process, niceness
lower_this_process()
print(os.getsid(0) == os.getpid(), os.sched_getscheduler(0) == os.SCHED_IDLE, *niceness(os.getpid()))
"""


def test_a_lowered_process_leads_a_session_of_its_own_at_the_lowest_priority():
    before = niceness(os.getpid())
    lowered = subprocess.run(
        [sys.executable, "-c", LOWER_ITSELF], capture_output=True, text=True, check=True
    ).stdout.split()
    own_session, idle, nice, group = lowered
    assert (own_session, idle, nice) == ("True", "True", str(LOWEST))
    assert group == (str(LOWEST) if AUTOGROUP else "None")
    assert niceness(os.getpid()) == before  # its parent (a server) is not lowered


class _Driver:
    """What lower_backend reads of an asyncpg connection: the server's pid, the socket."""

    def __init__(self, sock: socket.socket, server_pid: int) -> None:
        self._transport = self
        self._sock, self._pid = sock, server_pid

    def get_server_pid(self) -> int:
        return self._pid

    def get_extra_info(self, name: str) -> socket.socket | None:
        return self._sock if name == "socket" else None


def test_a_pid_from_a_tcp_connection_is_never_lowered():
    # Over TCP the server may be another machine: its backend pid names nothing here,
    # or an unrelated process. A child of ours stands in for that process.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with socket.create_connection(listener.getsockname()) as sock:
            assert not lower_backend(_Driver(sock, bystander.pid))
        assert niceness(bystander.pid)[0] == niceness(os.getpid())[0]
    finally:
        listener.close()
        bystander.kill()
        bystander.wait()


def test_a_unix_peer_lowers_its_own_children_only():
    # The socket's peer is this process: a child of ours passes as its backend, a
    # grandchild (a child of a shell) does not.
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE, text=True
    )
    with shell.stdout:
        grandchild = int(shell.stdout.readline())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    left, right = socket.socketpair()
    before = niceness(os.getpid())
    try:
        assert not lower_backend(_Driver(left, grandchild))
        assert niceness(grandchild)[0] == niceness(os.getpid())[0]
        assert lower_backend(_Driver(left, child.pid))
        assert niceness(child.pid)[0] == LOWEST
        # The child shares this session: the session's autogroup (a terminal's, a
        # server's) is left as it was.
        assert niceness(os.getpid()) == before
    finally:
        left.close()
        right.close()
        for process in (shell, child):
            process.kill()
            process.wait()
        os.kill(grandchild, 9)
