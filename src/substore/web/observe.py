"""What the server tells its operators: Prometheus metrics and one log line per request.

Metrics (prometheus-client): requests by operation and status, their latency, imported
rows by status, and database connections in use. With several server processes, set
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and /metrics adds up
every process's figures.

Logs: expected refusals (401, 403, 429, a query's RECORD_NOT_FOUND...) are one line
with their code and request id; only a real 500 carries a traceback (execution.py).
With SUBSTORE_LOG_FORMAT=json every request is one JSON line on the "substore.access"
logger: request id, key prefix, account, operation name, status, duration.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response

from substore.metrics import LATENCY, POOL_IN_USE, REQUESTS

log = logging.getLogger("substore.web")
access = logging.getLogger("substore.access")


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


def observe(request_id: str, fields: dict[str, Any], status: int, started: float) -> None:
    """Count one request, and log it: one line, as JSON when asked for."""
    operation = fields.get("operation") or "-"
    seconds = time.perf_counter() - started
    REQUESTS.labels(operation, str(status)).inc()
    LATENCY.labels(operation).observe(seconds)
    if code := fields.get("code"):
        log.info("request %s: %s %s", request_id, status, code)
    if access.handlers:
        line = {"requestId": request_id, **fields, "status": status}
        access.info(json.dumps({**line, "ms": round(seconds * 1000, 1)}))


class TurnFlushHandler(logging.StreamHandler):
    """A StreamHandler that flushes once per turn of the event loop instead of once per
    line: the access log's flush (a write to the pipe or file) per request was ~3% of a
    lookup's CPU. Lines reach the stream in order, at the latest when the loop turns; on
    a terminal (line-buffered) every line is written at once, as before."""

    _pending = False

    def flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # start-up, shutdown: no loop to wait for
            super().flush()
            return
        if not self._pending:
            self._pending = True
            loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._pending = False
        super().flush()


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging, with its access lines through a TurnFlushHandler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["class"] = f"{__name__}.TurnFlushHandler"
    return config


def use_json_access_log() -> None:
    """One JSON line per request on stdout (SUBSTORE_LOG_FORMAT=json)."""
    handler = TurnFlushHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
