"""`substore rekey` across a real phonenumbers upgrade: rows keyed by phonenumbers 8.10.16
(before Mexico dropped its mobile "1"), checked and re-keyed with the pinned one."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests import oldphone
from tests.support import substore

from substore import repository
from substore.consent.zones import time_zones
from substore.repository import Provenance, SubscriberWrite

EVENTS = """query($n: PhoneNumber!) { subscriber(number: $n) {
  id status firstName e164Number consentEvents(first: 50) { edges { node { action source detail } } }
} }"""
INBOUND = """mutation($input: RecordInboundMessageInput!) {
  recordInboundMessage(input: $input) { action } }"""
CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } userErrors { message } } }"""

MOBILE_OLD, MOBILE_NEW = "+5215512345678", "+525512345678"
OLD_ROWS = [
    ("044 55 1234 5678", "MX"),  # a Mexican mobile as dialled at home then: +521 55...
    ("+52 1 222 123 4567", None),  # another mobile, written with its "1"
    ("+225 01 23 45 67", None),  # Côte d'Ivoire before its 10-digit plan: now invalid
    ("+1 201 555 0123", None),  # the same key then and now
]


@pytest.fixture(scope="session")
def old_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = oldphone.make_venv(tmp_path_factory.mktemp("old-phonenumbers") / "venv")
    if isinstance(made, str):
        pytest.skip(made)  # the package registry is unreachable from here
    return made


async def write_as_old_version(engine, account_id: int, python: Path) -> dict[str, int]:
    """The rows as a write with phonenumbers 8.10.16 stored them; their ids by old key."""
    keys = oldphone.old_keys(python, OLD_ROWS)
    assert all(key["valid"] for key in keys), keys  # every one was a good number then
    assert keys[0]["e164_number"] == MOBILE_OLD and keys[0]["normalizer_version"] == "8.10.16"
    then = datetime.now(UTC) - timedelta(days=400)
    rows = []
    for key in keys:
        zones = time_zones(key["e164_number"], key["number_type"], key["country_code"])
        key = {k: v for k, v in key.items() if k != "valid"} | {"time_zones": " ".join(zones)}
        profile = {"first_name": "Ana", "status": "SUBSCRIBED", "consented_at": then}
        rows.append(SubscriberWrite(key, profile))
    async with engine.begin() as conn:
        stored = await repository.upsert_subscribers(
            conn, account_id, rows, Provenance(then, "import")
        )
    return {row.e164_number: row.id for row in stored}


async def test_an_upgrade_is_checked_then_applied_and_an_opt_out_survives_the_merge(
    old_python, engine, account, api, database_url, tmp_path
):
    old = await write_as_old_version(engine, account.id, old_python)
    # Since then, the same person was written in today's format and opted out.
    await api.data(CREATE, input={"number": "+52 55 1234 5678"})
    await api.data(INBOUND, input={"from": MOBILE_NEW, "text": "STOP"})

    report = tmp_path / "rekey.csv"
    checked = substore(
        "rekey", "--check", "--account", str(account.id), "--output", str(report), url=database_url
    )
    assert checked.returncode == 3, checked.stderr
    assert "collision" in checked.stdout and MOBILE_OLD in checked.stdout
    with report.open() as lines:
        findings = {row["e164_number"]: row for row in csv.DictReader(lines)}
    assert findings[MOBILE_OLD]["kind"] == "collision"
    assert findings[MOBILE_OLD]["other_e164_number"] == MOBILE_NEW
    assert "5215[56]" in findings[MOBILE_OLD]["recipe"]
    assert findings["+5212221234567"]["new_e164_number"] == "+522221234567"
    assert findings["+22501234567"]["kind"] == "invalid"
    assert "+12015550123" not in findings  # unchanged
    async with engine.connect() as conn:  # the check wrote nothing
        count = "SELECT count(*) FROM subscribers WHERE account_id = :a"
        assert await conn.scalar(sa.text(count), {"a": account.id}) == 5

    applied = substore("rekey", "--apply", "--account", str(account.id), url=database_url)
    assert applied.returncode == 0, applied.stderr
    person = (await api.data(EVENTS, n=MOBILE_NEW))["subscriber"]
    assert person["status"] == "UNSUBSCRIBED" and person["firstName"] == "Ana"
    actions = [e["node"]["action"] for e in person["consentEvents"]["edges"]]
    # The old row's consent, the newer row's STOP, and the merge: one history.
    assert actions == ["SUBSCRIBED", "UNSUBSCRIBED", "MERGED"], actions
    moved = (await api.data(EVENTS, n="+522221234567"))["subscriber"]
    assert moved["status"] == "SUBSCRIBED"
    assert [e["node"]["action"] for e in moved["consentEvents"]["edges"]][-1] == "REKEYED"
    async with engine.connect() as conn:
        rows = dict(
            (
                await conn.execute(
                    sa.text(
                        "SELECT e164_number, normalizer_version FROM subscribers WHERE account_id = :a"
                    ),
                    {"a": account.id},
                )
            ).all()
        )
    assert rows["+522221234567"] != "8.10.16" and rows["+12015550123"] != "8.10.16"
    assert rows["+22501234567"] == "8.10.16"  # invalid: left as it was, never deleted
    assert len(rows) == 4 and MOBILE_OLD not in rows  # merged: one row for the person

    again = substore("rekey", "--apply", "--account", str(account.id), url=database_url)
    assert again.returncode == 0 and "re-keyed 0 rows" in again.stdout, again.stdout
    rechecked = substore("rekey", "--check", "--account", str(account.id), url=database_url)
    assert rechecked.returncode == 0, rechecked.stdout
    async with engine.connect() as conn:  # the change feed has the merge: both sides
        feed = await repository.events_after(conn, account.id, 0, 100)
    gone = next(e for e in feed if e.subscriber_id == old[MOBILE_OLD] and e.source == "rekey")
    assert gone.type == "subscriber.deleted" and gone.changes["mergedIntoE164Number"] == MOBILE_NEW
    kept = next(e for e in feed if e.changes.get("mergedFrom"))
    assert kept.e164_number == MOBILE_NEW and kept.status == "UNSUBSCRIBED"
    assert kept.changes["mergedFrom"] == {"id": old[MOBILE_OLD], "e164Number": MOBILE_OLD}
    rekeyed = next(e for e in feed if e.changes.get("previousE164Number") == "+5212221234567")
    assert rekeyed.type == "subscriber.updated" and rekeyed.e164_number == "+522221234567"
