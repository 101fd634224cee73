"""What Citus asks of the schema and the statements, checked on any PostgreSQL; and, on a
Citus coordinator (SUBSTORE_TEST_DATABASE_URL), that an account's work touches one shard."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url

from substore import citus, db, repository, services
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

    def record(conn, cursor, statement, parameters, *args):
        # On Citus the statement travels as the account write function's argument.
        statements.extend(p for p in (statement, *parameters) if isinstance(p, str))

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
    assert {t: kinds[t] for t in citus.REFERENCE} == dict.fromkeys(citus.REFERENCE, "reference")
    assert {t: kinds[t] for t in citus.DISTRIBUTED} == dict.fromkeys(
        citus.DISTRIBUTED, "distributed:account_id"
    )
    assert {colocation[t] for t in citus.DISTRIBUTED} == {colocation["subscribers"]}
    # Once is enough: a second run changes nothing.
    assert (await citus.distribute(distributed)).changed == ()


@dataclass
class Sent:
    """What the coordinator sent to other nodes (citus.log_remote_commands), by node."""

    commands: list[tuple[str, str]] = field(default_factory=list)  # (node, command)

    @property
    def nodes(self) -> set[str]:
        return {node for node, _ in self.commands}

    def said(self, start: str) -> bool:
        return any(command.startswith(start) for _, command in self.commands)


async def remote_commands(engine, call) -> Sent:
    """Run `call(conn)` in a transaction, and record what Citus sent to other nodes for it:
    asyncpg's own statements (lookups) are seen too, which a SQLAlchemy event misses."""
    sent = Sent()

    def listen(_conn, message) -> None:
        found = re.match(r"issuing (.*)", message.message, re.S)
        node = re.search(r"on server \S+@(\S+) ", message.detail or "")
        if found and node:
            sent.commands.append((node.group(1), found.group(1)))

    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await conn.exec_driver_sql("SET citus.log_remote_commands = on")
        await conn.commit()
        driver.add_log_listener(listen)
        try:
            async with conn.begin():
                await call(conn)
        finally:
            driver.remove_log_listener(listen)
            await conn.exec_driver_sql("RESET citus.log_remote_commands")
            await conn.commit()
    return sent


def assert_one_node(sent: Sent, *, writes: bool) -> None:
    assert len(sent.nodes) == 1, sent.commands
    assert not sent.said("PREPARE TRANSACTION") and not sent.said("COMMIT PREPARED")
    assert not sent.said("COPY"), sent.commands  # no rows or CTE results sent around
    commits = [c for _, c in sent.commands if c == "COMMIT"]
    assert len(commits) == (1 if writes else len(commits) and 1), sent.commands


async def test_reads_of_one_account_touch_one_node(distributed, account):
    async with distributed.begin() as conn:
        rows = [write(f"+1201555{n:04d}", first_name="A") for n in range(900, 960)]
        await repository.upsert_subscribers(conn, account.id, rows)

    async def read(conn) -> None:
        assert await repository.get_subscriber_by_e164(conn, account.id, "+12015550900")
        page = await repository.page_subscribers(
            conn, account.id, repository.SubscriberFilter(), first=51
        )
        await repository.page_and_behind(
            conn,
            account.id,
            repository.SubscriberFilter(attributes={"a": 1}),
            first=51,
            after=(page[9].created_at, page[9].id),
            descending=True,
        )

    sent = await remote_commands(distributed, read)
    assert sum("FROM public.subscribers_" in c for _, c in sent.commands) >= 3, sent.commands
    assert_one_node(sent, writes=False)


async def test_each_write_of_one_account_commits_on_one_node(distributed, account):
    rows = [write(f"+1202555{n:04d}", first_name="A") for n in range(100)]
    at = Provenance(datetime.now(UTC), "test")

    async def batch(conn) -> None:
        await repository.upsert_subscribers(conn, account.id, rows, at)

    async def consent(conn) -> None:
        opted_out = [write(f"+1202555{n:04d}", status="UNSUBSCRIBED") for n in range(50)]
        await repository.upsert_subscribers(conn, account.id, opted_out, at)

    async def stop(conn) -> None:  # a stored number (an update) and a new one (an upsert)
        for sender in ("+12025550060", "+12025550999"):
            done = await services.record_inbound_message(conn, account, sender, "STOP")
            assert done.subscriber.status == "UNSUBSCRIBED"

    async def delete(conn) -> None:
        stored = await repository.get_subscriber_by_e164(conn, account.id, "+12025550070")
        assert await repository.delete_subscribers(conn, account.id, [stored.id], False)

    for call in (batch, consent, stop, delete):
        sent = await remote_commands(distributed, call)
        assert sent.said("SELECT") and sent.said("BEGIN"), (call.__name__, sent.commands)
        assert_one_node(sent, writes=True)
    async with distributed.connect() as conn:
        events = await conn.scalar(
            sa.text("SELECT count(*) FROM subscriber_events WHERE account_id = :a"),
            {"a": account.id},
        )
    assert events == 100 + 50 + 2 + 1  # each change an event, written where its row is


async def test_on_its_node_an_account_write_sends_nothing_further(
    distributed, account, database_url
):
    """The node that runs the write function writes the account's shards itself: it opens
    no connection of its own to other nodes (as a CTE's results sent around would)."""
    async with distributed.connect() as conn:
        host, port = (
            await conn.execute(
                sa.text(
                    "SELECT nodename, nodeport FROM citus_shards WHERE shardid = "
                    "get_shard_id_for_distribution_column('subscribers', CAST(:a AS bigint))"
                ),
                {"a": account.id},
            )
        ).one()
    node = db.create_engine(
        make_url(database_url).set(host=host, port=port).render_as_string(False), pool_size=1
    )
    try:
        rows = [write(f"+1203555{n:04d}", status="UNSUBSCRIBED") for n in range(20)]
        sent = await remote_commands(
            node, lambda conn: repository.upsert_subscribers(conn, account.id, rows)
        )
    finally:
        await node.dispose()
    assert sent.commands == []


async def test_a_write_through_the_account_write_function_does_what_the_statement_does(
    engine, account, other_account
):
    """The form a distributed database uses (routing.py), run here too: the function runs
    the statement as given where it holds no shard, so both accounts end up the same."""

    async def writes(conn, account_id: int) -> list[object]:
        at = Provenance(datetime(2030, 1, 2, tzinfo=UTC), "test", "key", message=True)
        batch = [write(f"+1205555{n:04d}", first_name="A", attributes={"n": n}) for n in range(5)]
        created = await repository.upsert_subscribers(conn, account_id, batch, at)
        stop = await repository.upsert_subscriber(
            conn, account_id, write("+12055550009", status="UNSUBSCRIBED"), at
        )
        changed = await repository.update_subscriber(
            conn, account_id, created[0].id, SubscriberWrite({}, {"status": "UNSUBSCRIBED"}), at
        )
        gone = await repository.delete_subscribers(conn, account_id, [created[1].id], True)
        shape = [
            [(r.e164_number, r.created, r.status) for r in created],
            (stop.e164_number, stop.status, stop.subscriber.first_name),
            (changed.status, changed.unsubscribed_at, changed.first_name),
            len(gone),
        ]
        return shape

    async with engine.begin() as conn:
        direct = await writes(conn, account.id)
    async with engine.begin() as conn:
        conn.info["substore.account_write"] = True  # as on a distributed database
        try:
            routed = await writes(conn, other_account.id)
        finally:
            del conn.info["substore.account_write"]
    assert routed == direct
    async with engine.connect() as conn:
        counts = await conn.execute(
            sa.text(
                "SELECT account_id, count(*) FROM subscriber_events "
                "WHERE account_id IN (:a, :b) GROUP BY account_id"
            ),
            {"a": account.id, "b": other_account.id},
        )
        assert len({n for _, n in counts}) == 1  # the same events, through either form
