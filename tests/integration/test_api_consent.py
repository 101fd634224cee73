"""Consent over the API: opt-outs stick, keywords, evidence, history, quiet hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

FIELDS = """id status consentedAt consentSource unsubscribedAt unsubscribeSource firstName
  timeZones"""
CREATE = f"""mutation($input: SubscriberInput!) {{ createSubscriber(input: $input) {{
  created subscriber {{ {FIELDS} }} userErrors {{ code field message reason }}
  warnings {{ code field message reason }} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: SubscriberInput!) {{ updateSubscriber(id: $id, input: $input) {{
  subscriber {{ {FIELDS} }} userErrors {{ code field }} warnings {{ code field reason }} }} }}"""
IMPORT = """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) {
  createdCount updatedCount keptOptedOutCount
  results { index status warnings { code field reason } } } }"""
INBOUND = f"""mutation($input: RecordInboundMessageInput!) {{ recordInboundMessage(input: $input) {{
  action keyword subscriber {{ {FIELDS} }} userErrors {{ code field message }} }} }}"""
EVENTS = """query($n: PhoneNumber!, $after: String, $first: Int) { subscriber(number: $n) {
  consentEvents(first: $first, after: $after) {
    edges { cursor node { at action source detail } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } } }"""
NUMBER = "+12015550140"


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def create(api, **fields) -> dict:
    return (await api.data(CREATE, input={"number": NUMBER, **fields}))["createSubscriber"]


async def inbound(api, text: str, sender: str = NUMBER, **extra) -> dict:
    data = await api.data(INBOUND, input={"from": sender, "text": text, **extra})
    return data["recordInboundMessage"]


async def events(api, number: str = NUMBER, **page) -> list[dict]:
    body = await api.data(EVENTS, n=number, **page)
    return [e["node"] for e in body["subscriber"]["consentEvents"]["edges"]]


async def opted_out(api) -> dict:
    await create(api, firstName="Ada")
    return (await inbound(api, "STOP"))["subscriber"]


async def test_a_new_subscriber_is_subscribed_with_no_invented_evidence(api):
    made = await create(api)
    subscriber = made["subscriber"]
    assert (subscriber["status"], subscriber["consentedAt"]) == ("SUBSCRIBED", None)
    assert subscriber["consentSource"] == "api"
    assert subscriber["timeZones"] == ["America/New_York"]
    assert await events(api) == []  # no consent was given or changed: nothing to record


async def test_stop_opts_out_and_a_plain_resubscribe_is_refused_everywhere(api):
    before = await opted_out(api)
    assert (before["status"], before["unsubscribeSource"]) == ("UNSUBSCRIBED", "keyword:STOP")
    again = await create(api, status="SUBSCRIBED", firstName="Grace")
    assert again["subscriber"]["status"] == "UNSUBSCRIBED"
    assert again["subscriber"]["firstName"] == "Grace"  # the other fields are saved
    [warning] = again["warnings"]
    assert (warning["code"], warning["reason"], warning["field"]) == (
        "CONFLICTING_PARAMETERS",
        "OPTED_OUT",
        ["input", "status"],
    )
    assert "consentedAt" in warning["message"]
    updated = await api.data(UPDATE, id=before["id"], input={"status": "SUBSCRIBED"})
    assert updated["updateSubscriber"]["subscriber"]["status"] == "UNSUBSCRIBED"
    assert updated["updateSubscriber"]["warnings"][0]["reason"] == "OPTED_OUT"
    rows = [{"number": "201-555-0140", "status": "SUBSCRIBED"}, {"number": "2015550141"}]
    imported = (await api.data(IMPORT, rows=rows))["importSubscribers"]
    assert imported["keptOptedOutCount"] == 1
    assert imported["results"][0]["warnings"] == [
        {"code": "CONFLICTING_PARAMETERS", "field": ["input", "0", "status"], "reason": "OPTED_OUT"}
    ]
    assert imported["results"][1]["warnings"] == []
    actions = [e["action"] for e in await events(api)]
    assert actions == ["UNSUBSCRIBED", *["RESUBSCRIBE_REFUSED"] * 3]


async def test_fresh_consent_after_the_opt_out_resubscribes(api):
    out = await opted_out(api)
    stopped = datetime.fromisoformat(out["unsubscribedAt"])
    stale = await create(api, status="SUBSCRIBED", consentedAt=iso(stopped - timedelta(days=1)))
    assert stale["subscriber"]["status"] == "UNSUBSCRIBED"
    assert stale["subscriber"]["consentedAt"] is None  # older evidence is not recorded
    fresh_at = datetime.now(UTC)  # consent given just now, after the STOP
    fresh = await create(
        api, status="SUBSCRIBED", consentedAt=iso(fresh_at), consentSource="web-form"
    )
    subscriber = fresh["subscriber"]
    assert (subscriber["status"], subscriber["consentSource"]) == ("SUBSCRIBED", "web-form")
    assert datetime.fromisoformat(subscriber["consentedAt"]) == fresh_at
    assert fresh["warnings"] == []
    history = await events(api)
    assert [e["action"] for e in history] == ["UNSUBSCRIBED", "RESUBSCRIBE_REFUSED", "SUBSCRIBED"]
    assert history[-1]["source"] == "web-form"
    assert history[-1]["detail"].startswith("sk_")  # the key that did it


async def test_unsubscribing_always_works_and_is_recorded(api):
    made = (await create(api))["subscriber"]
    body = await api.data(UPDATE, id=made["id"], input={"status": "UNSUBSCRIBED"})
    subscriber = body["updateSubscriber"]["subscriber"]
    assert (subscriber["status"], subscriber["unsubscribeSource"]) == ("UNSUBSCRIBED", "api")
    assert subscriber["unsubscribedAt"]
    [event] = await events(api)
    assert (event["action"], event["source"]) == ("UNSUBSCRIBED", "api")


async def test_an_opt_outs_own_time_is_kept_and_never_moves_back(api):
    now = datetime.now(UTC)
    early, late = iso(now - timedelta(days=9)), iso(now - timedelta(days=2))
    given = {"status": "UNSUBSCRIBED", "unsubscribedAt": late, "unsubscribeSource": "email"}
    made = (await create(api, **given))["subscriber"]
    assert (made["status"], made["unsubscribedAt"]) == ("UNSUBSCRIBED", late)
    assert made["unsubscribeSource"] == "email"
    # An older opt-out on file elsewhere does not date this one back...
    again = (await create(api, status="UNSUBSCRIBED", unsubscribedAt=early))["subscriber"]
    assert (again["unsubscribedAt"], again["unsubscribeSource"]) == (late, "email")
    # ...and consent older than it, beside SUBSCRIBED, does not undo it.
    stale = await create(api, status="SUBSCRIBED", consentedAt=early)
    assert stale["subscriber"]["status"] == "UNSUBSCRIBED"
    assert [w["reason"] for w in stale["warnings"]] == ["OPTED_OUT"]


async def test_a_subscribed_row_with_its_own_unanswered_opt_out_is_unsubscribed(api):
    stop = iso(datetime.now(UTC) - timedelta(days=3))
    made = await create(api, status="SUBSCRIBED", unsubscribedAt=stop)
    assert (made["subscriber"]["status"], made["subscriber"]["unsubscribedAt"]) == (
        "UNSUBSCRIBED",
        stop,
    )
    assert made["subscriber"]["unsubscribeSource"] == "api"
    assert [w["reason"] for w in made["warnings"]] == ["OPTED_OUT"]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"consentedAt": "2999-01-01T00:00:00Z"}, "PARAMETER_INVALID", ["input", "consentedAt"]),
        ({"consentSource": "x" * 201}, "PARAMETER_TOO_LONG", ["input", "consentSource"]),
        (
            {"unsubscribedAt": "2999-01-01T00:00:00Z"},
            "PARAMETER_INVALID",
            ["input", "unsubscribedAt"],
        ),
        ({"unsubscribeSource": "x" * 201}, "PARAMETER_TOO_LONG", ["input", "unsubscribeSource"]),
    ],
)
async def test_bad_consent_evidence_is_refused_and_nothing_stored(api, fields, code, field):
    refused = await create(api, status="SUBSCRIBED", **fields)
    assert refused["subscriber"] is None
    assert (refused["userErrors"][0]["code"], refused["userErrors"][0]["field"]) == (code, field)
    assert (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"] == 0


async def test_stop_from_an_unknown_number_is_a_suppression_entry(api):
    stopped = await inbound(api, "  Stop All! ", sender="(201) 555-0177")
    assert (stopped["action"], stopped["keyword"]) == ("OPTED_OUT", "STOP ALL")
    assert stopped["subscriber"]["status"] == "UNSUBSCRIBED"
    rows = [{"number": "+1 201 555 0177", "status": "SUBSCRIBED", "firstName": "CRM"}]
    imported = (await api.data(IMPORT, rows=rows))["importSubscribers"]
    assert (imported["updatedCount"], imported["keptOptedOutCount"]) == (1, 1)
    stop, refused = await events(api, "2015550177")
    assert (stop["action"], stop["source"], stop["detail"]) == (
        "UNSUBSCRIBED",
        "keyword:STOP ALL",
        "Stop All!",
    )
    assert (refused["action"], refused["source"]) == ("RESUBSCRIBE_REFUSED", "import")


async def test_start_opts_back_in_and_help_and_other_text_change_nothing(api):
    await opted_out(api)
    helped = await inbound(api, "help")
    assert (helped["action"], helped["subscriber"]["status"]) == ("HELP", "UNSUBSCRIBED")
    chatter = await inbound(api, "stop texting me")
    assert (chatter["action"], chatter["keyword"]) == ("NONE", None)
    assert chatter["subscriber"]["status"] == "UNSUBSCRIBED"
    started = await inbound(api, "START")
    subscriber = started["subscriber"]
    assert (started["action"], subscriber["status"]) == ("OPTED_IN", "SUBSCRIBED")
    assert (subscriber["consentSource"], subscriber["firstName"]) == ("keyword:START", "Ada")
    assert [e["action"] for e in await events(api)] == ["UNSUBSCRIBED", "SUBSCRIBED"]
    unknown = await inbound(api, "hello", sender="+12015550199")
    assert unknown["subscriber"] is None


async def test_a_start_older_than_the_stop_does_not_opt_back_in(api):
    await opted_out(api)
    late = datetime.now(UTC) - timedelta(hours=1)
    started = await inbound(api, "start", receivedAt=iso(late))
    assert started["subscriber"]["status"] == "UNSUBSCRIBED"


def hours_ago(hours: float) -> str:
    return iso(datetime.now(UTC) - timedelta(hours=hours))


async def test_every_stop_counts_so_older_consent_cannot_undo_the_latest(api):
    """The campaign's sequence: STOP, STOP again later, then an import whose consent
    falls between the two. The latest STOP is the opt-out that counts."""
    await create(api, firstName="Ada")
    first = (await inbound(api, "STOP", receivedAt=hours_ago(4)))["subscriber"]
    again = (await inbound(api, "stop", receivedAt=hours_ago(1)))["subscriber"]
    assert again["unsubscribedAt"] > first["unsubscribedAt"]
    assert again["unsubscribedAt"][:16] == hours_ago(1)[:16]
    log = await events(api)
    assert [(e["action"], e["source"]) for e in log] == [
        ("UNSUBSCRIBED", "keyword:STOP"),
        ("UNSUBSCRIBED", "keyword:STOP"),
    ]
    between = {"number": NUMBER, "status": "SUBSCRIBED", "consentedAt": hours_ago(2)}
    imported = (await api.data(IMPORT, rows=[between]))["importSubscribers"]
    assert imported["keptOptedOutCount"] == 1
    fetched = await api.data(
        "query($n: PhoneNumber!) { subscriber(number: $n) { status } }", n=NUMBER
    )
    assert fetched["subscriber"]["status"] == "UNSUBSCRIBED"
    # Consent given after the latest STOP still resubscribes: evidence, not a lock-out.
    fresh = {**between, "consentedAt": hours_ago(0.5)}
    assert (await api.data(IMPORT, rows=[fresh]))["importSubscribers"]["keptOptedOutCount"] == 0


async def test_an_older_stop_arriving_late_never_moves_the_opt_out_back(api):
    await create(api)
    latest = (await inbound(api, "STOP", receivedAt=hours_ago(1)))["subscriber"]
    late = (await inbound(api, "STOP", receivedAt=hours_ago(3)))["subscriber"]
    assert late["unsubscribedAt"] == latest["unsubscribedAt"]
    assert [e["action"] for e in await events(api)] == ["UNSUBSCRIBED", "UNSUBSCRIBED"]


async def test_stale_consent_racing_a_second_stop_never_resubscribes(api):
    """A second STOP and an import with consent older than it, concurrently: whatever
    the order, the number ends opted out (before the fix, 8 of 50 races did not)."""
    numbers = [f"+1201555{n:04d}" for n in range(400, 440)]
    await api.data(IMPORT, rows=[{"number": n} for n in numbers])
    await asyncio.gather(
        *(inbound(api, "STOP", sender=n, receivedAt=hours_ago(3)) for n in numbers)
    )
    rows = [{"number": n, "status": "SUBSCRIBED", "consentedAt": hours_ago(2)} for n in numbers]
    for _ in range(3):
        stops = [inbound(api, "STOP", sender=n, receivedAt=hours_ago(1)) for n in numbers]
        await asyncio.gather(*[api.data(IMPORT, rows=rows) for _ in range(8)], *stops)
        query = "{ subscribers(first: 100, filter: {status: SUBSCRIBED}) { totalCount } }"
        assert (await api.data(query))["subscribers"]["totalCount"] == 0


async def test_inbound_problems_are_user_errors(api):
    bad = await inbound(api, "STOP", sender="555-0123")
    assert bad["userErrors"][0]["field"] == ["input", "from"]
    future = await inbound(api, "STOP", receivedAt="2999-01-01T00:00:00Z")
    assert future["userErrors"][0]["field"] == ["input", "receivedAt"]
    assert (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"] == 0


async def test_a_read_key_cannot_record_inbound_messages(read_api):
    body = await read_api.gql(INBOUND, status=403, input={"from": NUMBER, "text": "STOP"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_consent_history_pages(api):
    await create(api)
    for text in ("STOP", "START", "STOP", "START"):
        await inbound(api, text)
    first = await api.data(EVENTS, n=NUMBER, first=3)
    page = first["subscriber"]["consentEvents"]
    info = page["pageInfo"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (False, True)
    assert (info["startCursor"], info["endCursor"]) == (
        page["edges"][0]["cursor"],
        page["edges"][-1]["cursor"],
    )
    body = await api.data(EVENTS, n=NUMBER, after=info["endCursor"])
    rest = body["subscriber"]["consentEvents"]
    assert (rest["pageInfo"]["hasPreviousPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)
    edges = page["edges"] + rest["edges"]
    actions = [e["node"]["action"] for e in edges]
    assert actions == ["UNSUBSCRIBED", "SUBSCRIBED", "UNSUBSCRIBED", "SUBSCRIBED"]
    past = await api.data(EVENTS, n=NUMBER, after=rest["pageInfo"]["endCursor"])
    info = past["subscriber"]["consentEvents"]["pageInfo"]
    assert (info["hasPreviousPage"], info["hasNextPage"], info["startCursor"]) == (
        True,
        False,
        None,
    )
    bad = await api.gql(EVENTS, n=NUMBER, after="bm90LWEtY3Vyc29y")
    assert bad["errors"][0]["extensions"]["code"] == "PARAMETER_INVALID"


async def test_an_opt_out_racing_resubscribing_imports_always_wins(api):
    """16 concurrent import batches ask SUBSCRIBED (stale evidence) while STOP arrives:
    whatever the order, the number ends opted out."""
    numbers = [f"+1201555{n:04d}" for n in range(300, 340)]
    await api.data(IMPORT, rows=[{"number": n} for n in numbers])
    stale = iso(datetime.now(UTC) - timedelta(minutes=5))
    rows = [{"number": n, "status": "SUBSCRIBED", "consentedAt": stale} for n in numbers]
    for _ in range(3):
        batches = [api.data(IMPORT, rows=rows) for _ in range(16)]
        stops = [inbound(api, "STOP", sender=n) for n in numbers]
        await asyncio.gather(*batches, *stops)
        query = "{ subscribers(first: 100, filter: {status: SUBSCRIBED}) { totalCount } }"
        assert (await api.data(query))["subscribers"]["totalCount"] == 0


# --- quiet hours -------------------------------------------------------------------------

CAN = """query($n: PhoneNumber!, $at: DateTime) { subscriber(number: $n) {
  timeZones canMessage(at: $at) { allowed reason nextAllowedAt } } }"""
SENDABLE = """query($at: DateTime!) {
  subscribers(first: 50, filter: {canMessageAt: $at}) { totalCount edges { node { e164Number } } } }"""
ACCOUNT = """mutation($input: AccountInput!) { updateAccount(input: $input) {
  account { defaultRegion quietHours { start end } } userErrors { code field message } } }"""


def utc(hour: int, minute: int = 0) -> str:
    return datetime(2026, 12, 2, hour, minute, tzinfo=UTC).isoformat()


async def test_can_message_follows_the_numbers_own_clock(api):
    await create(api)
    day = (await api.data(CAN, n=NUMBER, at=utc(15)))["subscriber"]  # 10:00 in New York
    assert day["canMessage"] == {"allowed": True, "reason": None, "nextAllowedAt": None}
    night = (await api.data(CAN, n=NUMBER, at=utc(3)))["subscriber"]["canMessage"]  # 22:00
    assert (night["allowed"], night["reason"]) == (False, "QUIET_HOURS")
    assert datetime.fromisoformat(night["nextAllowedAt"]) == datetime.fromisoformat(utc(13))
    await inbound(api, "STOP")
    stopped = (await api.data(CAN, n=NUMBER, at=utc(15)))["subscriber"]["canMessage"]
    assert stopped == {"allowed": False, "reason": "UNSUBSCRIBED", "nextAllowedAt": None}


async def test_the_account_sets_its_quiet_hours(api):
    body = await api.data("{ account { quietHours { start end } } }")
    assert body["account"]["quietHours"] == {"start": "21:00", "end": "08:00"}
    changed = await api.data(ACCOUNT, input={"quietHoursStart": "20:00", "quietHoursEnd": "09:30"})
    account = changed["updateAccount"]["account"]
    assert account == {"defaultRegion": "US", "quietHours": {"start": "20:00", "end": "09:30"}}
    await create(api)
    early = (await api.data(CAN, n=NUMBER, at=utc(14)))["subscriber"]["canMessage"]  # 09:00
    assert (early["allowed"], early["reason"]) == (False, "QUIET_HOURS")
    bad = await api.data(ACCOUNT, input={"quietHoursEnd": "25:00"})
    [error] = bad["updateAccount"]["userErrors"]
    assert (error["code"], error["field"]) == ("PARAMETER_INVALID", ["input", "quietHoursEnd"])


async def test_the_can_message_filter_pages_only_the_sendable(api):
    numbers = {
        "+12015550150": "New York",
        "+14155550151": "Los Angeles",
        "+81312345678": "Tokyo",
        "+12015550152": "New York, opted out",
    }
    await api.data(IMPORT, rows=[{"number": n} for n in numbers])
    await inbound(api, "STOP", sender="+12015550152")
    # 15:30 UTC: 10:30 in New York, 07:30 in Los Angeles, 00:30 in Tokyo.
    body = await api.data(SENDABLE, at=utc(15, 30))
    found = [e["node"]["e164Number"] for e in body["subscribers"]["edges"]]
    assert found == ["+12015550150"]
    assert body["subscribers"]["totalCount"] == 1
    later = await api.data(SENDABLE, at=utc(17))  # 12:00 NY, 09:00 LA, 02:00 Tokyo
    assert {e["node"]["e164Number"] for e in later["subscribers"]["edges"]} == {
        "+12015550150",
        "+14155550151",
    }


async def test_an_opt_out_earlier_in_the_same_batch_sticks_too(api):
    """Batching must not decide consent: two rows in one batch behave as in two batches."""
    rows = [
        {"number": "2015550160", "status": "UNSUBSCRIBED"},
        {"number": "+1 201 555 0160", "status": "SUBSCRIBED", "firstName": "Later"},
    ]
    payload = (await api.data(IMPORT, rows=rows))["importSubscribers"]
    assert [r["status"] for r in payload["results"]] == ["CREATED", "MERGED"]
    assert payload["results"][1]["warnings"][0]["reason"] == "OPTED_OUT"
    body = await api.data('{ subscriber(number: "2015550160") { status firstName } }')
    assert body["subscriber"] == {"status": "UNSUBSCRIBED", "firstName": "Later"}


# --- deleting keeps the consent question answered ---------------------------------------

DELETE_MANY = """mutation($ids: [ID!]!, $forget: Boolean) {
  deleteSubscribers(ids: $ids, forgetOptOut: $forget) {
    deletedCount results { id deleted userErrors { code field message } } } }"""
DELETE_ONE = """mutation($id: ID!, $forget: Boolean) {
  deleteSubscriber(id: $id, forgetOptOut: $forget) { deletedSubscriberId userErrors { code } } }"""


async def test_deleting_many_answers_per_id_in_order_without_leaking(api, other_api):
    kept = (await create(api))["subscriber"]["id"]
    theirs = (await other_api.data(CREATE, input={"number": "+12015550188"}))["createSubscriber"]
    other_id = theirs["subscriber"]["id"]
    ids = [kept, "garbage", other_id, kept]
    body = (await api.data(DELETE_MANY, ids=ids))["deleteSubscribers"]
    assert body["deletedCount"] == 1
    assert [(r["id"], r["deleted"]) for r in body["results"]] == [
        (kept, True),
        ("garbage", False),
        (other_id, False),
        (kept, True),  # the same id twice: the same answer
    ]
    codes = {r["userErrors"][0]["code"] for r in body["results"] if not r["deleted"]}
    assert codes == {"RECORD_NOT_FOUND"}
    messages = [r["userErrors"][0]["message"] for r in body["results"][1:3]]
    assert "other" not in " ".join(messages)  # nothing says the id exists elsewhere
    still = await other_api.data('{ subscriber(number: "+12015550188") { id } }')
    assert still["subscriber"]["id"] == other_id


async def test_a_deleted_opt_out_stays_suppressed_unless_forgotten(api):
    out = await opted_out(api)
    body = await api.data(DELETE_ONE, id=out["id"])
    assert body["deleteSubscriber"]["deletedSubscriberId"] == out["id"]
    entry = (await api.data(f'{{ subscriber(number: "{NUMBER}") {{ {FIELDS} }} }}'))["subscriber"]
    assert (entry["status"], entry["firstName"]) == ("UNSUBSCRIBED", None)  # profile gone
    rows = [{"number": NUMBER, "status": "SUBSCRIBED", "firstName": "Re-import"}]
    imported = (await api.data(IMPORT, rows=rows))["importSubscribers"]
    assert imported["keptOptedOutCount"] == 1  # a later import cannot subscribe it
    erased = await api.data(DELETE_MANY, ids=[out["id"]], forget=True)
    assert erased["deleteSubscribers"]["deletedCount"] == 1
    gone = await api.data(f'{{ subscriber(number: "{NUMBER}") {{ id }} }}')
    assert gone["subscriber"] is None
    again = (await api.data(IMPORT, rows=rows))["importSubscribers"]
    assert again["createdCount"] == 1  # forgotten: the number starts afresh


async def test_more_than_1000_ids_is_refused(api):
    body = await api.gql(DELETE_MANY, ids=["x"] * 1001)
    assert body["errors"][0]["extensions"]["code"] == "PARAMETER_TOO_LONG"
