"""One step of one endpoint: take its next batch (or the pending one), send it once,
record how it went. The dispatcher calls `step` again while it says there is more.

A batch is a delivery row written before the first attempt, so that every attempt sends
the same events under the same webhook-id, also after a restart. The cursor moves past a
batch only when a 2xx came back, in the transaction that records it: batches go in
sequence order, one at a time, and what a crash interrupts is sent again (at least once;
receivers deduplicate by webhook-id).
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


async def step(engine: AsyncEngine, sender: Sender, account_id: int, endpoint_id: int) -> bool:
    """Send the endpoint's next batch once; whether to call again at once (it succeeded,
    or there were only events of other types to skip)."""
    async with engine.begin() as conn:
        endpoint = await repo.get_endpoint(conn, account_id, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return False
        batch = await repo.pending_delivery(conn, account_id, endpoint_id)
        if batch is not None and batch.next_attempt_at and batch.next_attempt_at > sender.clock():
            return False
        if batch is None:
            rows = await events_after(conn, account_id, endpoint.delivered_sequence, 100)
            if not rows:
                return False
            wanted = [r for r in rows if _takes(endpoint, r.type)]
            if not wanted:  # nothing this endpoint takes: move past them, send nothing
                last = rows[-1].sequence
                await repo.advance_cursor(
                    conn, account_id, endpoint_id, endpoint.delivered_sequence, last
                )
                return True
            batch = await repo.start_delivery(conn, _new_batch(endpoint, rows, wanted, sender))
        else:
            rows = await events_after(conn, account_id, batch.first_sequence - 1, 100)
            wanted = [
                r for r in rows if r.sequence <= batch.last_sequence and _takes(endpoint, r.type)
            ]
    return await _attempt(engine, sender, endpoint, batch, wanted)


def _takes(endpoint: Any, event_type: str) -> bool:
    return endpoint.event_types is None or event_type in endpoint.event_types


def _new_batch(endpoint: Any, rows: list[Any], wanted: list[Any], sender: Sender) -> dict[str, Any]:
    return {
        "account_id": endpoint.account_id,
        "endpoint_id": endpoint.id,
        "message_id": f"msg_{uuid.uuid4().hex}",
        "first_sequence": endpoint.delivered_sequence + 1,
        "last_sequence": rows[-1].sequence,
        "event_count": len(wanted),
        "created_at": sender.clock(),
    }


async def _attempt(
    engine: AsyncEngine, sender: Sender, endpoint: Any, batch: Any, rows: list[Any]
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
        if outcome.succeeded:
            return await _succeeded(conn, endpoint, batch, outcome, now)
        await _failed(conn, sender, endpoint, batch, outcome, now)
        return False


async def _succeeded(conn: Any, endpoint: Any, batch: Any, outcome: Outcome, now: datetime) -> bool:
    values = {
        "status": "SUCCEEDED",
        "last_status_code": outcome.status_code,
        "last_error": None,
        "last_attempt_at": now,
        "next_attempt_at": None,
        "delivered_at": now,
    }
    if not await repo.record_attempt(conn, batch, values):
        return False  # cancelled meanwhile (a redelivery): its cursor is not ours to move
    start = batch.first_sequence - 1
    return await repo.advance_cursor(
        conn, batch.account_id, batch.endpoint_id, start, batch.last_sequence
    )


async def _failed(
    conn: Any, sender: Sender, endpoint: Any, batch: Any, outcome: Outcome, now: datetime
) -> None:
    failures = batch.attempts + 1
    values: dict[str, Any] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "last_attempt_at": now,
    }
    if now - batch.created_at >= schedule.GIVE_UP_AFTER:
        await repo.record_attempt(
            conn, batch, {**values, "status": "FAILED", "next_attempt_at": None}
        )
        reason = (
            f"Disabled at {now:%Y-%m-%d %H:%M} UTC: events {batch.first_sequence}-"
            f"{batch.last_sequence} failed {failures} times over "
            f"{schedule.GIVE_UP_AFTER.days} days (last: {outcome.describe()}). Fix the "
            "receiver, then updateWebhookEndpoint with enabled: true to resume from them."
        )
        change = {"enabled": False, "disabled_reason": reason}
        await repo.update_endpoint(conn, batch.account_id, batch.endpoint_id, change)
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        return
    delay = schedule.next_delay(failures, sender.rng or random.Random())
    await repo.record_attempt(conn, batch, {**values, "next_attempt_at": now + delay})
