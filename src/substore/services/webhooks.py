"""Use cases of webhook endpoints: create, list, change, delete, look at deliveries, and
send events again. The caller owns the transaction; expected problems come back as
`UserError` data (a URL the SSRF rule refuses is PARAMETER_INVALID on its field).

A URL is checked (`check_url`, a DNS lookup of up to 5 s) by the caller before any
database work, and handed in as a `CheckedUrl`: no statement, lock or transaction waits
on the lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from substore.errors import ErrorCode, UserError
from substore.repository import Record
from substore.repository import webhooks as repo
from substore.webhooks import signing
from substore.webhooks.ssrf import RefusedTarget, resolve

EVENT_TYPES = (
    "subscriber.created",
    "subscriber.updated",
    "subscriber.deleted",
    "subscriber.unsubscribed",
    "subscriber.resubscribed",
)
MAX_DELIVERY_PAGE = 100


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    """updateWebhookEndpoint's input: None keeps the stored value."""

    url: CheckedUrl | None = None
    enabled: bool | None = None
    event_types: Sequence[str] | None = None
    all_events: bool = False  # events: null given: every type again
    rotate_secret: bool = False


@dataclass(frozen=True, slots=True)
class EndpointResult:
    """The endpoint (None when refused), its secret when one was just made, the problems."""

    endpoint: Record | None = None
    secret: str | None = None
    user_errors: list[UserError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL the SSRF rule was applied to, and why it may not be saved (empty: it may)."""

    url: str
    problems: list[UserError]


async def check_url(url: str, allow_private: bool, *path: str) -> CheckedUrl:
    """Look the URL up and check it: call before any database work, never inside it (the
    lookup can take 5 s). Delivery checks again at each attempt."""
    try:
        await resolve(url, allow_private)
    except RefusedTarget as error:
        problem = UserError(ErrorCode.PARAMETER_INVALID, str(error), path, "URL_REFUSED")
        return CheckedUrl(url.strip(), [problem])
    return CheckedUrl(url.strip(), [])


def check_event_types(types: Sequence[str] | None, *path: str) -> list[UserError]:
    known = ", ".join(EVENT_TYPES)
    return [
        UserError(
            ErrorCode.PARAMETER_INVALID,
            f"{given!r} is not an event type: use some of {known} (or omit events for all).",
            (*path, str(i)),
        )
        for i, given in enumerate(types or ())
        if given not in EVENT_TYPES
    ]


def _types(types: Sequence[str] | None) -> list[str] | None:
    return sorted(set(types)) if types is not None else None


async def create_endpoint(
    conn: AsyncConnection,
    account: Any,
    url: CheckedUrl,
    event_types: Sequence[str] | None,
) -> EndpointResult:
    problems = check_event_types(event_types, "input", "events") + url.problems
    if problems:
        return EndpointResult(user_errors=problems)
    secret = signing.new_secret()
    row = await repo.create_endpoint(conn, account.id, url.url, _types(event_types), secret)
    return EndpointResult(endpoint=row, secret=secret)


async def list_endpoints(conn: AsyncConnection, account: Any) -> list[Record]:
    return await repo.list_endpoints(conn, account.id)


def not_found(label: str, *path: str) -> UserError:
    return UserError(
        ErrorCode.RECORD_NOT_FOUND, f"No webhook endpoint has the id {label}.", path or ("id",)
    )


async def update_endpoint(
    conn: AsyncConnection,
    account: Any,
    endpoint_id: int | None,
    label: str,
    changes: EndpointChanges,
) -> EndpointResult:
    problems = check_event_types(changes.event_types, "input", "events")
    if changes.url is not None:
        problems += changes.url.problems
    if problems:
        return EndpointResult(user_errors=problems)
    values: dict[str, Any] = {}
    if changes.url is not None:
        values["url"] = changes.url.url
    if changes.event_types is not None or changes.all_events:
        values["event_types"] = _types(changes.event_types)
    if changes.enabled is not None:
        # Enabling clears why it was disabled.
        values |= {"enabled": changes.enabled, "disabled_reason": None}
    secret = signing.new_secret() if changes.rotate_secret else None
    if secret is not None:
        values["secret"] = secret
    row = endpoint_id and await repo.update_endpoint(conn, account.id, endpoint_id, values)
    if not row:
        return EndpointResult(user_errors=[not_found(label)])
    if changes.enabled:  # whoever enables it has fixed something: try now, not at the next retry
        await repo.retry_pending_now(conn, account.id, row.id)
    return EndpointResult(endpoint=row, secret=secret)


async def delete_endpoint(
    conn: AsyncConnection, account: Any, endpoint_id: int | None, label: str
) -> list[UserError]:
    if endpoint_id and await repo.delete_endpoint(conn, account.id, endpoint_id):
        return []
    return [not_found(label)]


async def page_deliveries(
    conn: AsyncConnection, account: Any, endpoint_id: int, before_id: int | None, first: int
) -> tuple[list[Record], bool] | None:
    """Deliveries newest first and whether more follow; None for an unknown endpoint."""
    if await repo.get_endpoint(conn, account.id, endpoint_id) is None:
        return None
    rows = await repo.page_deliveries(conn, account.id, endpoint_id, before_id, first + 1)
    return rows[:first], len(rows) > first


async def redeliver(
    conn: AsyncConnection, account: Any, endpoint_id: int | None, label: str, from_sequence: int
) -> EndpointResult:
    """Send the account's events again from `from_sequence` on (to the newest), in order;
    a batch still being retried is dropped in favour of them."""
    endpoint = endpoint_id and await repo.get_endpoint(conn, account.id, endpoint_id)
    if not endpoint:
        return EndpointResult(user_errors=[not_found(label, "endpointId")])
    oldest, newest = await repo.kept_sequences(conn, account.id)
    if oldest is None or newest is None or not oldest <= from_sequence <= newest:
        kept = f"events {oldest} to {newest} are kept" if oldest else "no events are kept"
        message = f"fromSequence must be an event still kept: {kept}."
        problem = UserError(ErrorCode.PARAMETER_INVALID, message, ("fromSequence",))
        return EndpointResult(user_errors=[problem])
    await repo.cancel_pending(conn, account.id, endpoint.id)
    row = await repo.update_endpoint(
        conn, account.id, endpoint.id, {"delivered_sequence": from_sequence - 1}
    )
    return EndpointResult(endpoint=row)
