"""One step of one endpoint: take its next batch (or the pending one), send it once,
record how it went. The dispatcher calls `step` again while it says there is more.

A batch is recorded (a delivery row) with the outcome of its first attempt; a failed one
is then sent again from that row, the same events under the same webhook-id. The cursor
moves past a batch only when a 2xx came back, in the transaction that records it: batches
go in sequence order, one at a time, and what a crash interrupts is sent again (at least
once; its webhook-id is derived from the batch, so the same unless new events joined it).
Reading is one transaction without writes, recording one with: one commit a batch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from substore.repository import events_after
from substore.repository import webhooks as repo
from substore.webhooks import payload, schedule, signing
from substore.webhooks.ssrf import RefusedTarget, resolve

log = logging.getLogger("substore.webhooks")
TIMEOUT_SECONDS = 10.0  # a 2xx must come back within this, or the attempt failed
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: a status code, or why there was none."""

    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else str(self.error)


@dataclass
class Sender:
    """What a step needs besides the database: the HTTP client, the SSRF rule, the
    clock the schedule runs on, and the randomness of its jitter."""

    client: httpx.AsyncClient
    allow_private: bool
    clock: Clock = utc_now
    rng: random.Random | None = None

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        try:
            target = await resolve(url, self.allow_private)  # again: DNS can change
        except RefusedTarget as error:
            return Outcome(error=f"refused: {error}")
        request = self.client.build_request(
            "POST",
            target.connect_url,
            content=body,
            headers={**headers, "content-type": "application/json", "host": _host(url)},
            # TLS checks the certificate against the name, though we connect to the address.
            extensions={"sni_hostname": target.host},
        )
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                response = await self.client.send(request, stream=True)
                await response.aclose()  # the status is all we need; never read a body
        except TimeoutError:
            return Outcome(error=f"no answer within {TIMEOUT_SECONDS:g} s")
        except httpx.HTTPError as error:
            return Outcome(error=f"{type(error).__name__}: {error}"[:500])
        return Outcome(status_code=response.status_code)


def _host(url: str) -> str:
    return httpx.URL(url).netloc.decode()


@dataclass(frozen=True, slots=True)
class Batch:
    """The events after an endpoint's cursor that one request carries (`id` None: not yet
    recorded, its first attempt to come)."""

    account_id: int
    endpoint_id: int
    message_id: str
    first_sequence: int
    last_sequence: int
    event_count: int
    created_at: datetime
    attempts: int = 0
    id: int | None = None

    @classmethod
    def of(cls, row: Any) -> Batch:
        return cls(**{name: getattr(row, name) for name in cls.__slots__})

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "id"}


def message_id(endpoint: Any, first: int, last: int) -> str:
    """A batch's webhook-id, derived from what it is rather than drawn at random, so that a
    batch sent but not recorded (the process died in between) goes again under the same
    id. The endpoint's updated_at is in it: after a redelivery the same events are a new
    message, which receivers that deduplicate must not drop."""
    name = f"{endpoint.account_id}:{endpoint.id}:{endpoint.updated_at.isoformat()}:{first}:{last}"
    return f"msg_{uuid.uuid5(uuid.NAMESPACE_URL, name).hex}"


async def step(engine: AsyncEngine, sender: Sender, account_id: int, endpoint_id: int) -> bool:
    """Send the endpoint's next batch once; whether to call again at once (it succeeded,
    or there were only events of other types to skip)."""
    async with engine.connect() as conn:  # reads only: nothing to commit
        endpoint = await repo.get_endpoint(conn, account_id, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return False
        pending = await repo.pending_delivery(conn, account_id, endpoint_id)
        if (
            pending is not None
            and pending.next_attempt_at
            and pending.next_attempt_at > sender.clock()
        ):
            return False
        after = pending.first_sequence - 1 if pending else endpoint.delivered_sequence
        rows = await events_after(conn, account_id, after, 100)
    # The connection is back in the pool before anything is sent.
    if pending is not None:
        last = pending.last_sequence
        wanted = [r for r in rows if r.sequence <= last and _takes(endpoint, r.type)]
        return await _attempt(engine, sender, endpoint, Batch.of(pending), wanted)
    if not rows:
        return False
    wanted = [r for r in rows if _takes(endpoint, r.type)]
    if not wanted:  # nothing this endpoint takes: move past them, send nothing
        async with engine.begin() as conn:
            start, last = endpoint.delivered_sequence, rows[-1].sequence
            return await repo.advance_cursor(conn, account_id, endpoint_id, start, last)
    first, last = endpoint.delivered_sequence + 1, rows[-1].sequence
    batch = Batch(
        account_id=account_id,
        endpoint_id=endpoint_id,
        message_id=message_id(endpoint, first, last),
        first_sequence=first,
        last_sequence=last,
        event_count=len(wanted),
        created_at=sender.clock(),
    )
    return await _attempt(engine, sender, endpoint, batch, wanted)


def _takes(endpoint: Any, event_type: str) -> bool:
    return endpoint.event_types is None or event_type in endpoint.event_types


async def _attempt(
    engine: AsyncEngine, sender: Sender, endpoint: Any, batch: Batch, rows: list[Any]
) -> bool:
    # The signature's time is the wall clock's (receivers refuse stale ones); the
    # schedule's is sender.clock, which tests move on.
    sent_at = utc_now()
    body = payload.body(rows, sent_at)
    outcome = await sender.send(
        endpoint.url, signing.headers(endpoint.secret, batch.message_id, body, sent_at), body
    )
    now = sender.clock()
    async with engine.begin() as conn:
        # The cursor still where this batch starts, and held there to the commit: a
        # redelivery meanwhile makes this attempt's outcome moot.
        start = batch.first_sequence - 1
        if not await repo.lock_cursor_at(conn, batch.account_id, batch.endpoint_id, start):
            return False
        values = _attempted(outcome, now)
        if outcome.succeeded:
            values |= {"status": "SUCCEEDED", "next_attempt_at": None, "delivered_at": now}
        elif now - batch.created_at >= schedule.GIVE_UP_AFTER:
            values |= {"status": "FAILED", "next_attempt_at": None}
            await _give_up(conn, endpoint, batch, outcome, now)
        else:
            delay = schedule.next_delay(batch.attempts + 1, sender.rng or random.Random())
            values["next_attempt_at"] = now + delay
        if batch.id is None:
            await repo.start_delivery(conn, {**batch.row(), **values, "attempts": 1})
        elif not await repo.record_attempt(conn, batch.account_id, batch.id, values):
            return False  # cancelled meanwhile
        if outcome.succeeded:
            await repo.advance_cursor(
                conn, batch.account_id, batch.endpoint_id, start, batch.last_sequence
            )
        return outcome.succeeded


def _attempted(outcome: Outcome, now: datetime) -> dict[str, Any]:
    return {
        "status": "PENDING",
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "last_attempt_at": now,
    }


async def _give_up(conn: Any, endpoint: Any, batch: Batch, outcome: Outcome, now: datetime) -> None:
    reason = (
        f"Disabled at {now:%Y-%m-%d %H:%M} UTC: events {batch.first_sequence}-"
        f"{batch.last_sequence} failed {batch.attempts + 1} times over "
        f"{schedule.GIVE_UP_AFTER.days} days (last: {outcome.describe()}). Fix the "
        "receiver, then updateWebhookEndpoint with enabled: true to resume from them."
    )
    change = {"enabled": False, "disabled_reason": reason}
    await repo.update_endpoint(conn, batch.account_id, batch.endpoint_id, change)
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
