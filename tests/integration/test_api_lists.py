"""What a list screen asks of `subscribers`, over HTTP: newest-first orders, pages back
with last/before, pageInfo at both ends, the attributes filter, and the refusals."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from substore import services

ORDERS = ["CREATED_AT", "CREATED_AT_DESC", "UPDATED_AT", "UPDATED_AT_DESC"]
RENAME = """mutation($n: PhoneNumber, $name: String) {
  createSubscriber(input: {number: $n, firstName: $name}) { created } }"""
PAGE = """query($o: SubscriberOrder!, $first: Int, $after: String, $last: Int, $before: String) {
  subscribers(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    edges { cursor node { e164Number } } } }"""
ALL = "{ subscribers(first: 500) { edges { node { id e164Number createdAt updatedAt } } } }"


def number(n: int) -> str:
    return f"+1201555{700 + n:04d}"


@pytest.fixture
async def listed(api, engine, account) -> dict[str, list[str]]:
    """12 subscribers and their numbers in each order, worked out from their stored times.

    Rows saved in one transaction share a createdAt, so ties are broken by id (saved
    here, in process: an import over HTTP would start the normaliser processes); two
    rows renamed afterwards move to the end of UPDATED_AT."""
    for batch in ([0, 1, 2, 3, 4], [5], [6], [7], [8, 9, 10, 11]):
        async with engine.begin() as conn:
            rows = [services.SubscriberInput(number=number(n)) for n in batch]
            await services.save_subscribers(conn, account, rows)
    for n in (2, 9):
        await api.data(RENAME, n=number(n), name="renamed")
    rows = [e["node"] for e in (await api.data(ALL))["subscribers"]["edges"]]

    def by(stamp: str) -> list[str]:
        key = [(datetime.fromisoformat(r[stamp]), _pk(r["id"]), r["e164Number"]) for r in rows]
        return [e164 for *_, e164 in sorted(key)]

    created, updated = by("createdAt"), by("updatedAt")
    assert created == [number(n) for n in range(12)] and updated != created
    return {
        "CREATED_AT": created,
        "CREATED_AT_DESC": created[::-1],
        "UPDATED_AT": updated,
        "UPDATED_AT_DESC": updated[::-1],
    }


def _pk(global_id: str) -> int:
    return int(base64.urlsafe_b64decode(global_id).decode().partition(":")[2])


async def page(api, order: str, **args) -> dict:
    return (await api.data(PAGE, o=order, **args))["subscribers"]


def numbers(found: dict) -> list[str]:
    return [e["node"]["e164Number"] for e in found["edges"]]


def flags(found: dict) -> tuple[bool, bool]:
    return found["pageInfo"]["hasPreviousPage"], found["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("order", ORDERS)
async def test_pages_walk_forward_and_back_over_the_whole_list(api, listed, order):
    forward, after = [], None
    while True:
        found = await page(api, order, first=5, after=after)
        forward += numbers(found)
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    back, before = [], None
    while True:
        found = await page(api, order, last=5, before=before)
        back = numbers(found) + back
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        before = found["pageInfo"]["startCursor"]
    assert forward == back == listed[order]
    ascending = order.removesuffix("_DESC")
    assert listed[f"{ascending}_DESC"] == listed[ascending][::-1]


async def test_last_and_before_slice_with_exact_flags_at_both_ends(api, listed):
    every = listed["CREATED_AT"]
    end = await page(api, "CREATED_AT", last=5)  # the last 5 of the whole list
    assert (numbers(end), flags(end)) == (every[7:], (True, False))
    assert end["pageInfo"]["startCursor"] == end["edges"][0]["cursor"]
    assert end["pageInfo"]["endCursor"] == end["edges"][-1]["cursor"]
    middle = await page(api, "CREATED_AT", last=5, before=end["pageInfo"]["startCursor"])
    assert (numbers(middle), flags(middle)) == (every[2:7], (True, True))
    start = await page(api, "CREATED_AT", last=5, before=middle["pageInfo"]["startCursor"])
    assert (numbers(start), flags(start)) == (every[:2], (False, True))
    first = await page(api, "CREATED_AT", first=2)
    assert (numbers(first), flags(first)) == (every[:2], (False, True))
    past = await page(api, "CREATED_AT", first=5, after=end["pageInfo"]["endCursor"])
    assert (numbers(past), flags(past)) == ([], (True, False))
    assert past["pageInfo"]["startCursor"] is past["pageInfo"]["endCursor"] is None
    none = await page(api, "CREATED_AT", last=0)
    assert (numbers(none), flags(none)) == ([], (True, False))


async def test_the_cursors_side_is_what_lies_there_now(api, listed):
    """hasPreviousPage paging forward (and hasNextPage paging back) is read at the time
    of the request: rows deleted behind the cursor, its own included, no longer count."""
    every = listed["CREATED_AT_DESC"]
    head = await page(api, "CREATED_AT_DESC", first=3)
    tail = await page(api, "CREATED_AT_DESC", last=3)
    ends = numbers(head) + numbers(tail)
    assert ends == every[:3] + every[-3:]
    found = (await api.data(ALL))["subscribers"]["edges"]
    gone = [e["node"]["id"] for e in found if e["node"]["e164Number"] in ends]
    query = "mutation($ids: [ID!]!) { deleteSubscribers(ids: $ids) { deletedCount } }"
    assert (await api.data(query, ids=gone))["deleteSubscribers"]["deletedCount"] == 6
    after = await page(api, "CREATED_AT_DESC", first=3, after=head["pageInfo"]["endCursor"])
    assert (numbers(after), flags(after)) == (every[3:6], (False, True))
    before = await page(api, "CREATED_AT_DESC", last=3, before=tail["pageInfo"]["startCursor"])
    assert (numbers(before), flags(before)) == (every[-6:-3], (True, False))


moves = st.lists(st.tuples(st.sampled_from(["next", "prev"]), st.integers(1, 6)), max_size=8)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.sampled_from(ORDERS),
    from_end=st.booleans(),
    size=st.integers(1, 6),
    steps=moves,
)
async def test_any_walk_returns_the_rows_next_to_the_last_page(
    api, listed, order, from_end, size, steps
):
    """A walk of next and previous pages from either end: each page is the slice of the
    whole list beside the page before, with both flags exact."""
    every, n = listed[order], len(listed[order])
    if from_end:
        found, lo, hi = await page(api, order, last=size), max(0, n - size), n
    else:
        found, lo, hi = await page(api, order, first=size), 0, min(n, size)
    assert (numbers(found), flags(found)) == (every[lo:hi], (lo > 0, hi < n))
    for move, size in steps:
        info = found["pageInfo"]
        if move == "next":
            found = await page(api, order, first=size, after=info["endCursor"])
            lo, hi = hi, min(n, hi + size)
        else:
            found = await page(api, order, last=size, before=info["startCursor"])
            lo, hi = max(0, lo - size), lo
        assert (numbers(found), flags(found)) == (every[lo:hi], (lo > 0, hi < n))
        if lo == hi:  # an empty page has no cursors to go on from
            break


# --- refusals ----------------------------------------------------------------------------

CURSOR = (
    "query($o: SubscriberOrder!) { subscribers(first: 2, orderBy: $o) { pageInfo { endCursor } } }"
)


async def refusal(api, order: str = "CREATED_AT", **args) -> tuple[str, list[str]]:
    body = await api.gql(PAGE, o=order, **args)
    assert body["data"] is None
    [error] = body["errors"]
    return error["extensions"]["code"], error["extensions"]["field"]


async def test_mixed_directions_are_refused(api, listed):
    cursor = (await page(api, "CREATED_AT", first=1))["pageInfo"]["endCursor"]
    conflicting = "CONFLICTING_PARAMETERS"
    assert await refusal(api, first=2, last=2) == (conflicting, ["last"])
    assert await refusal(api, after=cursor, before=cursor) == (conflicting, ["before"])
    assert await refusal(api, first=2, before=cursor) == (conflicting, ["before"])
    assert await refusal(api, last=2, after=cursor) == (conflicting, ["after"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"last": 501}, ["last"]),
        ({"last": -1}, ["last"]),
        ({"first": 501}, ["first"]),
        ({"before": "bm90IGEgY3Vyc29y"}, ["before"]),
        ({"before": "%%%"}, ["before"]),
    ],
)
async def test_limits_and_malformed_cursors(api, args, field):
    assert await refusal(api, **args) == ("PARAMETER_INVALID", field)


@pytest.mark.parametrize("given", ORDERS)
async def test_a_cursor_belongs_to_its_order(api, listed, given):
    cursor = (await api.data(CURSOR, o=given))["subscribers"]["pageInfo"]["endCursor"]
    for order in ORDERS:
        if order == given:
            assert (await page(api, order, first=1, after=cursor))["edges"]
            assert (await page(api, order, last=1, before=cursor))["edges"]
            continue
        assert await refusal(api, order, first=1, after=cursor) == ("PARAMETER_INVALID", ["after"])
        assert await refusal(api, order, last=1, before=cursor) == (
            "PARAMETER_INVALID",
            ["before"],
        )


async def test_a_forged_cursor_past_32_bits_is_only_a_place(api, listed):
    """Any bigint id is a place in the order, whether or not a row has it."""
    forged = base64.urlsafe_b64encode(b"cd|2020-01-01T00:00:00+00:00|1099511627776").decode()
    found = await page(api, "CREATED_AT_DESC", first=2, after=forged)
    assert (numbers(found), flags(found)) == ([], (True, False))
