"""substore.repository on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from substore import repository
from substore.errors import DuplicateError
from substore.phone import normalize
from substore.preparation import key_columns
from substore.repository import SubscriberFilter, SubscriberWrite


def write(number: str, region: str = "US", **profile) -> SubscriberWrite:
    return SubscriberWrite(
        key=key_columns(normalize(number, default_region=region)), profile=profile
    )


def us_numbers(count: int, start: int = 0) -> list[str]:
    return [f"+1201555{n:04d}" for n in range(start, start + count)]


async def test_upsert_reports_created_then_updated(conn, account):
    first = await repository.upsert_subscriber(conn, account.id, write("(201) 555-0100"))
    again = await repository.upsert_subscriber(conn, account.id, write("+1 201 555 0100"))
    assert (first.created, again.created) == (True, False)
    assert again.subscriber.id == first.subscriber.id
    assert again.subscriber.raw_number == "+1 201 555 0100"
    assert again.subscriber.country_code_source == "PLUS_SIGN"
    assert await repository.count_subscribers(conn, account.id) == 1


async def test_update_changes_only_provided_fields_and_null_clears(conn, account):
    await repository.upsert_subscriber(
        conn, account.id, write("2015550101", first_name="Ada", email="ada@example.com")
    )
    stored = await repository.upsert_subscriber(
        conn, account.id, write("2015550101", last_name="Lovelace", email=None)
    )
    subscriber = stored.subscriber
    assert (subscriber.first_name, subscriber.last_name, subscriber.email) == (
        "Ada",
        "Lovelace",
        None,
    )


async def test_update_moves_updated_at_never_created_at(engine, account):
    async with engine.begin() as conn:
        first = (
            await repository.upsert_subscriber(conn, account.id, write("2015550102"))
        ).subscriber
    async with engine.begin() as conn:
        again = (
            await repository.upsert_subscriber(conn, account.id, write("2015550102"))
        ).subscriber
    assert again.created_at == first.created_at
    assert again.updated_at > first.updated_at


async def test_batch_mixes_creates_updates_and_shapes_in_input_order(conn, account):
    await repository.upsert_subscriber(conn, account.id, write("2015550110", first_name="Old"))
    rows = [
        write("2015550111", first_name="A"),
        write("2015550110", status="UNSUBSCRIBED"),  # another shape: first_name kept
        write("2015550112"),
    ]
    results = await repository.upsert_subscribers(conn, account.id, rows)
    assert [r.created for r in results] == [True, False, True]
    assert [r.e164_number for r in results] == ["+12015550111", "+12015550110", "+12015550112"]
    stored = await repository.get_subscribers(conn, account.id, [r.id for r in results])
    assert stored[results[1].id].first_name == "Old"
    assert stored[results[1].id].status == "UNSUBSCRIBED"


async def test_same_number_in_two_accounts_is_two_subscribers(conn, account, other_account):
    a = await repository.upsert_subscriber(conn, account.id, write("2015550120"))
    b = await repository.upsert_subscriber(conn, other_account.id, write("2015550120"))
    assert a.created and b.created
    assert a.subscriber.id != b.subscriber.id
    assert await repository.get_subscriber(conn, other_account.id, a.subscriber.id) is None


async def test_concurrent_upserts_of_the_same_numbers_create_each_exactly_once(engine, account):
    numbers = us_numbers(200, start=1000)

    async def worker(seed: int) -> list[bool]:
        order = numbers[:]
        random.Random(seed).shuffle(order)
        async with engine.begin() as conn:
            rows = [SubscriberWrite(key=key_columns(normalize(n)), profile={}) for n in order]
            return [r.created for r in await repository.upsert_subscribers(conn, account.id, rows)]

    reports = await asyncio.gather(*(worker(seed) for seed in range(16)))
    assert sum(sum(report) for report in reports) == 200
    async with engine.connect() as conn:
        assert await repository.count_subscribers(conn, account.id) == 200


async def test_concurrent_single_upserts_report_one_creation(engine, account):
    async def one() -> bool:
        async with engine.begin() as conn:
            return (
                await repository.upsert_subscriber(conn, account.id, write("2015550130"))
            ).created

    assert sorted(await asyncio.gather(*(one() for _ in range(16)))) == [False] * 15 + [True]


async def test_failed_statement_leaves_earlier_data_untouched(engine, account):
    async with engine.begin() as conn:
        await repository.upsert_subscriber(conn, account.id, write("2015550140", first_name="Keep"))
    with pytest.raises(sa.exc.DBAPIError):
        async with engine.begin() as conn:
            await repository.upsert_subscriber(
                conn, account.id, write("2015550140", first_name="New")
            )
            await repository.upsert_subscriber(conn, account.id, write("2015550141"))
            await conn.execute(sa.text("SELECT 1/0"))
    async with engine.connect() as conn:
        kept = await repository.get_subscriber_by_e164(conn, account.id, "+12015550140")
        assert kept.first_name == "Keep"
        assert await repository.get_subscriber_by_e164(conn, account.id, "+12015550141") is None


async def test_update_by_id_to_a_taken_number_is_duplicate(conn, account):
    a = (await repository.upsert_subscriber(conn, account.id, write("2015550150"))).subscriber
    await repository.upsert_subscriber(conn, account.id, write("2015550151"))
    with pytest.raises(DuplicateError):
        await repository.update_subscriber(conn, account.id, a.id, write("2015550151"))
    # The savepoint kept the transaction usable, and nothing changed.
    assert (await repository.get_subscriber(conn, account.id, a.id)).e164_number == "+12015550150"


async def test_update_and_delete_are_account_scoped(conn, account, other_account):
    a = (await repository.upsert_subscriber(conn, account.id, write("2015550160"))).subscriber
    assert (
        await repository.update_subscriber(conn, other_account.id, a.id, write("2015550161"))
        is None
    )
    assert await repository.delete_subscribers(conn, other_account.id, [a.id], False) == set()
    assert await repository.delete_subscribers(conn, account.id, [a.id], False) == {a.id}
    assert await repository.get_subscriber(conn, account.id, a.id) is None


@pytest.mark.parametrize("descending", [False, True])
async def test_keyset_paging_visits_every_row_once(conn, account, descending):
    await repository.upsert_subscribers(conn, account.id, [write(n) for n in us_numbers(25, 2000)])
    seen, ids, after = [], [], None
    while True:
        page = await repository.page_subscribers(
            conn, account.id, SubscriberFilter(), first=10, after=after, descending=descending
        )
        if not page:
            break
        seen += [s.e164_number for s in page]
        ids += [s.id for s in page]
        after = (page[-1].created_at, page[-1].id)
    assert sorted(seen) == us_numbers(25, 2000)
    assert len(seen) == len(set(seen))
    # One statement wrote them all: one createdAt, so the id decides.
    assert ids == sorted(ids, reverse=descending)


async def test_a_page_and_what_lies_behind_its_cursor(conn, account):
    await repository.upsert_subscribers(conn, account.id, [write(n) for n in us_numbers(5, 2100)])
    rows = await repository.page_subscribers(conn, account.id, SubscriberFilter(), first=5)
    at = [(r.created_at, r.id) for r in rows]
    page = repository.page_and_behind
    found, behind = await page(conn, account.id, SubscriberFilter(), first=2, after=at[0])
    assert ([r.id for r in found], behind) == ([at[1][1], at[2][1]], True)
    found, behind = await page(
        conn, account.id, SubscriberFilter(), first=9, after=at[0], descending=True
    )
    assert (found, behind) == ([], True)  # nothing before the first; it and the rest after
    gone = SubscriberFilter(created_after=at[0][0])  # a filter that leaves nothing
    assert await page(conn, account.id, gone, first=2, after=at[2]) == ([], False)


async def test_filters(conn, account):
    rows = [write("2015550170"), write("07400 123456", "GB"), write("020 7946 0018", "GB")]
    await repository.upsert_subscribers(conn, account.id, rows)
    count = repository.count_subscribers
    assert await count(conn, account.id, SubscriberFilter(region_code="GB")) == 2
    assert await count(conn, account.id, SubscriberFilter(country_code=1)) == 1
    assert await count(conn, account.id, SubscriberFilter(number_type="MOBILE")) == 1
    assert await count(conn, account.id, SubscriberFilter(status="UNSUBSCRIBED")) == 0
    [one] = await repository.page_subscribers(conn, account.id, SubscriberFilter(), first=1)
    later = SubscriberFilter(created_after=one.created_at + timedelta(seconds=1))
    earlier = SubscriberFilter(created_before=one.created_at + timedelta(seconds=1))
    assert await count(conn, account.id, later) == 0
    assert await count(conn, account.id, earlier) == 3


async def test_api_keys_found_by_hash_until_revoked(conn, account):
    key = await repository.create_api_key(conn, account.id, "read", "sk_abc", "f" * 64)
    assert (await repository.find_api_key(conn, "f" * 64)).id == key.id
    assert await repository.revoke_api_key(conn, account.id, key.id)
    assert await repository.find_api_key(conn, "f" * 64) is None


async def test_account_default_region(conn, account):
    updated = await repository.update_account(conn, account.id, {"default_region": "DE"})
    assert updated.default_region == "DE"
    assert (await repository.get_account(conn, account.id)).default_region == "DE"


storable = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.none() | storable | st.sampled_from(['"', "\\", "NULL", "{}", ""])))
async def test_an_array_sent_as_text_reads_back_as_the_same_values(conn, values):
    """The upsert's arrays travel in PostgreSQL's text form (writes.array_literal)."""
    literal = repository.writes.array_literal(values)
    back = await conn.scalar(sa.text("SELECT CAST(CAST(:a AS text) AS text[])"), {"a": literal})
    assert back == values
