"""What Citus asks of the schema and the statements, checked on any PostgreSQL; and, on a
Citus coordinator (SUBSTORE_TEST_DATABASE_URL), that an account's work touches one shard."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event, inspect

from substore import citus, repository
from substore.phone import normalize
from substore.preparation import key_columns
from substore.repository import Provenance, SubscriberWrite


def write(number: str, **profile) -> SubscriberWrite:
    return SubscriberWrite(key_columns(normalize(number, default_region="US")), profile)


# SQL spellings that look like calls but are not functions of pg_proc.
_NOT_FUNCTIONS = set(
    [
        "cast",
        "coalesce",
        "case",
        "when",
        "then",
        "else",
        "exists",
        "greatest",
        "least",
        "nullif",
        "in",
        "and",
        "or",
        "not",
    ]
)


def _calls(clause: str) -> set[str]:
    return {n.lower() for n in re.findall(r"\b([A-Za-z_]\w*)\s*\(", clause)} - _NOT_FUNCTIONS


async def test_do_update_set_calls_only_immutable_functions(engine, account):
    """Citus refuses an upsert on a distributed table whose DO UPDATE SET calls now()."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as conn:
            at = Provenance(datetime.now(UTC), "test")
            for profile in (
                {},
                {"first_name": "A"},
                {"status": "UNSUBSCRIBED"},
                {
                    "status": "SUBSCRIBED",
                    "consented_at": datetime.now(UTC),
                    "consent_source": "web",
                    "email": "a@example.com",
                },
            ):
                await repository.upsert_subscribers(
                    conn, account.id, [write("+12015550177", **profile)], at
                )
                await repository.upsert_subscribers(
                    conn, account.id, [write("+12015550177", **profile)], at, full_rows=True
                )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    clauses = [
        s.split("DO UPDATE SET", 1)[1].split("RETURNING", 1)[0]
        for s in statements
        if "DO UPDATE SET" in s
    ]
    assert len(clauses) >= 4
    called = set().union(*map(_calls, clauses))
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.text(
                "SELECT proname, array_agg(DISTINCT provolatile::text) FROM pg_proc WHERE proname = ANY(:n) GROUP BY proname"
            ),
            {"n": sorted(called)},
        )
        volatility = {name: set(kinds) for name, kinds in found}
    assert set(volatility) == called, "a call that is not a function: add it to _NOT_FUNCTIONS"
    assert all(kinds == {"i"} for kinds in volatility.values()), volatility


async def test_every_key_of_an_accounts_table_starts_with_account_id(engine):
    def keys(sync_conn):
        inspector = inspect(sync_conn)
        found = {}
        for table in ("subscribers", "consent_events"):
            found[f"{table} primary key"] = inspector.get_pk_constraint(table)[
                "constrained_columns"
            ]
            for unique in inspector.get_unique_constraints(table):
                found[unique["name"]] = unique["column_names"]
            for index in inspector.get_indexes(table):
                if index["unique"]:
                    found[index["name"]] = index["column_names"]
        return found

    async with engine.connect() as conn:
        found = await conn.run_sync(keys)
    assert found["subscribers primary key"] == ["account_id", "id"]
    assert {name: cols[0] for name, cols in found.items()} == dict.fromkeys(found, "account_id")


# --- on a Citus coordinator -----------------------------------------------------------


@pytest.fixture
async def distributed(engine):
    async with engine.connect() as conn:
        if not await citus.has_citus(conn):
            pytest.skip(
                "needs Citus: set SUBSTORE_TEST_DATABASE_URL to a coordinator with workers "
                "registered (README: Scaling out)"
            )
    return engine


async def test_without_citus_migrate_distributes_nothing(engine):
    async with engine.connect() as conn:
        if await citus.has_citus(conn):
            pytest.skip("this database has Citus")
    assert await citus.distribute(engine) == citus.Distribution(citus=False)


async def test_the_tables_are_distributed_by_account_and_co_located(distributed):
    async with distributed.connect() as conn:
        kinds = await citus.table_kinds(conn)
        colocation = dict(
            (
                await conn.execute(
                    sa.text(
                        "SELECT logicalrelid::regclass::text, colocationid FROM pg_dist_partition"
                    )
                )
            ).all()
        )
    assert {t: kinds[t] for t in (*citus.REFERENCE, *citus.DISTRIBUTED)} == {
        "accounts": "reference",
        "api_keys": "reference",
        "trusted_documents": "reference",
        "subscribers": "distributed:account_id",
        "consent_events": "distributed:account_id",
    }
    assert colocation["subscribers"] == colocation["consent_events"]
    # Once is enough: a second run changes nothing.
    assert (await citus.distribute(distributed)).changed == ()


def _task_counts(plan: str) -> list[int]:
    return [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]


async def test_one_accounts_reads_and_upserts_touch_one_shard(distributed, account):
    statements: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    event.listen(distributed.sync_engine, "before_cursor_execute", record)
    try:
        async with distributed.begin() as conn:
            rows = [write(f"+1201555{n:04d}", first_name="A") for n in range(900, 950)]
            await repository.upsert_subscribers(conn, account.id, rows)
            page = await repository.page_subscribers(
                conn, account.id, repository.SubscriberFilter(), first=51
            )
            # A page and its cursor's other side: a union, routed to the account's shard.
            await repository.page_and_behind(
                conn,
                account.id,
                repository.SubscriberFilter(attributes={"a": 1}),
                first=51,
                after=(page[9].created_at, page[9].id),
                descending=True,
            )
            await repository.get_subscriber_by_e164(conn, account.id, "+12015550900")
    finally:
        event.remove(distributed.sync_engine, "before_cursor_execute", record)
    async with distributed.connect() as conn:
        for statement, parameters in statements:
            plan = "\n".join(
                r[0] for r in await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            )
            assert set(_task_counts(plan)) <= {1}, plan
            assert "Task Count" in plan or "Citus INSERT ... SELECT" in plan, plan
