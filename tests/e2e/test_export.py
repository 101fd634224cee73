"""`substore export` through a live server: importing an export into another account makes
the same subscribers, field by field; filters and --updated-after narrow it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.e2e.importing import new_account, substore_import

from substore import repository, services
from substore.models import Subscriber
from substore.services import SubscriberInput

# Every column the store keeps but the ids and the times of the rows themselves.
SKIPPED = {"id", "account_id", "created_at", "updated_at", "status_changed_at"}
FIELDS = tuple(c.name for c in Subscriber.__table__.columns if c.name not in SKIPPED)


def substore_export(path: Path, url: str, token: str, *args: str):
    command = [sys.executable, "-m", "substore.cli", "export", str(path), "--url", url]
    return subprocess.run([*command, "--token", token, *args], capture_output=True, text=True)


async def seed(engine, account) -> None:
    now = datetime.now(UTC)
    consent, stop, again = (now - timedelta(days=d) for d in (30, 20, 10))
    people = [
        SubscriberInput("(201) 555-0701", profile={"first_name": "Ada", "email": "ada@example.com"}),
        SubscriberInput("+44 7911 123456", profile={"last_name": "Hopper", "attributes": {"plan": "gold", "n": 2}}),
        SubscriberInput("+39 02 1234 5678", profile={"first_name": "Italo"}),  # keeps its 0
        SubscriberInput(12015550702, profile={"consented_at": consent, "consent_source": "web-form"}),
        SubscriberInput("201.555.0703", profile={"first_name": 'Zoë, "quoted"\nnote'}),
        SubscriberInput("4155552671.0", profile={"first_name": "Sheet"}),  # a spreadsheet's
        SubscriberInput("00447400123456", profile={"first_name": "Inferred"}),  # 00 in the US
        SubscriberInput("07911 123457", default_region="GB"),  # read in the row's country
        # Opted out, then resubscribed with fresh consent: both times are kept.
        SubscriberInput("(201) 555-0704", profile={
            "status": "UNSUBSCRIBED", "unsubscribed_at": stop, "unsubscribe_source": "email"}),
        SubscriberInput("(201) 555-0704", profile={
            "status": "SUBSCRIBED", "consented_at": again, "consent_source": "kiosk"}),
    ]  # fmt: skip
    async with engine.begin() as conn:
        for person in people:
            await services.save_subscriber(conn, account, person)
        await services.record_inbound_message(conn, account, "(201) 555-0701", "STOP", stop)


async def store(engine, account) -> dict[str, tuple]:
    async with engine.connect() as conn:
        rows = await repository.page_subscribers(
            conn, account.id, repository.SubscriberFilter(), first=1000
        )
    return {r.e164_number: tuple(getattr(r, f) for f in FIELDS) for r in rows}


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
async def test_an_export_imported_elsewhere_makes_the_same_subscribers(
    engine, servers, tmp_path, suffix
):
    # Another home region: the national numbers are read in their own, without a warning.
    source, source_token = await new_account(engine, "US")
    target, target_token = await new_account(engine, "DE")
    await seed(engine, source)
    path = tmp_path / f"export.{suffix}"
    done = substore_export(path, servers["plain"], source_token)
    assert done.returncode == 0, done.stderr
    assert "10 subscribers" not in done.stdout and "9 subscribers" in done.stdout
    loaded = substore_import(path, servers["plain"], "--token", target_token)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "9 created" in loaded.stdout and "warning" not in loaded.stdout
    got, want = await store(engine, target), await store(engine, source)
    assert got == want
    opted_out = want["+12015550701"]
    assert opted_out[FIELDS.index("status")] == "UNSUBSCRIBED"
    assert opted_out[FIELDS.index("unsubscribe_source")] == "keyword:STOP"
    sources = {e: row[FIELDS.index("country_code_source")] for e, row in want.items()}
    assert sources["+447400123456"] == "INFERRED" and sources["+447911123457"] == "DEFAULT_REGION"


async def test_an_imported_opt_out_keeps_its_time_and_sticks(engine, servers, tmp_path):
    account, token = await new_account(engine)
    stop = datetime.now(UTC) - timedelta(days=5)
    path = tmp_path / "optouts.csv"
    path.write_text(
        "number,status,unsubscribedAt,unsubscribeSource,consentedAt\n"
        f"2015550801,UNSUBSCRIBED,{stop.isoformat()},keyword:STOP,\n"
        # SUBSCRIBED beside an opt-out with no later consent: the opt-out holds.
        f"2015550802,SUBSCRIBED,{stop.isoformat()},email,{(stop - timedelta(days=1)).isoformat()}\n"
    )
    loaded = substore_import(path, servers["plain"], "--token", token)
    assert loaded.returncode == 0, loaded.stderr
    rows = await store(engine, account)
    for e164 in ("+12015550801", "+12015550802"):
        row = dict(zip(FIELDS, rows[e164], strict=True))
        assert (row["status"], row["unsubscribed_at"]) == ("UNSUBSCRIBED", stop)
    assert "1 stored with a warning" in loaded.stdout


async def test_filters_and_updated_after_narrow_the_export(engine, servers, tmp_path):
    account, token = await new_account(engine)
    await seed(engine, account)
    path = tmp_path / "subscribed.csv"
    assert (
        substore_export(path, servers["plain"], token, "--filter", "status=SUBSCRIBED").returncode
        == 0
    )
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"SUBSCRIBED"}
    assert json.loads(
        next(r for r in rows if r["e164Number"] == "+447911123456")["attributes"]
    ) == {
        "plan": "gold",
        "n": 2,
    }
    later = datetime.now(UTC).isoformat()
    async with engine.begin() as conn:
        await services.record_inbound_message(conn, account, "+12015550703", "STOP")
    changed = tmp_path / "changed.jsonl"
    assert (
        substore_export(changed, servers["plain"], token, "--updated-after", later).returncode == 0
    )
    lines = [json.loads(line) for line in changed.read_text().splitlines()]
    assert [(r["e164Number"], r["status"]) for r in lines] == [("+12015550703", "UNSUBSCRIBED")]
    bad = substore_export(tmp_path / "x.csv", servers["plain"], token, "--filter", "colour=red")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


async def test_a_refused_export_says_why_in_one_line(engine, servers, tmp_path):
    # The client asks for graphql-response+json: a filter the schema does not have fails
    # variable coercion, a 400 whose GraphQL message (not its raw JSON) is reported.
    _, token = await new_account(engine)
    bad = substore_export(tmp_path / "x.csv", servers["plain"], token, "--filter", "colour=red")
    assert bad.returncode == 2
    assert "refused the export (400)" in bad.stderr and "colour" in bad.stderr
    assert '{"errors"' not in bad.stderr
