"""The plan cache answers exactly what graphql-core answers: every query here, and a
hypothesis-generated set, goes to a server with plans and to one without, and the two
responses must be the same (status, data, errors)."""

from __future__ import annotations

import contextlib
import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import asgi_client

from substore import auth
from substore.config import Settings
from substore.web.app import create_app

PLAIN = [
    "id",
    "e164Number",
    "number",
    "rawNumber",
    "countryCode",
    "regionCode",
    "numberType",
    "countryCodeSource",
    "firstName",
    "lastName",
    "email",
    "attributes",
    "status",
    "createdAt",
    "updatedAt",
    "consentedAt",
    "consentSource",
    "unsubscribedAt",
    "unsubscribeSource",
    "timeZones",
    "__typename",
]
NUMBERS = [
    "+12015550300",
    "(201) 555-0301",
    "+447400123456",
    "+12015550999",
    "12",
    "not a number",
    "",
]
SEED = (
    """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) { createdCount } }"""
)
ROWS = [
    {"number": "+12015550300", "firstName": "Ada", "attributes": {"tier": "gold", "n": [1, 2]}},
    {"number": "(201) 555-0301", "email": "b@example.com", "status": "UNSUBSCRIBED"},
    {
        "number": "+447400123456",
        "lastName": "Müller",
        "consentedAt": "2026-01-02T03:04:05Z",
        "consentSource": "web",
    },
    *(
        {"number": f"+1201555{n:04d}", "attributes": {"tier": "silver", "box": {"n": n % 3}}}
        for n in range(302, 330)
    ),
]


@pytest.fixture
async def servers(engine, account):
    async with engine.begin() as conn:
        key = (await auth.create_key(conn, account.id, "write")).secret
    headers = {"Authorization": f"Bearer {key}"}
    apps = {
        on: create_app(Settings(rate_limit_per_second=0, plan_cache=on), engine=engine)
        for on in (True, False)
    }
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            on: await stack.enter_async_context(asgi_client(app, headers=headers))
            for on, app in apps.items()
        }
        seeded = await clients[False].post(
            "/graphql", json={"query": SEED, "variables": {"rows": ROWS}}
        )
        assert seeded.json()["data"]["importSubscribers"]["createdCount"] == len(ROWS)
        yield apps, clients


def _answer(response: httpx.Response) -> tuple[int, dict]:
    body = response.json()
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return response.status_code, body


async def same(servers, query: str, variables: dict | None = None) -> bool:
    """Both servers' answers to `query`, asked twice of the planned one; whether a plan
    answered the second time."""
    apps, clients = servers
    body = {"query": query, "variables": variables or {}}
    first = _answer(await clients[True].post("/graphql", json=body))
    planned = apps[True].state.plans.get(query, None) is not None
    again = _answer(await clients[True].post("/graphql", json=body))
    plain = _answer(await clients[False].post("/graphql", json=body))
    assert first == plain, json.dumps([first, plain], indent=1)
    assert again == plain, json.dumps([again, plain], indent=1)
    return planned


LOOKUP = "query($n: PhoneNumber) { subscriber(number: $n) { %s } }"
PAGE = """query($f: Int, $a: String, $l: Int, $b: String, $o: SubscriberOrder!, $w: SubscriberFilter) {
  subscribers(first: $f, after: $a, last: $l, before: $b, orderBy: $o, filter: $w) {
    edges { cursor node { %s } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }"""
ORDERS = ["CREATED_AT", "UPDATED_AT", "CREATED_AT_DESC", "UPDATED_AT_DESC"]


@pytest.mark.parametrize("number", NUMBERS)
async def test_a_lookup_by_number(servers, number):
    planned = await same(servers, LOOKUP % " ".join(PLAIN), {"n": number})
    assert planned == (number not in ("12", "not a number", "")), "a clean lookup gets a plan"


async def test_a_lookup_by_id_and_aliases_and_typenames(servers):
    _, clients = servers
    page = await clients[False].post(
        "/graphql", json={"query": "{ subscribers(first: 1) { edges { node { id } } } }"}
    )
    sid = page.json()["data"]["subscribers"]["edges"][0]["node"]["id"]
    query = "query($i: ID) { __typename a: subscriber(id: $i) { x: e164Number y: __typename attributes } }"
    assert await same(servers, query, {"i": sid})
    assert await same(servers, query, {"i": "U3Vic2NyaWJlcjo5OTk5OTk5"})  # no such subscriber


async def _page_info(servers, query: str, variables: dict) -> dict:
    _, clients = servers
    body = {"query": query, "variables": variables}
    return (await clients[False].post("/graphql", json=body)).json()["data"]["subscribers"][
        "pageInfo"
    ]


async def test_pages_and_their_cursors_forward_and_back(servers):
    # One test for every order (and one below for every filter): each test seeds anew.
    query = PAGE % " ".join(PLAIN)
    for order in ORDERS:
        after = None
        for _ in range(4):
            variables = {"f": 10, "a": after, "o": order}
            assert await same(servers, query, variables)
            after = (await _page_info(servers, query, variables))["endCursor"]
        before = None
        for _ in range(4):
            variables = {"l": 10, "b": before, "o": order}
            assert await same(servers, query, variables)
            before = (await _page_info(servers, query, variables))["startCursor"]


FILTERS = [
    {"attributes": {"tier": "gold"}},
    {"attributes": {"n": [2]}},  # an element of an array
    {"attributes": {"box": {"n": 1}}},  # nested
    {"attributes": {"box": {"n": 1}}, "countryCode": 1},
    {"attributes": {"tier": "silver"}, "status": "SUBSCRIBED"},
    {"attributes": {"tier": "gold"}, "status": "UNSUBSCRIBED"},  # no match
    {"attributes": {"tier": "bronze"}},  # no match
    {"attributes": {}},
]


async def test_the_attributes_filter(servers):
    query = PAGE % "e164Number attributes"
    for where in FILTERS:
        for order in ("CREATED_AT", "UPDATED_AT_DESC"):
            assert await same(servers, query, {"f": 5, "o": order, "w": where})
            assert await same(servers, query, {"l": 5, "o": order, "w": where})


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PAGE % "id", {"f": 501, "o": "CREATED_AT"}),  # first out of range
        (PAGE % "id", {"f": 5, "a": "bm90IGEgY3Vyc29y", "o": "CREATED_AT"}),  # bad cursor
        (
            '{ subscribers(last: 2, filter: {attributes: {tier: "silver"}}) { totalCount pageInfo { hasPreviousPage } } }',
            None,
        ),
        (PAGE % "id", {"f": "five", "o": "CREATED_AT"}),  # a variable of the wrong type
        (LOOKUP % "id", {"n": 12.5}),
        ("{ subscriber { id } }", None),  # neither id nor number
        (
            "{ subscribers(first: 2, filter: {status: SUBSCRIBED}) { totalCount edges { node { canMessage { allowed } } } } }",
            None,
        ),
        (
            'query Q { subscriber(number: "+12015550300") { ...F } } fragment F on Subscriber { id }',
            None,
        ),
        ('{ subscriber(number: "+12015550300") { id @include(if: false) email } }', None),
    ],
)
async def test_errors_and_what_plans_leave_alone(servers, query, variables):
    await same(servers, query, variables)


REFUSED = [
    {"l": 501, "o": "CREATED_AT"},  # last out of range
    {"l": 5, "b": "bm90IGEgY3Vyc29y", "o": "CREATED_AT"},  # not a cursor
    {"f": 5, "l": 5, "o": "CREATED_AT"},  # both directions
    {"f": 5, "b": "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHwx", "o": "CREATED_AT"},
    {"l": 5, "b": "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHwx", "o": "UPDATED_AT"},  # another order's
    {"f": 5, "w": {"attributes": "gold"}, "o": "CREATED_AT"},
    {"l": 5, "w": {"attributes": ["gold"]}, "o": "CREATED_AT_DESC"},
]


async def test_paging_refusals_answer_the_same(servers):
    for variables in REFUSED:
        assert not await same(servers, PAGE % "id", variables)


fields = st.lists(st.sampled_from(PLAIN), min_size=1, max_size=8, unique=True)
aliases = st.lists(st.sampled_from(["a", "b", "c", "", "", ""]), min_size=8, max_size=8)


def _selection(names: list[str], prefixes: list[str]) -> str:
    return " ".join(
        f"{p}{i}: {n}" if p else n for i, (n, p) in enumerate(zip(names, prefixes, strict=False))
    )


@settings(
    max_examples=int(os.environ.get("PLAN_EXAMPLES", "40")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    names=fields,
    prefixes=aliases,
    number=st.sampled_from(NUMBERS),
    first=st.integers(-1, 40),
    order=st.sampled_from(ORDERS),
    page=st.booleans(),
    back=st.booleans(),
)
async def test_generated_queries_answer_the_same(
    servers, names, prefixes, number, first, order, page, back
):
    selection = _selection(names, prefixes)
    if page:
        await same(servers, PAGE % selection, {"l" if back else "f": first, "o": order})
    else:
        await same(servers, LOOKUP % selection, {"n": number})
