"""`substore rekey` on made-up stale keys and recipes: merges and their consent, resuming
an interrupted apply, and what serve and /metrics say about stale keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.support import asgi_client

from substore import commands, repository
from substore.config import Settings
from substore.rekey.recipes import parse
from substore.repository import Provenance, SubscriberWrite
from substore.services import rekey
from substore.web.app import create_app

# Made up: Côte d'Ivoire's 8-digit numbers (invalid today) become 10 digits with 07 or 05.
RECIPES = parse(
    [
        "Old Prefix;Old Length;Country Code;Old Format;New Format;Is Final Migration;Description",
        "2250;11;225;xxxxxxxxxxx;xxx07xxxxxxxx;true;made up: 0 to 070",
        "2255;11;225;xxx5xxxxxxx;xxx070xxxxxxx;true;made up: 5 to 070",
    ]
)
NOW = datetime.now(UTC)


def at(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


def stale_key(e164: str, version: str = "8.10.16") -> dict:
    return {
        "e164_number": e164,
        "number": e164[4:],
        "raw_number": e164,
        "country_code": 225,
        "region_code": "CI",
        "number_type": "FIXED_LINE_OR_MOBILE",
        "country_code_source": "PLUS_SIGN",
        "default_region": None,
        "normalizer_version": version,
        "time_zones": "Africa/Abidjan",
    }


async def write(engine, account_id: int, e164: str, version: str = "8.10.16", **profile) -> int:
    async with engine.begin() as conn:
        row = SubscriberWrite(stale_key(e164, version), profile)
        [done] = await repository.upsert_subscribers(
            conn, account_id, [row], Provenance(at(30), "import")
        )
    return done.id


async def rows(engine, account_id: int) -> dict[str, dict]:
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.text("SELECT * FROM subscribers WHERE account_id = :a"), {"a": account_id}
        )
        return {row.e164_number: dict(row._mapping) for row in found}


async def history(engine, account_id: int, subscriber_id: int) -> list[str]:
    async with engine.connect() as conn:
        found, _ = await repository.page_events(conn, account_id, subscriber_id, first=50, after=0)
    return [event.action for event in found]


async def test_two_stale_rows_of_one_person_become_one_and_later_consent_wins(engine, account):
    # Two spellings of one number under old metadata; the later row was written with
    # consent given after the first row's opt-out.
    first = await write(
        engine, account.id, "+22501234567", first_name="Kofi",
        status="UNSUBSCRIBED", unsubscribed_at=at(20),
    )  # fmt: skip
    second = await write(
        engine, account.id, "+22551234567", email="k@example.com",
        status="SUBSCRIBED", consented_at=at(10),
    )  # fmt: skip
    checked = await rekey.check(engine, account.id, recipes=RECIPES)
    [result] = checked.accounts
    assert result.count(rekey.Kind.CHANGE) == 1 and result.count(rekey.Kind.COLLISION) == 1
    collision = next(f for f in result.findings if f.kind is rekey.Kind.COLLISION)
    assert (collision.subscriber_id, collision.other_subscriber_id) == (second, first)
    assert collision.other_e164_number == "+22501234567"  # the other row's key, named

    applied = await rekey.apply(engine, account.id, recipes=RECIPES)
    assert applied.changes == 2
    stored = await rows(engine, account.id)
    assert list(stored) == ["+2250701234567"]
    person = stored["+2250701234567"]
    assert person["id"] == first and person["status"] == "SUBSCRIBED"
    assert (person["first_name"], person["email"]) == ("Kofi", "k@example.com")
    assert person["consented_at"] == at(10) and person["unsubscribed_at"] == at(20)
    # Both rows' history on the survivor, in order: the first row's opt-out, the second
    # row's consent (moved with the merge), the re-key, the merge and its decision.
    actions = await history(engine, account.id, first)
    assert actions == ["UNSUBSCRIBED", "SUBSCRIBED", "REKEYED", "MERGED", "SUBSCRIBED"]


async def test_an_interrupted_apply_resumes_where_it_stopped_and_repeats_nothing(
    engine, account, monkeypatch
):
    monkeypatch.setattr(rekey, "APPLY_BATCH", 2)
    for n in range(5):
        await write(engine, account.id, f"+2250123456{n}")

    class Stop(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        await rekey.apply(engine, account.id, stop_after_first_batch, recipes=RECIPES)
    assert sum(k.startswith("+225070") for k in await rows(engine, account.id)) == 2
    resumed = await rekey.apply(engine, account.id, recipes=RECIPES)
    assert resumed.accounts[0].rows == 3 and resumed.changes == 3  # only what was left
    assert all(k.startswith("+225070") for k in await rows(engine, account.id))
    again = await rekey.apply(engine, account.id, recipes=RECIPES)
    assert again.changes == 0 and again.accounts[0].rows == 0
    async with engine.connect() as conn:
        feed = await repository.events_after(conn, account.id, 0, 100)
    assert sum(e.source == "rekey" for e in feed) == 5  # one event a row, none repeated


@pytest.fixture
async def stale_row(engine, account):
    await write(engine, account.id, "+2250102030405", version="7.0.0")
    yield
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("DELETE FROM subscribers WHERE account_id = :a"), {"a": account.id}
        )


def test_serve_warns_with_the_count_and_the_command_to_run(stale_row, database_url):
    store = commands.prepare_store(Settings(database_url=database_url))
    warning = commands.stale_keys_warning(store["stale"])
    assert "1 by 7.0.0" in warning and "rekey --check" in warning and "rekey --apply" in warning


async def test_metrics_count_the_rows_keyed_by_another_version(stale_row, engine):
    async def stale_keys(client) -> float:
        text = (await client.get("/metrics")).text
        line = next(x for x in text.splitlines() if x.startswith("substore_stale_keys "))
        return float(line.split()[1])

    async with asgi_client(create_app(Settings(), engine=engine)) as client:
        for _ in range(100):  # counted by the server as it starts, in the background
            if await stale_keys(client) >= 1:
                break
            await asyncio.sleep(0.05)
        assert await stale_keys(client) >= 1


def test_bad_options_are_one_line_errors_not_tracebacks(database_url, tmp_path):
    from tests.integration.test_rekey_upgrade import substore

    unknown = substore("rekey", "--check", "--account", "999999999", url=database_url)
    assert unknown.returncode == 1 and "no account 999999999" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    nowhere = tmp_path / "missing" / "report.csv"
    unwritable = substore("rekey", "--check", "--output", str(nowhere), url=database_url)
    assert unwritable.returncode == 1 and "--output" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
    both = substore("rekey", "--check", "--apply", url=database_url)
    assert both.returncode == 2 and "not allowed with" in both.stderr
