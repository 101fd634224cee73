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
    *({"number": f"+1201555{n:04d}"} for n in range(302, 330)),
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
PAGE = "query($f: Int, $a: String, $o: SubscriberOrder!) { subscribers(first: $f, after: $a, orderBy: $o) { edges { cursor node { %s } } pageInfo { hasNextPage endCursor } } }"


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


@pytest.mark.parametrize("order", ["CREATED_AT", "UPDATED_AT"])
async def test_pages_and_their_cursors(servers, order):
    query = PAGE % " ".join(PLAIN)
    after = None
    for _ in range(4):
        assert await same(servers, query, {"f": 10, "a": after, "o": order})
        _, clients = servers
        body = {"query": query, "variables": {"f": 10, "a": after, "o": order}}
        after = (await clients[False].post("/graphql", json=body)).json()["data"]["subscribers"][
            "pageInfo"
        ]["endCursor"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PAGE % "id", {"f": 501, "o": "CREATED_AT"}),  # first out of range
        (PAGE % "id", {"f": 5, "a": "bm90IGEgY3Vyc29y", "o": "CREATED_AT"}),  # bad cursor
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
    order=st.sampled_from(["CREATED_AT", "UPDATED_AT"]),
    page=st.booleans(),
)
async def test_generated_queries_answer_the_same(
    servers, names, prefixes, number, first, order, page
):
    selection = _selection(names, prefixes)
    if page:
        await same(servers, PAGE % selection, {"f": first, "o": order})
    else:
        await same(servers, LOOKUP % selection, {"n": number})
