"""Import rows read before execution (graphql/rows.py) give exactly what graphql-core's
coercion and strawberry's conversion give: generated rows go, as a dry run, to a server
that reads them itself and to one that leaves them to graphql-core, and the two answers
must be the same (status, data, errors); and which calls are read that way."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.support import asgi_client

from substore import auth, services
from substore.config import Settings
from substore.graphql.rows import ImportRows
from substore.graphql.schema import build_schema
from substore.web.app import create_app

ISSUE = "{ code field message reason }"
IMPORT = (
    "mutation($rows: [SubscriberInput!]!, $options: ImportOptions) {"
    " importSubscribers(input: $rows, options: $options) {"
    " createdCount updatedCount mergedCount failedCount skippedCount keptOptedOutCount"
    f" userErrors {ISSUE} results {{ index status e164Number userErrors {ISSUE}"
    f" warnings {ISSUE} }} }} }}"
)


@pytest.fixture
async def servers(engine, account):
    async with engine.begin() as conn:
        key = (await auth.create_key(conn, account.id, "write")).secret
    headers = {"Authorization": f"Bearer {key}"}
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            on: await stack.enter_async_context(
                asgi_client(
                    create_app(Settings(rate_limit_per_second=0, plan_cache=on), engine=engine),
                    headers=headers,
                )
            )
            for on in (True, False)
        }
        yield clients


async def answers(clients, rows, options=None) -> list:
    body = {"query": IMPORT, "variables": {"rows": rows, "options": options}}
    out = []
    for on in (True, False):
        response = await clients[on].post("/graphql", json=body)
        answer = response.json()
        for error in answer.get("errors", []):
            error.get("extensions", {}).pop("requestId", None)
        out.append((response.status_code, answer))
    return out


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
texts = st.none() | st.text(max_size=12) | st.sampled_from(["", "  ", "a@b.co", "x\x00y"])
FIELDS = {
    "number": st.none()
    | st.sampled_from(["+12015550300", "(201) 555-0301", "12", "020 7946 0958", "n/a"])
    | st.integers(-(10**16), 10**16)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False),
    "e164Number": texts | st.sampled_from(["+12015550300", "+4420"]) | st.integers(),
    "firstName": texts | st.integers(),
    "lastName": texts,
    "email": texts,
    "attributes": json_values,
    "status": st.sampled_from(["SUBSCRIBED", "UNSUBSCRIBED", "subscribed", None, 1]),
    "consentedAt": st.sampled_from(
        [
            None,
            "2026-01-02T03:04:05Z",
            "2020-01-01T00:00:00",
            "2026-01-02",
            "soon",
            5,
            "2999-01-01T00:00:00Z",
        ]
    ),
    "consentSource": texts,
    "defaultRegion": st.sampled_from([None, "", "GB", "gbr", "United Kingdom", "Narnia", 3]),
}
# Every field with a value that changes the answer, valid and not.
EVERY_FIELD = [
    {"number": "020 7946 0958", "defaultRegion": "GB", "firstName": "Ada", "lastName": " Lo "},
    {"number": "020 7946 0958", "defaultRegion": "Narnia"},
    {"number": 2015550302, "email": "a@b.co", "attributes": {"tier": "gold"}},
    {"number": "(201) 555-0301", "email": "not an email", "firstName": "x" * 300},
    {"e164Number": "+12015550300", "number": "201 555 0399", "status": "UNSUBSCRIBED"},
    {"e164Number": "+12015550300", "status": "SUBSCRIBED", "consentedAt": "2026-01-02T03:04:05Z"},
    {"number": "+12015550303", "consentedAt": "2999-01-01T00:00:00Z", "consentSource": "web"},
    {"number": "+12015550304", "status": None, "consentSource": None, "attributes": None},
]
rows = st.fixed_dictionaries({}, optional={**FIELDS, "bogus": st.just(1)})


@settings(
    max_examples=int(os.environ.get("ROWS_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
)
@example(batch=EVERY_FIELD, odd=None, drop=False)
@example(batch=EVERY_FIELD, odd=None, drop=True)
@given(
    batch=st.lists(rows, min_size=1, max_size=6),
    odd=st.sampled_from([None, None, None, "row", 7, [], {"bogus": 1}]),
    drop=st.booleans(),
)
async def test_generated_rows_answer_the_same(servers, batch, odd, drop):
    if odd is not None:
        batch = [*batch, odd]
    options = {"dryRun": True, "invalidFields": "DROP_FIELD" if drop else "REJECT_ROW"}
    lean, plain = await answers(servers, batch, options)
    assert lean == plain


async def test_a_stored_import_answers_the_same(servers):
    """Not a dry run: the first server creates, the second finds them all there."""
    batch = [
        {"number": "+12015550400", "firstName": "Ada", "status": "UNSUBSCRIBED"},
        {"number": "(201) 555-0401", "consentedAt": "2026-01-02T03:04:05Z", "status": "SUBSCRIBED"},
        {"e164Number": "+12015550400", "number": "201 555 0499", "attributes": {"a": [1]}},
        {"number": 2015550402, "defaultRegion": "United States"},
        {"number": "12"},
    ]
    body = {"query": IMPORT, "variables": {"rows": batch}}
    first = (await servers[True].post("/graphql", json=body)).json()["data"]["importSubscribers"]
    second = (await servers[False].post("/graphql", json=body)).json()["data"]["importSubscribers"]
    assert [r.pop("status") for r in first["results"]] == [
        "CREATED",
        "CREATED",
        "MERGED",
        "CREATED",
        "FAILED",
    ]
    assert [r.pop("status") for r in second["results"]] == [
        "UPDATED",
        "UPDATED",
        "MERGED",
        "UPDATED",
        "FAILED",
    ]
    assert first["results"] == second["results"]
    assert first["results"][2]["warnings"][0]["reason"] == "NUMBER_MISMATCH"


@pytest.fixture(scope="module")
def reader():
    return ImportRows(build_schema())


async def test_clean_rows_become_service_inputs(reader):
    batch = [
        {"number": "(201) 555-0301", "firstName": "Ada", "status": "UNSUBSCRIBED"},
        {"e164Number": "+12015550300", "number": None, "consentedAt": "2026-01-02T03:04:05Z"},
        {"number": 2015550302, "defaultRegion": "", "attributes": {"n": [1]}},
        {"number": "020 7946 0958", "defaultRegion": "GB", "email": None, "lastName": "Lo"},
    ]
    lean = await reader.take(IMPORT, None, {"rows": batch, "options": None})
    assert lean.variable == "rows"
    assert lean.rows == [
        services.SubscriberInput(
            "(201) 555-0301", None, {"first_name": "Ada", "status": "UNSUBSCRIBED"}
        ),
        services.SubscriberInput(
            None, "+12015550300", {"consented_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
        ),
        services.SubscriberInput(2015550302, None, {"attributes": {"n": [1]}}, None),
        services.SubscriberInput("020 7946 0958", None, {"last_name": "Lo", "email": None}, "GB"),
    ]


@pytest.mark.parametrize(
    "row",
    [
        {"number": "1", "bogus": 1},  # a field the type does not have
        {"number": 12.5},  # the scalar refuses it
        {"status": "subscribed"},  # not an enum name
        {"consentedAt": "soon"},
        "+12015550300",  # not an object
        None,
    ],
)
async def test_rows_graphql_core_must_report_are_left_to_it(reader, row):
    assert await reader.take(IMPORT, None, {"rows": [{"number": "+12015550300"}, row]}) is None


@pytest.mark.parametrize(
    "query",
    [
        # rows written in the document, not a variable
        'mutation { importSubscribers(input: [{number: "1"}]) { createdCount } }',
        # two root fields
        "mutation($rows: [SubscriberInput!]!) { a: importSubscribers(input: $rows) { createdCount }"
        " b: importSubscribers(input: $rows) { createdCount } }",
        # a list type graphql-core coerces differently (null items)
        "mutation($rows: [SubscriberInput]!) { importSubscribers(input: $rows) { createdCount } }",
        # a default the variable falls back to
        "mutation($rows: [SubscriberInput!]! = []) { importSubscribers(input: $rows) { createdCount } }",
        "mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) @skip(if: false) { createdCount } }",
        "query($rows: [SubscriberInput!]!) { subscribers(first: 1) { totalCount } }",
    ],
)
async def test_calls_other_than_a_lone_import_of_a_variable_are_left_to_graphql_core(reader, query):
    assert await reader.take(query, None, {"rows": [{"number": "+12015550300"}]}) is None


async def test_a_row_list_that_is_not_a_list_is_left_to_graphql_core(reader):
    # graphql-core reads a lone object as a list of one
    assert await reader.take(IMPORT, None, {"rows": {"number": "+12015550300"}}) is None
