"""The Prometheus metrics, defined once (prometheus-client). Imports nothing of the package.

web/observe.py serves and feeds the request metrics; graphql/imports.py counts rows.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "substore_requests_total",
    "GraphQL requests by operation type and status",
    ["operation", "status"],
)
LATENCY = Histogram(
    "substore_request_seconds",
    "Time to answer a GraphQL request",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IMPORT_ROWS = Counter("substore_import_rows_total", "Imported rows by result status", ["status"])
POOL_IN_USE = Gauge(
    "substore_db_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)
STALE_KEYS = Gauge(
    "substore_stale_keys",
    "Subscribers keyed by another phonenumbers version than the installed one "
    "(substore rekey --check reports them, --apply re-keys them)",
    multiprocess_mode="livemax",
)
