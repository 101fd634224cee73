"""subscribers(filter: {attributes}) over HTTP: jsonb containment, with the other
filters, orders and totalCount, and the values it refuses."""

from __future__ import annotations

import json

import pytest

CREATE = """mutation($input: SubscriberInput!) {
  createSubscriber(input: $input) { subscriber { id } userErrors { code } } }"""
FIND = """query($f: SubscriberFilter, $o: SubscriberOrder! = CREATED_AT, $last: Int) {
  subscribers(filter: $f, orderBy: $o, last: $last) {
    totalCount edges { node { e164Number } } } }"""

PEOPLE = {
    "+12015550800": {
        "plan": "gold",
        "address": {"city": "Paris", "zip": "75001"},
        "tags": ["vip", "beta"],
        "visits": 3,
    },
    "+12015550801": {"plan": "gold", "tags": ["beta"], "optIn": True},
    "+12015550802": {"plan": "silver", "address": {"city": "Paris"}, "visits": 3.0},
    "+12015550803": {},
    "+12015550804": {"plan": None, "nested": {"deeper": {"list": [{"k": 1}, {"k": 2}]}}},
}
UNSUBSCRIBED = "+12015550801"


@pytest.fixture
async def people(api):
    for e164, attributes in PEOPLE.items():
        status = "UNSUBSCRIBED" if e164 == UNSUBSCRIBED else "SUBSCRIBED"
        given = {"e164Number": e164, "attributes": attributes, "status": status}
        assert (await api.data(CREATE, input=given))["createSubscriber"]["subscriber"]


async def found(api, **filter) -> list[str]:
    body = (await api.data(FIND, f=filter))["subscribers"]
    numbers = [edge["node"]["e164Number"] for edge in body["edges"]]
    assert body["totalCount"] == len(numbers)
    return numbers


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"plan": "gold"}, ["+12015550800", "+12015550801"]),
        ({"address": {"city": "Paris"}}, ["+12015550800", "+12015550802"]),  # nested
        ({"address": {"city": "Paris", "zip": "75001"}}, ["+12015550800"]),
        ({"tags": ["beta"]}, ["+12015550800", "+12015550801"]),  # an element of the array
        ({"tags": ["beta", "vip"]}, ["+12015550800"]),  # every element, in any order
        ({"tags": []}, ["+12015550800", "+12015550801"]),  # any array at all
        ({"tags": "vip"}, []),  # a string is not an array holding it
        ({"visits": 3}, ["+12015550800", "+12015550802"]),  # 3 and 3.0 are one number
        ({"optIn": True}, ["+12015550801"]),
        ({"plan": None}, ["+12015550804"]),  # null is a value, not "no such key"
        ({"nested": {"deeper": {"list": [{"k": 2}]}}}, ["+12015550804"]),
        ({"plan": "bronze"}, []),
        ({"address": {"city": "paris"}}, []),  # case matters
        ({}, list(PEOPLE)),  # contained in every object
    ],
)
async def test_containment(api, people, attributes, expected):
    assert await found(api, attributes=attributes) == expected


async def test_with_the_other_filters_orders_and_pages(api, people, other_api):
    gold = {"plan": "gold"}
    assert await found(api, attributes=gold, status="SUBSCRIBED") == ["+12015550800"]
    assert await found(api, attributes=gold, status="UNSUBSCRIBED") == [UNSUBSCRIBED]
    assert await found(api, attributes=gold, search="415") == []
    assert await found(api, attributes=None) == list(PEOPLE)
    newest = await api.data(FIND, f={"attributes": {"visits": 3}}, o="CREATED_AT_DESC", last=1)
    assert newest["subscribers"]["totalCount"] == 2
    assert [e["node"]["e164Number"] for e in newest["subscribers"]["edges"]] == ["+12015550800"]
    assert await found(other_api, attributes=gold) == []  # another account's own rows only


async def test_a_literal_in_the_document(api, people):
    query = '{ subscribers(filter: {attributes: {address: {city: "Paris"}, visits: 3}}) { totalCount } }'
    assert (await api.data(query))["subscribers"]["totalCount"] == 2


@pytest.mark.parametrize("attributes", ["gold", 3, ["gold"], True])
async def test_what_is_not_an_object_is_refused(api, attributes):
    body = await api.gql(FIND, f={"attributes": attributes})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "PARAMETER_INVALID", error
    assert error["extensions"]["field"] == ["filter", "attributes"]
    assert error["message"].startswith("filter.attributes must be a JSON object")


async def test_a_literal_that_is_not_an_object_is_refused(api):
    body = await api.gql('{ subscribers(filter: {attributes: "gold"}) { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "PARAMETER_INVALID"
    assert body["errors"][0]["extensions"]["field"] == ["filter", "attributes"]


def _deep(levels: int) -> dict:
    deep: dict = {}
    for _ in range(levels):
        deep = {"a": deep}
    return deep


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ('{"f": {"attributes": {"a": "nul \\u0000"}}}', "variables.f.attributes.a contains a NUL"),
        ('{"f": {"attributes": {"n": NaN}}}', "variables.f.attributes.n is nan"),
        (json.dumps({"f": {"attributes": _deep(40)}}), "is nested more than 32 levels deep"),
    ],
)
async def test_values_jsonb_cannot_hold_are_refused_at_the_edge(api, variables, problem):
    """As in any variable: 400 naming where, never a 500 from the database."""
    body = f'{{"query": {json.dumps(FIND)}, "variables": {variables}}}'
    headers = {**api.headers(), "Content-Type": "application/json"}
    response = await api.client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert problem in error["message"], error
