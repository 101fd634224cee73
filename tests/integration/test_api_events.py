"""Query.subscriberEvents: the change feed paged for replay (cursor = sequence)."""

from __future__ import annotations

CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } } }"""
EVENTS = """query($first: Int, $after: String) { subscriberEvents(first: $first, after: $after) {
  edges { cursor node { id sequence type occurredAt source actor
    subscriber { id e164Number status changes } } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


async def test_pages_the_feed_by_sequence(api, other_api):
    made = []
    for n in range(5):
        data = await api.data(CREATE, input={"number": f"+1201555{n:04d}", "firstName": "A"})
        made.append(data["createSubscriber"]["subscriber"]["id"])
    await other_api.data(CREATE, input={"number": "+12015559999"})
    first = (await api.data(EVENTS, first=2))["subscriberEvents"]
    assert [e["node"]["sequence"] for e in first["edges"]] == [1, 2]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": "1",
        "endCursor": "2",
    }
    node = first["edges"][0]["node"]
    assert node["type"] == "subscriber.created" and node["source"] == "api"
    assert node["actor"] == api.key[:12]
    assert node["subscriber"]["id"] == made[0]
    assert node["subscriber"]["e164Number"] == "+12015550000"
    assert node["subscriber"]["status"] == "SUBSCRIBED"
    assert node["subscriber"]["changes"]["firstName"] == "A"
    rest = (await api.data(EVENTS, first=500, after="2"))["subscriberEvents"]
    assert [e["cursor"] for e in rest["edges"]] == ["3", "4", "5"]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    other = (await other_api.data(EVENTS))["subscriberEvents"]
    assert [e["node"]["subscriber"]["e164Number"] for e in other["edges"]] == ["+12015559999"]


async def test_refuses_pages_over_500_and_foreign_cursors(api):
    too_many = await api.gql(EVENTS, first=501)
    assert too_many["errors"][0]["extensions"]["field"] == ["first"]
    bad = await api.gql(EVENTS, after="abc")
    assert bad["errors"][0]["extensions"]["code"] == "PARAMETER_INVALID"
