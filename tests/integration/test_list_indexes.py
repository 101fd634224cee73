"""The indexes serve a list screen's statements: newest first and last/before read the
order's own index backward, the cursor's other side is one more index read, and a
selective attributes filter reads the GIN index. Checked with EXPLAIN on the statements
the repository sends, in a database of their own (so that its statistics are theirs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from tests.support import new_database, statement_plans

from substore import db, repository
from substore.repository import SubscriberFilter

FILL = """INSERT INTO subscribers (account_id, e164_number, number, raw_number, country_code,
  number_type, country_code_source, normalizer_version, attributes, created_at, updated_at)
SELECT a.id, '+1201' || lpad(n::text, 7, '0'), '201' || lpad(n::text, 7, '0'), 'x', 1,
  'MOBILE', 'PLUS_SIGN', 'test',
  jsonb_build_object('tier', CASE WHEN n % 2 = 0 THEN 'silver' ELSE 'gold' END,
    'box', jsonb_build_object('n', n % 100)) || CASE WHEN n % 2000 = 0
    THEN '{"rare": true}'::jsonb ELSE '{}'::jsonb END,
  timestamptz '2026-01-01' + n * interval '1 second',
  timestamptz '2026-01-01' + ((n * 7919) % 20000) * interval '1 second'
FROM accounts a, generate_series(1, 20000) AS n"""


@pytest.fixture(scope="module")
async def populated(server_url) -> AsyncIterator[Any]:
    """Two accounts of 20,000 rows each, analysed."""
    async with new_database(server_url, "substore_lists") as url:
        engine = db.create_engine(url, pool_size=1)
        await db.migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO accounts (name, default_region) VALUES ('a', 'US'), ('b', 'US')"
                )
            )
            await conn.execute(sa.text(FILL))
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE subscribers"))
        yield engine
        await engine.dispose()


CURSOR = (datetime.fromisoformat("2026-01-01T02:00:00+00:00"), 7201)


@pytest.mark.parametrize("order", ["created_at", "updated_at"])
@pytest.mark.parametrize("after", [None, CURSOR])
async def test_newest_first_reads_the_order_index_backward(populated, order, after):
    """CREATED_AT_DESC and UPDATED_AT_DESC, and last/before in the ascending orders (the
    service reads those backward too)."""

    async def page(conn):
        await repository.page_subscribers(
            conn, 1, SubscriberFilter(), first=51, after=after, order=order, descending=True
        )

    [plan] = await statement_plans(populated, page)
    assert f"Index Scan Backward using ix_subscribers_account_id_{order}_id" in plan, plan
    assert "Sort" not in plan and "Seq Scan" not in plan, plan


@pytest.mark.parametrize("descending", [False, True])
async def test_the_cursors_other_side_is_one_more_index_read(populated, descending):
    async def page(conn):
        await repository.page_and_behind(
            conn, 1, SubscriberFilter(), first=51, after=CURSOR, descending=descending
        )

    [plan] = await statement_plans(populated, page)
    index = "ix_subscribers_account_id_created_at_id"
    assert f"Index Scan Backward using {index}" in plan, plan
    assert f"Index Scan using {index}" in plan, plan
    assert "Seq Scan" not in plan, plan
    # The only sort is the union's own, over at most 53 rows.
    assert on_the_shard(plan).startswith("Sort") and plan.count("Sort Key") == 1, plan


def on_the_shard(plan: str) -> str:
    """The plan of the statement itself: on Citus, the one task's plan on its worker."""
    if not plan.startswith("Custom Scan (Citus"):
        return plan
    return plan.split("Node: host=", 1)[1].split("\n", 1)[1].strip().removeprefix("->").strip()


RARE = SubscriberFilter(attributes={"rare": True})


@pytest.mark.parametrize("descending", [False, True])
async def test_a_selective_attributes_filter_reads_the_gin_index(populated, descending):
    async def page_and_count(conn):
        found = await repository.page_subscribers(conn, 1, RARE, first=51, descending=descending)
        assert len(found) == 10
        assert await repository.count_subscribers(conn, 1, RARE) == 10

    for plan in await statement_plans(populated, page_and_count):
        assert "Bitmap Index Scan on ix_subscribers_attributes" in plan, plan
        assert "Seq Scan" not in plan, plan


async def test_a_common_attribute_pages_along_the_order_index(populated):
    """Half the account matches: reading the order's index and skipping the others beats
    collecting every match to sort it."""
    silver = SubscriberFilter(attributes={"tier": "silver"})

    async def page(conn):
        assert len(await repository.page_subscribers(conn, 1, silver, first=51)) == 51

    [plan] = await statement_plans(populated, page)
    assert "Index Scan using ix_subscribers_account_id_created_at_id" in plan, plan
    assert "Seq Scan" not in plan, plan
