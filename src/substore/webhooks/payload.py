"""A batch of events as the body receivers get:
`{"type": "subscriber.changes", "timestamp", "data": {"events": [...]}}`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

BATCH_SIZE = 100  # events a request at most
TYPE = "subscriber.changes"


def subscriber_id(pk: int) -> str:
    """The subscriber's GraphQL global id. graphql/types.py's encode_id makes the same
    (a test checks): webhooks sit below graphql and do not import it."""
    return base64.urlsafe_b64encode(f"Subscriber:{pk}".encode()).decode()


def event(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "sequence": row.sequence,
        "type": row.type,
        "occurredAt": row.occurred_at,
        "source": row.source,
        "actor": row.actor,
        "subscriber": {
            "id": subscriber_id(row.subscriber_id),
            "e164Number": row.e164_number,
            "status": row.status,
            "changes": row.changes,
        },
    }


def body(rows: Sequence[Any], at: datetime) -> bytes:
    """The request body for `rows` (in sequence order), sent at `at`."""
    document = {"type": TYPE, "timestamp": at, "data": {"events": [event(r) for r in rows]}}
    return orjson.dumps(document, option=orjson.OPT_UTC_Z)
