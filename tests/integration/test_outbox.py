"""The outbox: every change of a subscriber, by every path, is an event written in the
same statement, numbered per account in commit order."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from substore import repository, services

CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } userErrors { code } } }"""
UPDATE = """mutation($id: ID!, $input: SubscriberInput!) { updateSubscriber(id: $id, input: $input) {
  subscriber { id } userErrors { code } } }"""
DELETE = "mutation($id: ID!) { deleteSubscriber(id: $id) { deletedSubscriberId } }"
IMPORT = """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) {
  createdCount updatedCount } }"""
INBOUND = """mutation($from: PhoneNumber!, $text: String!) {
  recordInboundMessage(input: {from: $from, text: $text}) { action } }"""


async def events(engine, account) -> list:
    async with engine.connect() as conn:
        return await repository.events_after(conn, account.id, 0, 100_000)


async def test_every_path_writes_its_event(api, engine, account):
    made = await api.data(CREATE, input={"number": "+12015550100", "firstName": "Ada"})
    subscriber_id = made["createSubscriber"]["subscriber"]["id"]
    await api.data(UPDATE, id=subscriber_id, input={"lastName": "Lovelace"})
    await api.data(INBOUND, **{"from": "+12015550100", "text": "STOP"})
    await api.data(INBOUND, **{"from": "+12015550100", "text": "START"})
    await api.data(IMPORT, rows=[{"number": "+12015550101"}, {"number": "+12015550100"}])
    await api.data(DELETE, id=subscriber_id)
    found = await events(engine, account)
    assert [(e.sequence, e.type, e.source) for e in found] == [
        (1, "subscriber.created", "api"),
        (2, "subscriber.updated", "api"),
        (3, "subscriber.unsubscribed", "inbound"),
        (4, "subscriber.resubscribed", "inbound"),
        (5, "subscriber.updated", "import"),  # in the statement's row order: by E.164
        (6, "subscriber.created", "import"),
        (7, "subscriber.deleted", "api"),
    ]
    first, update, stop = found[0], found[1], found[2]
    assert first.changes["firstName"] == "Ada" and first.e164_number == "+12015550100"
    assert update.changes == {"lastName": "Lovelace"}
    assert stop.status == "UNSUBSCRIBED" and stop.changes["unsubscribeSource"] == "keyword:STOP"
    assert stop.actor is None and first.actor == api.key[:12]
    assert len({e.id for e in found}) == len(found)


async def test_event_ids_are_unique_across_statements_and_accounts(engine, account, other_account):
    """Receivers deduplicate by an event's id; two accounts number their events alike."""
    rows = [
        services.prepare(services.SubscriberInput(number=f"+1201555{n:04d}"), "US", False)[0]
        for n in range(30)
    ]
    for owner in (account, other_account, account):
        async with engine.begin() as conn:
            await repository.upsert_subscribers(conn, owner.id, rows)
    found = [*await events(engine, account), *await events(engine, other_account)]
    assert len(found) == 90
    assert len({e.id for e in found}) == 90
    assert all(uuid.UUID(str(e.id)).version == 4 for e in found)


async def test_a_failed_request_writes_no_event(api, engine, account):
    await api.data(CREATE, input={"number": "+12015550110"})
    bad = await api.gql(CREATE, input={"number": "12"})
    assert bad["data"]["createSubscriber"]["userErrors"]
    assert len(await events(engine, account)) == 1


async def test_concurrent_writers_get_gap_free_numbers_in_commit_order(api, engine, account):
    batches = [
        [{"number": f"+1201555{lane}{n:03d}", "firstName": f"L{lane}"} for n in range(50)]
        for lane in range(6)
    ]
    singles = [api.data(CREATE, input={"number": f"+1201556{n:04d}"}) for n in range(20)]
    await asyncio.gather(*(api.data(IMPORT, rows=rows) for rows in batches), *singles)
    found = await events(engine, account)
    assert [e.sequence for e in found] == list(range(1, 321))
    assert {e.type for e in found} == {"subscriber.created"}
    # One import batch commits as a whole: its 50 events are consecutive numbers.
    for lane in range(6):
        numbers = [e.sequence for e in found if e.changes.get("firstName") == f"L{lane}"]
        assert numbers == list(range(numbers[0], numbers[0] + 50))


async def test_a_write_that_deadlocks_is_run_again_not_a_500(api, engine, account):
    """An import batch of two shapes takes the account's event counter after its first
    statement; a writer holding a row of its second and then wanting the counter makes
    a deadlock. PostgreSQL ends the batch's transaction; the server runs it again."""
    await api.data(IMPORT, rows=[{"number": "+12015550199"}])
    rows = [
        {"number": "+12015550198", "firstName": "Ada"},  # the first statement's shape
        {"number": "+12015550199", "lastName": "Lovelace"},  # the second's
    ]
    row = (
        "UPDATE subscribers SET email = 'x@example.com' WHERE account_id = :a AND e164_number = :n"
    )
    counter = (
        "UPDATE account_event_counters SET last_sequence = last_sequence WHERE account_id = :a"
    )
    async with engine.connect() as side:
        await side.execute(sa.text(row), {"a": account.id, "n": "+12015550199"})
        batch = asyncio.create_task(api.data(IMPORT, rows=rows))
        await asyncio.sleep(0.5)  # the batch holds the counter and waits for the row
        await side.execute(sa.text(counter), {"a": account.id})  # the cycle
        await side.commit()
    done = (await batch)["importSubscribers"]
    assert (done["createdCount"], done["updatedCount"]) == (1, 1)
    found = await events(engine, account)
    assert [e.sequence for e in found] == [1, 2, 3]  # the ended attempt left no number


async def test_a_statement_that_changed_nothing_leaves_the_counter_alone(api, engine, account):
    await api.data(CREATE, input={"number": "+12015550120"})
    counter = "SELECT xmin::text, last_sequence FROM account_event_counters WHERE account_id = :a"
    async with engine.connect() as conn:
        before = (await conn.execute(sa.text(counter), {"a": account.id})).one()
    async with engine.begin() as conn:  # no such subscriber: no row, so no counter lock
        assert await repository.delete_subscribers(conn, account.id, [-1], False) == set()
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text(counter), {"a": account.id})).one() == before
    assert tuple(before)[1] == 1
