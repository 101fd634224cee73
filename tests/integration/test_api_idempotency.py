"""importSubscribers with an idempotency key: a repeat answers as the first call did and
writes nothing; the same key for other rows is refused; a repeat waits for a first call
still running; keys expire."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from substore import repository, services
from substore.repository.imports import import_batches
from substore.services import idempotency
from substore.services.idempotency import KEY_LIFETIME, save_subscribers_once

IMPORT = """mutation($rows: [SubscriberInput!]!, $options: ImportOptions, $key: String) {
  importSubscribers(input: $rows, options: $options, idempotencyKey: $key) {
    createdCount updatedCount mergedCount failedCount keptOptedOutCount
    userErrors { code field message }
    results { index status e164Number userErrors { code field reason } warnings { reason field }
              subscriber { id } }
  }
}"""
ROWS = [
    {"number": "2015550401", "firstName": "A"},
    {"number": "12"},  # too short: FAILED
    {"number": "+1 (201) 555-0401", "lastName": "Later"},  # MERGED into row 0
    {"e164Number": "+447400123456", "number": "2015550499"},  # warns NUMBER_MISMATCH
    {"number": 12015550402},
]


async def run_import(api, rows=ROWS, key: str | None = "batch-1", **options) -> dict:
    variables = {"rows": rows, "options": options or None, "key": key}
    return (await api.data(IMPORT, **variables))["importSubscribers"]


async def event_count(engine, account) -> int:
    async with engine.connect() as conn:
        return len(await repository.events_after(conn, account.id, 0, 100_000))


async def test_the_same_key_twice_answers_the_first_results_and_writes_once(api, engine, account):
    first = await run_import(api)
    assert (first["createdCount"], first["updatedCount"], first["failedCount"]) == (3, 0, 1)
    events = await event_count(engine, account)
    assert events == 3
    again = await run_import(api)
    assert again == first  # CREATED stays CREATED, warnings and errors as first reported
    assert await event_count(engine, account) == events  # no second write, no events
    # Without a key the same rows are a new call: they update.
    plain = await run_import(api, key=None)
    assert (plain["createdCount"], plain["updatedCount"]) == (0, 3)


async def test_the_same_key_with_other_rows_or_options_is_refused(api, engine, account):
    await run_import(api)
    events = await event_count(engine, account)
    for payload in (
        await run_import(api, rows=ROWS[:2]),
        await run_import(api, defaultRegion="GB"),
    ):
        assert payload["results"] == [] and payload["createdCount"] == 0
        [error] = payload["userErrors"]
        assert error["code"] == "CONFLICTING_PARAMETERS"
        assert error["field"] == ["idempotencyKey"]
        assert "batch-1" in error["message"] and "new key" in error["message"]
    assert await event_count(engine, account) == events


async def test_keys_belong_to_an_account(api, other_api):
    await run_import(api)
    theirs = await run_import(other_api)  # another account, the same key: its own call
    assert theirs["userErrors"] == [] and theirs["createdCount"] > 0


async def test_an_unusable_key_or_option_claims_nothing(api, engine, account):
    empty = await run_import(api, key=" ")
    assert empty["userErrors"][0]["code"] == "PARAMETER_INVALID"
    long = await run_import(api, key="k" * 256)
    assert long["userErrors"][0]["code"] == "PARAMETER_TOO_LONG"
    region = await run_import(api, defaultRegion="XX")
    assert region["userErrors"][0]["field"] == ["options", "defaultRegion"]
    # The refused call did not keep the key: it works for these rows now.
    assert (await run_import(api))["createdCount"] == 3
    dry = await run_import(api, key="dry", dryRun=True)  # a dry run keeps no key
    assert (await run_import(api, key="dry", rows=ROWS[:1]))["createdCount"] == 0
    assert dry["createdCount"] == 0 and dry["updatedCount"] == 3


async def test_a_repeat_waits_for_the_first_call_still_running(api, engine, account):
    rows = [services.SubscriberInput(number=r.get("number")) for r in ROWS[:1]]
    async with engine.connect() as conn:  # the first call, not committed yet
        results, replayed = await save_subscribers_once(
            conn, account, "batch-1", rows, services.NormalizeOptions()
        )
        assert not replayed and results[0].status is services.RowStatus.CREATED
        repeat = asyncio.create_task(run_import(api, rows=[{"number": "2015550401"}]))
        await asyncio.sleep(0.5)
        assert not repeat.done()  # waiting on the key's row lock
        await conn.commit()
    payload = await asyncio.wait_for(repeat, 10)
    assert (payload["createdCount"], payload["updatedCount"]) == (1, 0)
    assert await event_count(engine, account) == 1


async def test_a_repeat_after_the_first_call_rolled_back_runs(api, engine, account):
    rows = [services.SubscriberInput(number="2015550401")]
    async with engine.connect() as conn:
        await save_subscribers_once(conn, account, "batch-1", rows, services.NormalizeOptions())
        repeat = asyncio.create_task(run_import(api, rows=[{"number": "2015550401"}]))
        await asyncio.sleep(0.3)
        await conn.rollback()
    payload = await asyncio.wait_for(repeat, 10)
    assert (payload["createdCount"], payload["updatedCount"]) == (1, 0)


async def test_concurrent_repeats_write_once(api, engine, account):
    answers = await asyncio.gather(*(run_import(api) for _ in range(4)))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["createdCount"] == 3
    assert await event_count(engine, account) == 3


async def test_an_expired_key_is_a_new_call_and_old_keys_are_pruned(
    api, engine, account, monkeypatch
):
    monkeypatch.setattr(idempotency, "PRUNE_SHARE", 1.0)  # prune on this call, not by chance
    await run_import(api, key="old")
    await run_import(api, key="older", rows=ROWS[:1])
    c = import_batches.c
    long_ago = datetime.now(UTC) - KEY_LIFETIME - timedelta(minutes=1)
    async with engine.begin() as conn:
        await conn.execute(
            import_batches.update().where(c.account_id == account.id).values(created_at=long_ago)
        )
    again = await run_import(api, key="old")
    assert (again["createdCount"], again["updatedCount"]) == (0, 3)  # ran again
    async with engine.connect() as conn:
        keys = await conn.scalars(sa.select(c.key).where(c.account_id == account.id))
        assert sorted(keys) == ["old"]  # "older" pruned by that call


async def test_a_key_the_database_cannot_store_is_refused_not_a_500(api):
    for key in ("a\x00b", "a\ud800b"):  # escaped JSON: httpx's json= cannot send a surrogate
        body = json.dumps({"query": IMPORT, "variables": {"rows": ROWS, "key": key}})
        headers = {**api.headers(), "Content-Type": "application/json"}
        response = await api.client.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
