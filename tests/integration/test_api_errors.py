"""The error model over HTTP: request-level codes and statuses, and userErrors as data."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query

from substore.graphql.limits import MAX_ALIASES

CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } created userErrors { code field message reason } } }"""


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


# --- request level -------------------------------------------------------------------


async def test_missing_and_wrong_keys_are_401(http, api):
    for headers in ({}, {"Authorization": "Bearer sk_not-a-key"}, {"Authorization": "Basic x"}):
        response = await http.post(
            "/graphql", json={"query": "{ account { id } }"}, headers=headers
        )
        assert response.status_code == 401
        assert code_of(response.json()) == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_wrong_content_type_is_415(api):
    response = await api.client.post(
        "/graphql",
        content="{ account { id } }",
        headers={**api.headers(), "content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert code_of(response.json()) == "UNSUPPORTED_MEDIA_TYPE"


async def test_malformed_json_and_missing_query_are_400(api):
    headers = {**api.headers(), "content-type": "application/json"}
    response = await api.client.post("/graphql", content=b"{not json", headers=headers)
    assert (response.status_code, code_of(response.json())) == (400, "BAD_REQUEST")
    for body in ({}, {"query": ""}, [], {"query": "{ account { id } }", "variables": [1]}):
        response = await api.post(body)
        assert (response.status_code, code_of(response.json())) == (400, "BAD_REQUEST")


async def test_body_over_the_limit_is_413(api):
    huge = {"query": "{ account { id } }", "variables": {"pad": "x" * (3 * 1024 * 1024)}}
    response = await api.post(huge)
    assert (response.status_code, code_of(response.json())) == (413, "PAYLOAD_TOO_LARGE")


async def test_graphql_syntax_and_validation_errors_are_400(api):
    for query in ("{ account { id ", "{ nope }", "{ subscriber(number: 1.5) { id } }"):
        body = await api.gql(query, status=400)
        assert code_of(body) == "BAD_REQUEST"


async def test_phone_number_variable_of_the_wrong_type_is_400(api):
    body = await api.gql(CREATE, status=400, input={"number": 1.5})
    assert code_of(body) == "BAD_REQUEST"
    assert "PhoneNumber" in body["errors"][0]["message"]


async def test_mutations_over_get_are_405(api):
    response = await api.client.get(
        "/graphql",
        params={
            "query": 'mutation { createSubscriber(input: {number: "2015550100"}) { created } }'
        },
        headers=api.headers(),
    )
    assert (response.status_code, code_of(response.json())) == (405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    count = await api.data("{ account { subscriberCount } }")
    assert count["account"]["subscriberCount"] == 0


async def test_queries_over_get_work(api):
    response = await api.client.get(
        "/graphql", params={"query": "{ account { defaultRegion } }"}, headers=api.headers()
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"account": {"defaultRegion": "US"}}


async def test_browser_get_serves_graphiql_without_a_key(http):
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_unexpected_errors_are_masked_with_a_request_id(api, monkeypatch, caplog):
    from substore import services

    async def broken(*args, **kwargs):
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(services, "save_subscriber", broken)
    body = await api.gql(CREATE, status=500, input={"number": "2015550100"})
    [error] = body["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in error["message"] and request_id in error["message"]
    assert request_id in caplog.text and "secret database detail" in caplog.text


async def test_a_failed_request_changes_nothing(api, monkeypatch):
    from substore import services

    real = services.save_subscriber
    calls = []

    async def second_call_breaks(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return await real(*args, **kwargs)

    monkeypatch.setattr(services, "save_subscriber", second_call_breaks)
    two = """mutation { a: createSubscriber(input: {number: "2015550101"}) { created }
                        b: createSubscriber(input: {number: "2015550102"}) { created } }"""
    await api.gql(two, status=500)
    monkeypatch.setattr(services, "save_subscriber", real)
    count = await api.data("{ account { subscriberCount } }")
    assert count["account"]["subscriberCount"] == 0


async def test_healthz(http):
    response = await http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# --- limits --------------------------------------------------------------------------


async def test_graphiql_introspection_works_under_the_depth_limit(api):
    body = await api.data(get_introspection_query(descriptions=True))
    assert body["__schema"]["queryType"]["name"] == "Query"


def nested(depth: int) -> str:
    query = "name"
    for _ in range(depth):
        query = f"ofType {{ {query} }}"
    return f"{{ __schema {{ types {{ {query} }} }} }}"


async def test_a_query_40_levels_deep_is_refused_introspection_included(api):
    body = await api.gql(nested(40), status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"


async def test_too_many_aliases_is_refused(api):
    aliases = " ".join(f"a{i}: account {{ id }}" for i in range(MAX_ALIASES + 1))
    body = await api.gql(f"{{ {aliases} }}", status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"


async def test_too_many_tokens_is_refused(api):
    fields = " ".join("__typename" for _ in range(25_000))
    body = await api.gql(f"{{ {fields} }}", status=400)
    assert code_of(body) == "QUERY_TOO_COMPLEX"


# --- expected problems as data -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code", "field", "reason"),
    [
        ({}, "PARAMETER_REQUIRED", ["input", "number"], None),
        ({"number": "555-0123"}, "INVALID_PHONENUMBER_FORMAT", ["input", "number"], "LOCAL_ONLY"),
        ({"number": "911"}, "INVALID_PHONENUMBER_FORMAT", ["input", "number"], "SHORT_CODE"),
        (
            {"e164Number": "12015550100"},
            "INVALID_PHONENUMBER_FORMAT",
            ["input", "e164Number"],
            "NOT_E164",
        ),
        ({"number": "2015550100", "email": "x@"}, "INVALID_EMAIL_FORMAT", ["input", "email"], None),
        (
            {"number": "2015550100", "firstName": "x" * 300},
            "PARAMETER_TOO_LONG",
            ["input", "firstName"],
            None,
        ),
        (
            {"number": "2015550100", "attributes": [1, 2]},
            "PARAMETER_INVALID",
            ["input", "attributes"],
            None,
        ),
    ],
)
async def test_bad_input_is_a_user_error_and_stores_nothing(api, fields, code, field, reason):
    result = (await api.data(CREATE, input=fields))["createSubscriber"]
    assert result["subscriber"] is None
    [error] = result["userErrors"]
    assert (error["code"], error["field"], error["reason"]) == (code, field, reason)
    assert error["message"]
    assert (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"] == 0


async def test_update_to_a_taken_number_is_duplicate_resource(api):
    a = (await api.data(CREATE, input={"number": "2015550110"}))["createSubscriber"]["subscriber"]
    await api.data(CREATE, input={"number": "2015550111"})
    query = """mutation($id: ID!) { updateSubscriber(id: $id, input: {number: "2015550111"}) {
        subscriber { id } userErrors { code field } } }"""
    result = (await api.data(query, id=a["id"]))["updateSubscriber"]
    assert result == {
        "subscriber": None,
        "userErrors": [{"code": "DUPLICATE_RESOURCE", "field": ["input", "number"]}],
    }


async def test_bad_region_is_invalid_countrycode_format(api):
    query = """mutation { updateAccount(input: {defaultRegion: "Germany"}) {
        account { defaultRegion } userErrors { code field } } }"""
    result = (await api.data(query))["updateAccount"]
    assert result["userErrors"] == [
        {"code": "INVALID_COUNTRYCODE_FORMAT", "field": ["input", "defaultRegion"]}
    ]


async def test_query_argument_problems_carry_codes(api):
    cases = [
        (
            '{ subscribers(filter: {createdAfter: "2026-02-01T00:00:00Z", createdBefore: "2026-01-01T00:00:00Z"}) { totalCount } }',
            "INVALID_DATE_RANGE",
        ),
        ("{ subscribers(first: 501) { totalCount } }", "PARAMETER_INVALID"),
        ('{ subscribers(after: "garbage") { totalCount } }', "PARAMETER_INVALID"),
        (
            '{ subscriber(id: "x", number: "2015550100") { id } }',
            "ONE_OF_SEVERAL_PARAMETERS_REQUIRED",
        ),
        ("{ subscriber { id } }", "ONE_OF_SEVERAL_PARAMETERS_REQUIRED"),
    ]
    for query, code in cases:
        body = await api.gql(query)
        assert code_of(body) == code, query


# --- answers that say what is wrong ---------------------------------------------------


async def test_a_malformed_id_is_not_found_with_the_id_as_given(api):
    for mutation in (
        'mutation { deleteSubscriber(id: "garbage") { userErrors { code field message } } }',
        'mutation { updateSubscriber(id: "garbage", input: {firstName: "A"}) '
        "{ userErrors { code field message } } }",
    ):
        body = await api.data(mutation)
        [error] = next(iter(body.values()))["userErrors"]
        assert (error["code"], error["field"]) == ("RECORD_NOT_FOUND", ["id"])
        assert "'garbage'" in error["message"]


async def test_looking_up_a_number_that_cannot_be_valid_says_why(api):
    body = await api.gql('{ subscriber(number: "555-1234") { id } }')
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PHONENUMBER_FORMAT"
    assert error["extensions"]["reason"] == "LOCAL_ONLY"
    assert body["data"]["subscriber"] is None
    valid = await api.data('{ subscriber(number: "(201) 555-0199") { id } }')
    assert valid == {"subscriber": None}  # valid, not stored: null, no error
