"""What the server tells its operators: Prometheus metrics and one log line per request.

Metrics (prometheus-client): requests by operation type and status, their latency,
imported rows by status, database connections in use, and subscribers keyed by another
phonenumbers version (substore_stale_keys). Every label value comes from
a closed set (query, mutation, subscription, or "-" before an operation is known; HTTP
statuses): nothing a client names becomes a label, so no client can grow /metrics. With several server processes, set
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and /metrics adds up
every process's figures.

Logs: expected refusals (401, 403, 429, a query's RECORD_NOT_FOUND...) are one line
with their code and request id; only a real 500 carries a traceback (execution.py).
`substore serve` writes an access line per GraphQL request on stdout: request id, actor
(a key's prefix, or a JWT's sub) and how it authenticated, account, operation name (of authenticated requests only, cut to
MAX_LOGGED_NAME characters), status, duration; as JSON with SUBSTORE_LOG_FORMAT=json.
A client that hangs up before its body is in is logged and counted as 499, nginx's
"client closed request", not as an error of ours.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from substore.metrics import LATENCY, POOL_IN_USE, REQUESTS, STALE_KEYS
from substore.services import rekey

log = logging.getLogger("substore.web")

CLIENT_CLOSED_REQUEST = 499
MAX_LOGGED_NAME = 64
STALE_KEYS_EVERY = 300.0  # seconds; `substore rekey --apply` runs while the server serves


def loggable(name: str) -> str:
    """A client-chosen name as a log field: bounded, whatever the client sent."""
    return name if len(name) <= MAX_LOGGED_NAME else name[: MAX_LOGGED_NAME - 1] + "…"


def metrics(request: Request) -> Response:
    pool = getattr(request.app.state.engine, "pool", None)
    if pool is not None and hasattr(pool, "checkedout"):
        POOL_IN_USE.set(pool.checkedout())
    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    body = generate_latest(registry) if registry else generate_latest()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def count_stale_keys(engine: AsyncEngine, every: float = STALE_KEYS_EVERY) -> None:
    """Keep substore_stale_keys current: counted at start, then every `every` seconds."""
    while True:
        try:
            async with engine.connect() as conn:
                STALE_KEYS.set(sum((await rekey.stale_counts(conn)).values()))
        except (SQLAlchemyError, OSError, ConnectionError) as error:
            # The database is down: the outage watch says so; count again next time.
            log.debug("could not count stale keys: %s", error)
        await asyncio.sleep(every)


# The metrics' children by (operation type, status): both closed sets.
_COUNTED: dict[tuple[str, int], tuple[Any, Any]] = {}


def observe(
    request_id: str, fields: dict[str, Any], status: int, started: float, client: str
) -> None:
    """Count one request, and log it: one line, as JSON when asked for."""
    kind = fields.get("kind") or "-"
    seconds = time.perf_counter() - started
    counted = _COUNTED.get((kind, status))
    if counted is None:  # labels() takes a lock and builds a key: once per pair
        counted = _COUNTED[kind, status] = (
            REQUESTS.labels(kind, str(status)),
            LATENCY.labels(kind),
        )
    counted[0].inc()
    counted[1].observe(seconds)
    if code := fields.get("code"):
        log.info("request %s: %s %s", request_id, status, code)
    if ACCESS.format is not None:
        ACCESS.write(request_id, fields, status, seconds, client)


class AccessLog:
    """One line per GraphQL request on stdout, as text or JSON (SUBSTORE_LOG_FORMAT).

    Written without the logging module, and once per turn of the event loop rather than
    once per line: a LogRecord, its handler's lock and a write per request were 15% of a
    lookup's CPU (uvicorn's access line). Lines keep their order; a burst of requests
    answered in one turn is one write.
    """

    def __init__(self) -> None:
        self.format: str | None = None  # None: no access log (an app not served by serve)
        self._lines: list[str] = []

    def write(
        self, request_id: str, fields: dict[str, Any], status: int, seconds: float, client: str
    ) -> None:
        ms = round(seconds * 1000, 1)
        if self.format == "json":
            line = json.dumps({"requestId": request_id, **fields, "status": status, "ms": ms})
        else:
            code = f" {fields['code']}" if "code" in fields else ""
            who = ""
            if "account" in fields:
                who = f" account={fields['account']} key={fields['key']} auth={fields['auth']}"
            line = (
                f"INFO:     {client} - {fields.get('operation') or '-'} {status}{code} {ms} ms "
                f"request={request_id}{who}"
            )
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(line + "\n")

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        sys.stdout.write("".join(lines))
        sys.stdout.flush()


ACCESS = AccessLog()


def use_access_log(log_format: str) -> None:
    """Write an access line per request (in `substore serve`'s processes)."""
    ACCESS.format = log_format
