"""Nesting: input nested past a limit is refused (400) or that row's error, never a 500,
and the answer does not depend on the interpreter's recursion limit. One test per finding
of the recursion issue; bodies are written as text (json.dumps would recurse)."""

from __future__ import annotations

import json
import sys

import pytest
from tests.api import Api
from tests.integration.test_api_hostile import IMPORT, code_of, count, raw
from tests.unit.test_limits import chain

from substore.graphql import limits
from substore.text import MAX_JSON_DEPTH

# The same import, but not the lone importSubscribers that graphql/rows.py reads itself:
# graphql-core and strawberry coerce its rows.
IMPORT_COERCED = IMPORT.replace("!]!) {", "!]!) { __typename")
CREATE = """mutation($i: SubscriberInput!) {
  createSubscriber(input: $i) { userErrors { code field message } } }"""


def nested(levels: int) -> str:
    """JSON text of an object `levels` deep ({} is one level)."""
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def body(query: str, variables: str) -> bytes:
    return f'{{"query": {json.dumps(query)}, "variables": {variables}}}'.encode()


async def import_rows(api, query: str, attributes: str) -> dict:
    rows = f'[{{"number": "2015550100"}}, {{"number": "2015550101", "attributes": {attributes}}}]'
    response = await raw(api, body(query, f'{{"rows": {rows}}}'))
    assert response.status_code == 200, response.text
    return response.json()["data"]["importSubscribers"]


@pytest.mark.parametrize("query", [IMPORT, IMPORT_COERCED], ids=["read-rows", "coerced-rows"])
@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500, 50_000])
async def test_a_row_nested_past_the_limit_is_that_rows_error_and_the_other_is_stored(
    api, query, levels
):
    """500 levels used to fail pickling the batch for the normalisers: a 500, nothing stored,
    and `substore import` retried it until it gave up, then met it again on --resume."""
    payload = await import_rows(api, query, nested(levels))
    assert (payload["createdCount"], payload["failedCount"]) == (1, 1)
    [error] = payload["results"][1]["userErrors"]
    assert (error["code"], error["field"]) == ("PARAMETER_INVALID", ["input", "1", "attributes"])
    assert error["message"].endswith(
        f"is nested more than {MAX_JSON_DEPTH} levels deep: flatten it."
    )
    assert await count(api) == 1


async def test_a_row_nested_to_the_limit_is_stored(api):
    payload = await import_rows(api, IMPORT, nested(MAX_JSON_DEPTH))
    assert (payload["createdCount"], payload["failedCount"]) == (2, 0)


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 5000])
async def test_one_subscriber_nested_past_the_limit_is_its_error(api, levels):
    variables = f'{{"i": {{"number": "2015550102", "attributes": {nested(levels)}}}}}'
    response = await raw(api, body(CREATE, variables))
    [error] = response.json()["data"]["createSubscriber"]["userErrors"]
    assert error["field"] == ["input", "attributes"]
    assert await count(api) == 0


@pytest.mark.parametrize("keyed", [True, False], ids=["with-key", "without-key"])
@pytest.mark.parametrize("length", [limits.MAX_FRAGMENT_DEPTH + 1, 500, 2000])
async def test_a_chain_of_fragments_is_too_complex(api, keyed, length):
    """500 used to exhaust the stack while the document was measured (a 500, with or
    without a key); 200-450 were graphql-core's "Validation aborted"."""
    if not keyed:  # refused before the body is read: never parsed, never measured
        body = await Api(api.client, None).gql(chain(length), status=401)
        assert code_of(body) == "UNAUTHENTICATED"
        return
    body = await api.gql(chain(length), status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"
    assert f"fragments {length} levels deep" in body["errors"][0]["message"]
    assert (await api.data(chain(limits.MAX_FRAGMENT_DEPTH)))["__typename"] == "Query"


def literal(levels: int, opener: str = "{a: ", closer: str = "}") -> str:
    return opener * levels + "1" + closer * levels


@pytest.mark.parametrize(
    "value",
    [literal(MAX_JSON_DEPTH + 2), literal(5000), literal(5000, "[", "]")],
    ids=["just-past", "object-5000", "list-5000"],
)
async def test_a_literal_nested_too_deep_is_too_complex(api, value):
    query = f"""mutation {{ createSubscriber(input: {{number: "2015550103",
      attributes: {value}}}) {{ created }} }}"""
    body = await api.gql(query, status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"
    message = body["errors"][0]["message"]  # past 200 levels, the parser's own
    assert f"the limit is {limits.MAX_LITERAL_DEPTH}" in message or "too deeply" in message
    assert await count(api) == 0


async def test_a_literal_within_the_limit_reaches_the_row_check(api):
    attributes = literal(MAX_JSON_DEPTH + 1)  # inside the row's object: 34, the limit
    query = f"""mutation {{ createSubscriber(input: {{number: "2015550104",
      attributes: {attributes}}}) {{ userErrors {{ field message }} }} }}"""
    [error] = (await api.data(query))["createSubscriber"]["userErrors"]
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in error["message"]


@pytest.mark.parametrize(
    "query",
    [
        "{" + "account{" * 5000 + "id" + "}" * 5001,
        "{" + "... on Query{" * 5000 + "__typename" + "}" * 5001,
        "query($v: " + "[" * 5000 + "Int" + "]" * 5000 + ") { __typename }",
        "{ account(x: " + "[" * 5000 + "]" * 5000 + ") { id } }",
    ],
    ids=["selections", "inline-fragments", "list-type", "list-value"],
)
async def test_documents_too_deep_to_parse_are_too_complex(api, query):
    """graphql-core's parser stops at 200 levels (its own count, not the stack's)."""
    body = await api.gql(query, status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"


async def test_deep_variables_in_a_query_string_are_refused(api):
    query = "query($o: ImportOptions) { account { id } }"
    deep = "[" * 3000 + "]" * 3000  # past json.loads' recursion, within httpx's URL
    params = {"query": query, "variables": '{"o": ' + deep + "}"}
    response = await api.client.get("/graphql", params=params, headers=api.headers())
    assert response.status_code == 400
    assert "nested more than 32 levels deep" in response.json()["errors"][0]["message"]


async def test_a_utf16_body_is_measured_as_its_text(api):
    content = json.dumps({"query": "{ account { id } }"}).encode("utf-16")
    assert (await raw(api, content)).json()["data"]["account"]["id"]


@pytest.mark.parametrize("recursion_limit", [250, 20_000])
async def test_the_answers_do_not_depend_on_the_recursion_limit(api, recursion_limit):
    """With far less stack than usual, or far more, the same answers: no walk of the
    input goes deeper than a limit of ours."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit)
    try:
        payload = await import_rows(api, IMPORT, nested(50_000))
        fragments = await api.gql(chain(3000), status=400)
        literals = await api.gql("{ account(x: " + literal(3000) + ") { id } }", status=400)
    finally:
        sys.setrecursionlimit(before)
    assert (payload["createdCount"], payload["failedCount"]) == (1, 1)
    assert code_of(fragments) == code_of(literals) == "QUERY_TOO_COMPLEX"
