"""The dispatcher against a real receiver on 127.0.0.1 that verifies every signature with
the standardwebhooks library. Each test has a database of its own: a dispatcher delivers
for every account of its database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from tests.support import new_database, serve_in_thread, statement_plans
from tests.webhooks import FakeClock, Receiver, Store, add_endpoint, own_store, poll, wait_for

from substore import db
from substore.models.webhooks import PENDING_INDEX
from substore.repository import webhooks as repo
from substore.webhooks.dispatcher import Dispatcher

CREATE = "mutation($n: PhoneNumber!) { createSubscriber(input: {number: $n}) { created } }"
STOP = """mutation($n: PhoneNumber!) {
  recordInboundMessage(input: {from: $n, text: "STOP"}) { action } }"""
IMPORT = (
    """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) { createdCount } }"""
)
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) {
  edges { node { webhookId status attempts lastStatusCode lastError nextAttemptAt } } } }"""
ENDPOINT = "{ webhookEndpoints { enabled disabledReason deliveredSequence } }"
ENABLE = """mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: true}) {
  userErrors { code } } }"""
DISABLE = ENABLE.replace("enabled: true", "enabled: false")


@pytest.fixture
async def store(server_url) -> AsyncIterator[Store]:
    async with own_store(server_url) as store:
        yield store


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as base:
        receiver.url = f"{base}/hook"
        yield receiver


@pytest.fixture
async def dispatchers(store) -> AsyncIterator[list[Dispatcher]]:
    """Dispatchers the test makes with `started(...)`; all stopped afterwards."""
    made: list[Dispatcher] = []
    yield made
    for dispatcher in made:
        await dispatcher.stop()


def started(made: list[Dispatcher], store: Store, **options) -> Dispatcher:
    options = {"allow_private": True, "poll_seconds": 0.05, **options}
    dispatcher = Dispatcher(store.engine, **options)
    dispatcher.start()
    made.append(dispatcher)
    return dispatcher


async def test_a_create_and_a_stop_arrive_signed_within_seconds(store, receiver, dispatchers):
    _, receiver.secret = await add_endpoint(store.api, receiver.url)
    started(dispatchers, store)
    began = time.monotonic()
    await store.api.data(CREATE, n="+12015550100")
    await store.api.data(STOP, n="+12015550100")
    assert await wait_for(lambda: len(receiver.events()) == 2, seconds=5)
    assert time.monotonic() - began < 5
    created, stopped = receiver.events()
    assert [created["type"], stopped["type"]] == ["subscriber.created", "subscriber.unsubscribed"]
    assert [created["sequence"], stopped["sequence"]] == [1, 2]
    assert stopped["source"] == "inbound" and stopped["subscriber"]["status"] == "UNSUBSCRIBED"
    assert created["subscriber"]["e164Number"] == "+12015550100"
    assert all(r.verified for r in receiver.received)
    assert receiver.received[0].body["type"] == "subscriber.changes"


async def test_an_import_of_250_rows_is_three_requests_in_order(store, receiver, dispatchers):
    _, receiver.secret = await add_endpoint(store.api, receiver.url)
    rows = [{"number": f"+1201555{n:04d}"} for n in range(250)]
    await store.api.data(IMPORT, rows=rows)
    started(dispatchers, store)
    assert await wait_for(lambda: len(receiver.events()) == 250)
    assert [len(r.events) for r in receiver.received] == [100, 100, 50]
    assert [e["sequence"] for e in receiver.events()] == list(range(1, 251))
    assert len({r.webhook_id for r in receiver.received}) == 3
    assert all(r.verified for r in receiver.received)


async def test_retries_keep_the_webhook_id(store, receiver, dispatchers):
    endpoint_id, receiver.secret = await add_endpoint(store.api, receiver.url)
    receiver.statuses = [500, 500]
    clock = FakeClock()
    started(dispatchers, store, clock=clock)
    await store.api.data(CREATE, n="+12015550100")
    for attempts in (1, 2):
        assert await wait_for(lambda n=attempts: len(receiver.received) == n)
        # The failure recorded (its next try dated by the fake clock) before time moves on.
        assert await poll(lambda n=attempts: _retry_scheduled(store, endpoint_id, n))
        await asyncio.sleep(0.2)  # nothing is sent again before the next try is due
        assert len(receiver.received) == attempts
        clock.advance(timedelta(minutes=2))
    assert await wait_for(lambda: len(receiver.received) == 3)
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert all(r.verified for r in receiver.received)

    async def succeeded() -> dict | None:  # recorded once the receiver has answered
        page = await store.api.data(DELIVERIES, id=endpoint_id)
        [delivery] = [e["node"] for e in page["webhookDeliveries"]["edges"]]
        return delivery if delivery["status"] == "SUCCEEDED" else None

    delivery = await poll(succeeded)
    assert delivery and delivery["attempts"] == 3
    assert delivery["webhookId"] == receiver.received[0].webhook_id


async def _retry_scheduled(store, endpoint_id: str, attempts: int) -> bool:
    page = await store.api.data(DELIVERIES, id=endpoint_id)
    nodes = [e["node"] for e in page["webhookDeliveries"]["edges"]]
    return bool(nodes) and nodes[0]["attempts"] == attempts and bool(nodes[0]["nextAttemptAt"])


async def test_an_endpoint_is_disabled_when_three_days_of_retries_fail(
    store, receiver, dispatchers
):
    endpoint_id, _ = await add_endpoint(store.api, receiver.url)
    receiver.statuses = [503] * 1000
    clock = FakeClock()
    started(dispatchers, store, clock=clock)
    await store.api.data(CREATE, n="+12015550100")
    assert await wait_for(lambda: len(receiver.received) == 1)
    for _ in range(40):  # ten hours at a time: past the schedule's last delay
        [endpoint] = (await store.api.data(ENDPOINT))["webhookEndpoints"]
        if not endpoint["enabled"]:
            break
        clock.advance(timedelta(hours=10))
        sent = len(receiver.received)
        await wait_for(lambda s=sent: len(receiver.received) > s, seconds=2)
    assert endpoint["enabled"] is False and "failed" in endpoint["disabledReason"]
    assert "HTTP 503" in endpoint["disabledReason"]
    assert endpoint["deliveredSequence"] == 0
    assert 8 <= len(receiver.received) <= 30
    assert len({r.webhook_id for r in receiver.received}) == 1
    # Enabled again, the same events go out (as a new batch) once the receiver is back.
    receiver.statuses = []
    await store.api.data(ENABLE, id=endpoint_id)
    assert await wait_for(
        lambda: receiver.received[-1].webhook_id != receiver.received[0].webhook_id
    )
    assert receiver.received[-1].events[0]["sequence"] == 1


async def test_two_dispatchers_deliver_each_event_once(store, receiver, dispatchers):
    _, receiver.secret = await add_endpoint(store.api, receiver.url)
    first, second = started(dispatchers, store), started(dispatchers, store)
    assert await wait_for(lambda: first.holds_lock or second.holds_lock)
    writes = [store.api.data(CREATE, n=f"+1201556{n:04d}") for n in range(60)]
    await asyncio.gather(*writes)
    assert await wait_for(lambda: len(receiver.events()) >= 60)
    await asyncio.sleep(0.5)
    assert not (first.holds_lock and second.holds_lock)
    # The one delivering stops; the other takes over and delivers what follows.
    holder, other = (first, second) if first.holds_lock else (second, first)
    await holder.stop()
    await store.api.data(IMPORT, rows=[{"number": f"+1201557{n:04d}"} for n in range(40)])
    assert await wait_for(lambda: len(receiver.events()) >= 100)
    await asyncio.sleep(0.5)
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == len(set(ids)) == 100 and other.holds_lock
    assert [e["sequence"] for e in receiver.events()] == list(range(1, 101))


async def test_a_target_that_became_private_is_refused_without_sending(
    store, receiver, dispatchers
):
    endpoint_id, _ = await add_endpoint(store.api, receiver.url)  # allowed when it was made
    started(dispatchers, store, allow_private=False)
    await store.api.data(CREATE, n="+12015550100")

    async def refused() -> list:
        page = await store.api.data(DELIVERIES, id=endpoint_id)
        return [e["node"] for e in page["webhookDeliveries"]["edges"] if e["node"]["lastError"]]

    found = await poll(refused)
    # http to loopback: refused on both counts, before any connection.
    assert found[0]["lastError"].startswith("refused: ") and found[0]["lastStatusCode"] is None
    assert receiver.received == []


async def test_only_the_types_an_endpoint_takes_are_sent(store, receiver, dispatchers):
    await add_endpoint(store.api, receiver.url, events=["subscriber.unsubscribed"])
    started(dispatchers, store)
    await store.api.data(CREATE, n="+12015550100")
    await store.api.data(STOP, n="+12015550100")
    await store.api.data(CREATE, n="+12015550101")
    assert await wait_for(lambda: len(receiver.events()) == 1)
    # The cursor moves past the events it does not take.
    assert await poll(lambda: _cursor_at(store, 3))
    assert [e["type"] for e in receiver.events()] == ["subscriber.unsubscribed"]


async def _cursor_at(store: Store, sequence: int) -> bool:
    async with store.engine.connect() as conn:
        found = await conn.scalar(text("SELECT delivered_sequence FROM webhook_endpoints"))
    return found == sequence


async def test_retention_prunes_only_what_every_enabled_endpoint_delivered(
    store, receiver, dispatchers
):
    await add_endpoint(store.api, receiver.url)
    await store.api.data(IMPORT, rows=[{"number": f"+1201555{n:04d}"} for n in range(5)])
    clock = FakeClock()
    clock.advance(timedelta(days=31))
    pruner = Dispatcher(store.engine, clock=clock)
    assert await pruner.prune() == 0  # not delivered yet: kept, however old
    started(dispatchers, store)
    assert await wait_for(lambda: len(receiver.events()) == 5)
    await asyncio.sleep(0.2)  # the cursor moves in the transaction after the 2xx
    assert await pruner.prune() == 5


OLD_STOP = """mutation($n: PhoneNumber!, $at: DateTime!) {
  recordInboundMessage(input: {from: $n, text: "STOP", receivedAt: $at}) { action } }"""


async def test_retention_goes_by_when_an_event_was_recorded_not_its_received_at(store):
    # A STOP received (by the client's word) 40 days ago is kept for readers like any new
    # event; only one the server recorded past the retention goes.
    await store.api.data(CREATE, n="+12015550100")
    received = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    assert (await store.api.data(OLD_STOP, n="+12015550100", at=received))["recordInboundMessage"]
    async with store.engine.begin() as conn:
        old = text(
            "SELECT occurred_at < now() - interval '39 days' FROM subscriber_events ORDER BY sequence"
        )
        assert list((await conn.execute(old)).scalars()) == [False, True]
        await conn.execute(
            text(
                "UPDATE subscriber_events SET recorded_at = now() - interval '31 days'"
                " WHERE sequence = 1"
            )
        )
    assert await Dispatcher(store.engine).prune() == 1  # no endpoint holds anything back
    async with store.engine.connect() as conn:
        kept = await conn.execute(
            text("SELECT sequence, type FROM subscriber_events ORDER BY sequence")
        )
        assert [tuple(row) for row in kept] == [(2, "subscriber.unsubscribed")]


async def test_an_endpoint_made_after_every_event_was_pruned_starts_at_the_newest(store, receiver):
    await store.api.data(IMPORT, rows=[{"number": f"+1201555{n:04d}"} for n in range(3)])
    async with store.engine.begin() as conn:
        await conn.execute(
            text("UPDATE subscriber_events SET recorded_at = now() - interval '31 days'")
        )
    assert await Dispatcher(store.engine).prune() == 3  # none kept; the counter stays at 3
    await add_endpoint(store.api, receiver.url)
    endpoint = (await store.api.data(ENDPOINT))["webhookEndpoints"][0]
    assert endpoint["deliveredSequence"] == 3
    async with store.engine.connect() as conn:  # nothing to send: not due every tick
        assert await repo.due_endpoints(conn, datetime.now(UTC), limit=10) == []


async def test_a_batch_waits_for_the_one_before_it(store, receiver, dispatchers):
    _, receiver.secret = await add_endpoint(store.api, receiver.url)
    receiver.statuses = [500]
    clock = FakeClock()
    started(dispatchers, store, clock=clock)
    await store.api.data(CREATE, n="+12015550100")
    assert await wait_for(lambda: len(receiver.received) == 1)
    await store.api.data(IMPORT, rows=[{"number": f"+1201555{n:04d}"} for n in range(1, 151)])
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 1  # the later events wait behind the failed batch
    clock.advance(timedelta(seconds=10))
    assert await wait_for(lambda: len(receiver.events()) == 152)
    first, *rest = receiver.received
    assert receiver.received[1].webhook_id == first.webhook_id  # the same batch again
    assert [e["sequence"] for e in receiver.events()[1:]] == list(range(1, 152))
    assert [len(r.events) for r in rest] == [1, 100, 50]


REDELIVER = """mutation($id: ID!, $from: Int!) {
  redeliverWebhookEvents(endpointId: $id, fromSequence: $from) { userErrors { code } } }"""


async def test_redelivery_sends_kept_events_again_under_a_new_id(store, receiver, dispatchers):
    endpoint_id, receiver.secret = await add_endpoint(store.api, receiver.url)
    started(dispatchers, store)
    await store.api.data(IMPORT, rows=[{"number": f"+1201555{n:04d}"} for n in range(3)])
    assert await wait_for(lambda: len(receiver.events()) == 3)
    await store.api.data(REDELIVER, id=endpoint_id, **{"from": 2})
    assert await wait_for(lambda: len(receiver.events()) == 5)
    assert [e["sequence"] for e in receiver.events()] == [1, 2, 3, 2, 3]
    assert receiver.received[0].webhook_id != receiver.received[1].webhook_id


async def test_enabling_an_endpoint_retries_its_pending_batch_at_once(store, receiver, dispatchers):
    endpoint_id, _ = await add_endpoint(store.api, receiver.url)
    receiver.statuses = [500]
    started(dispatchers, store)
    await store.api.data(CREATE, n="+12015550100")
    assert await wait_for(lambda: len(receiver.received) == 1)
    await store.api.data(DISABLE, id=endpoint_id)
    await store.api.data(ENABLE, id=endpoint_id)  # well before the retry's 5-10 s
    assert await wait_for(lambda: len(receiver.received) == 2, seconds=4)
    assert receiver.received[0].webhook_id == receiver.received[1].webhook_id


# 20 endpoints of one account, 5,000 delivered batches each and one pending.
DELIVERIES_FILL = """INSERT INTO webhook_deliveries (account_id, endpoint_id, message_id,
  first_sequence, last_sequence, event_count, status, created_at, next_attempt_at)
SELECT 1, e.id, 'msg_' || e.id || '_' || n, n, n, 1,
  CASE WHEN n = 5000 THEN 'PENDING' ELSE 'SUCCEEDED' END, now(),
  CASE WHEN n = 5000 THEN now() END
FROM webhook_endpoints e, generate_series(1, 5000) AS n"""


async def test_the_dispatchers_pending_lookups_read_the_partial_index(server_url):
    """Each tick asks every enabled endpoint for its pending batch: that reads the
    partial index of pending rows, not every delivery kept (EXPLAIN, as in
    test_list_indexes.py, in a database of its own so that its statistics are these)."""
    async with new_database(server_url, "substore_hook_plans") as url:
        engine = db.create_engine(url, pool_size=1)
        try:
            await db.migrate(engine)
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO accounts (name, default_region) VALUES ('a', 'US')")
                )
                await conn.execute(
                    text(
                        "INSERT INTO webhook_endpoints (account_id, url, secret) SELECT 1, "
                        "'https://example.com/' || n, 'whsec_x' FROM generate_series(1, 20) n"
                    )
                )
                await conn.execute(text(DELIVERIES_FILL))
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE webhook_endpoints, webhook_deliveries"))

            async def pending(conn):
                assert (await repo.pending_delivery(conn, 1, 3)).first_sequence == 5000

            [plan] = await statement_plans(engine, pending)
            assert f"Index Scan using {PENDING_INDEX}" in plan, plan
            assert "Seq Scan" not in plan, plan
        finally:
            await engine.dispose()
