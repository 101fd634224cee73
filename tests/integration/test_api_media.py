"""GraphQL over HTTP through the app: the media type Accept asks for, and the statuses of
each (README "Errors"). graphql-http's own audit runs in tests/e2e/test_graphql_over_http.py;
these pin each item it found, and ours around it, one by one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.api import Api

GR = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = "{ __typename }"
# A document that does not parse, one that does not validate, variables that do not coerce,
# and one over a limit: none of them runs.
FAILED_DOCUMENTS = [
    ({"query": "{"}, "BAD_REQUEST"),
    ({"query": ""}, "BAD_REQUEST"),
    ({"query": "{ noSuchField }"}, "BAD_REQUEST"),
    ({"query": "query Q($id: ID!) { __typename }", "variables": {"id": None}}, "BAD_REQUEST"),
    ({"query": "query Q { __typename }", "operationName": "Other"}, "BAD_REQUEST"),
    ({"query": "query A { __typename } query B { __typename }"}, "BAD_REQUEST"),
    (
        {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"},
        "QUERY_TOO_COMPLEX",
    ),
]
# Parameters that make no well-formed GraphQL-over-HTTP request: 400 whatever Accept says.
MALFORMED = [
    {"notquery": TYPENAME},
    {"query": {"obj": "ect"}},
    {"query": 0},
    {"query": ["array"]},
    {"query": TYPENAME, "operationName": 0},
    {"query": TYPENAME, "operationName": False},
    {"query": TYPENAME, "operationName": {"obj": "ect"}},
    {"query": TYPENAME, "variables": "string"},
    {"query": TYPENAME, "variables": 0},
    {"query": TYPENAME, "variables": False},
    {"query": TYPENAME, "variables": ["array"]},
    {"query": TYPENAME, "extensions": "string"},
    {"query": TYPENAME, "extensions": 0},
    {"query": TYPENAME, "extensions": False},
    {"query": TYPENAME, "extensions": ["array"]},
    ["array"],
]


async def post(api: Api, body: Any, accept: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.key}"}
    if accept is not None:
        headers["Accept"] = accept
    return await api.client.post("/graphql", json=body, headers=headers)


def media_of(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


# --- negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GR, GR),
        (JSON, JSON),
        (None, JSON),  # httpx sends */*
        ("*/*", JSON),
        (f"{GR}, {JSON};q=0.9", GR),
        (f"{GR};q=0.5, {JSON}", JSON),
    ],
)
async def test_the_answer_is_in_the_media_type_accept_prefers(api, accept, media):
    response = await post(api, {"query": TYPENAME}, accept)
    assert (response.status_code, media_of(response)) == (200, media)
    assert response.headers["content-type"].endswith("charset=utf-8")
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_no_accept_header_at_all_is_json(api):
    request = api.client.build_request("POST", "/graphql", json={"query": TYPENAME})
    request.headers["Authorization"] = f"Bearer {api.key}"
    del request.headers["accept"]
    response = await api.client.send(request)
    assert (response.status_code, media_of(response)) == (200, JSON)


async def test_an_accept_that_takes_neither_is_406_after_the_key(api, http):
    response = await post(api, {"query": TYPENAME}, "text/plain")
    assert (response.status_code, code_of(response), media_of(response)) == (
        406,
        "NOT_ACCEPTABLE",
        JSON,
    )
    assert GR in response.json()["errors"][0]["message"]
    anonymous = await http.post("/graphql", json={"query": TYPENAME}, headers={"Accept": "x/y"})
    assert anonymous.status_code == 401


# --- documents that do not run: 400 in graphql-response+json, 200 in application/json ----


@pytest.mark.parametrize(("body", "code"), FAILED_DOCUMENTS)
async def test_a_document_that_fails_is_400_in_graphql_response_json(api, body, code):
    response = await post(api, body, GR)
    assert (response.status_code, media_of(response), code_of(response)) == (400, GR, code)
    assert "data" not in response.json()  # nothing ran


@pytest.mark.parametrize(("body", "code"), FAILED_DOCUMENTS)
@pytest.mark.parametrize("accept", [JSON, "*/*"])
async def test_a_document_that_fails_is_200_in_json_with_its_code(api, body, code, accept):
    response = await post(api, body, accept)
    assert (response.status_code, media_of(response), code_of(response)) == (200, JSON, code)
    assert "data" not in response.json()


async def test_a_document_over_get_fails_the_same_way(api):
    for accept, status in ((GR, 400), (JSON, 200)):
        headers = {**api.headers(), "Accept": accept}
        response = await api.client.get("/graphql", params={"query": "{"}, headers=headers)
        assert (response.status_code, code_of(response)) == (status, "BAD_REQUEST")


# --- requests that are not well-formed: 400 under both ---------------------------------


@pytest.mark.parametrize("body", MALFORMED)
@pytest.mark.parametrize("accept", [GR, JSON])
async def test_malformed_parameters_are_400_whatever_the_media_type(api, body, accept):
    response = await post(api, body, accept)
    assert (response.status_code, code_of(response), media_of(response)) == (
        400,
        "BAD_REQUEST",
        accept,
    )


@pytest.mark.parametrize("accept", [GR, JSON])
async def test_bad_json_is_400_whatever_the_media_type(api, accept):
    headers = {**api.headers(), "Accept": accept, "Content-Type": JSON}
    response = await api.client.post("/graphql", content=b'{ "not a JSON', headers=headers)
    assert (response.status_code, code_of(response)) == (400, "BAD_REQUEST")


@pytest.mark.parametrize("parameter", ["variables", "operationName", "extensions"])
async def test_null_parameters_and_object_extensions_are_fine(api, parameter):
    for value in (None, {"some": "value"} if parameter == "extensions" else None):
        response = await post(api, {"query": TYPENAME, parameter: value}, JSON)
        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_extensions_must_be_a_json_object(api):
    for extensions, status in (('{"some": "value"}', 200), ("", 200), ("[1]", 400), ("0", 400)):
        params = {"query": TYPENAME, "extensions": extensions}
        response = await api.client.get("/graphql", params=params, headers=api.headers())
        assert response.status_code == status, extensions


async def test_get_variables_as_json_work_in_json_too(api):
    params = {
        "query": "query T($n: String!) { __type(name: $n) { name } }",
        "variables": '{"n": "Query"}',
    }
    response = await api.client.get(
        "/graphql", params=params, headers={**api.headers(), "Accept": JSON}
    )
    assert response.json() == {"data": {"__type": {"name": "Query"}}}


# --- the other refusals keep their status under both ------------------------------------


@pytest.mark.parametrize("accept", [GR, JSON])
async def test_a_mutation_over_get_is_405_under_both(api, accept):
    params = {"query": "mutation { __typename }"}
    response = await api.client.get(
        "/graphql", params=params, headers={**api.headers(), "Accept": accept}
    )
    assert (response.status_code, code_of(response)) == (405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("accept", [GR, JSON])
async def test_a_read_key_mutating_is_403_under_both_and_without_data(read_api, accept):
    mutation = 'mutation { createSubscriber(input: {number: "2015550100"}) { created } }'
    response = await post(read_api, {"query": mutation}, accept)
    assert (response.status_code, code_of(response), media_of(response)) == (
        403,
        "FORBIDDEN",
        accept,
    )
    assert "data" not in response.json()


@pytest.mark.parametrize("accept", [GR, JSON])
async def test_415_413_and_401_keep_their_status_under_both(api, http, accept):
    headers = {**api.headers(), "Accept": accept}
    wrong_type = await api.client.post(
        "/graphql", content=TYPENAME, headers={**headers, "Content-Type": "text/plain"}
    )
    missing_type = await api.client.post("/graphql", content=b"{}", headers=headers)
    huge = {"query": TYPENAME, "variables": {"pad": "x" * (3 * 1024 * 1024)}}
    too_large = await post(api, huge, accept)
    anonymous = await http.post("/graphql", json={"query": TYPENAME}, headers={"Accept": accept})
    statuses = [r.status_code for r in (wrong_type, missing_type, too_large, anonymous)]
    assert statuses == [415, 415, 413, 401]
    assert {media_of(r) for r in (wrong_type, too_large, anonymous)} == {accept}


async def test_an_unexpected_error_drops_partial_data(api, monkeypatch):
    from substore import services

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "find_subscriber", broken)
    query = '{ __typename subscriber(number: "2015550100") { id } }'  # a nullable field
    response = await post(api, {"query": query}, GR)
    assert (response.status_code, code_of(response)) == (500, "INTERNAL_SERVER_ERROR")
    assert "data" not in response.json()  # a 5xx says nothing ran: no partial data either
