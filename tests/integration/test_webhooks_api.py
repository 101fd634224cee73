"""Webhook endpoints through the API: secrets shown once, refused URLs as userErrors, the
write scope, deliveries and redelivery. No dispatcher runs here: nothing is sent."""

from __future__ import annotations

import pytest
from tests.api import Api
from tests.support import asgi_client
from tests.webhooks import CREATE_ENDPOINT

from substore.config import Settings
from substore.web.app import create_app

UPDATE = """mutation($id: ID!, $input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(id: $id, input: $input) {
    endpoint { id events enabled } secret userErrors { code field message } } }"""
DELETE = """mutation($id: ID!) { deleteWebhookEndpoint(id: $id) {
  deletedEndpointId userErrors { code } } }"""
LIST = "{ webhookEndpoints { id url events enabled deliveredSequence } }"
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id, first: 5) {
  edges { node { webhookId status attempts } } pageInfo { hasNextPage } } }"""
REDELIVER = """mutation($id: ID!, $from: Int!) { redeliverWebhookEvents(endpointId: $id, fromSequence: $from) {
  endpoint { deliveredSequence } userErrors { code field message } } }"""
CREATE_SUBSCRIBER = 'mutation { createSubscriber(input: {number: "+12015550100"}) { created } }'


@pytest.fixture
async def dev_api(engine, api) -> Api:
    """The account's write key on an app that allows loopback targets (development)."""
    settings = Settings(auth_cache_seconds=0, rate_limit_per_second=0, webhook_allow_private=True)
    async with asgi_client(create_app(settings, engine=engine)) as client:
        yield Api(client, api.key)


async def create(api: Api, url: str, **input) -> dict:
    return (await api.data(CREATE_ENDPOINT, input={"url": url, **input}))["createWebhookEndpoint"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://example.com/hook", "must use https"),
        ("https://localhost/hook", "loopback"),
        ("https://10.0.0.7/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://[::1]:8443/", "loopback"),
        ("https://[64:ff9b::a9fe:a9fe]/", "metadata"),  # NAT64 of 169.254.169.254
        ("https://[2002:7f00:1::1]/", "loopback"),  # 6to4 of 127.0.0.1
        ("not a url", "https"),
    ],
)
async def test_refused_urls_are_user_errors_and_nothing_is_stored(api, url, says):
    made = await create(api, url)
    assert made["endpoint"] is None and made["secret"] is None
    [problem] = made["userErrors"]
    assert problem["code"] == "PARAMETER_INVALID" and problem["field"] == ["input", "url"]
    assert says in problem["message"]
    assert (await api.data(LIST))["webhookEndpoints"] == []


async def test_unknown_event_types_are_named(api):
    made = await create(api, "https://93.184.215.14/hook", events=["subscriber.created", "x"])
    assert made["endpoint"] is None
    [problem] = made["userErrors"]
    assert problem["field"] == ["input", "events", "1"] and "'x'" in problem["message"]


async def test_a_refused_url_and_unknown_events_are_both_named(api):
    """The URL is checked before the service's database work; its problem still comes
    back beside the others, on its field."""
    made = await create(api, "https://10.0.0.7/hook", events=["x"])
    fields = [problem["field"] for problem in made["userErrors"]]
    assert made["endpoint"] is None and fields == [["input", "events", "0"], ["input", "url"]]
    assert (await api.data(LIST))["webhookEndpoints"] == []


async def test_an_update_to_a_refused_url_is_a_user_error_and_changes_nothing(dev_api):
    made = await create(dev_api, "http://127.0.0.1:9/hook")
    endpoint_id = made["endpoint"]["id"]
    for url in ("https://169.254.169.254/latest", "https://[64:ff9b:1::a9fe:a9fe]/"):
        # Metadata addresses stay refused with SUBSTORE_WEBHOOK_ALLOW_PRIVATE.
        changed = await dev_api.data(UPDATE, id=endpoint_id, input={"url": url, "enabled": False})
        result = changed["updateWebhookEndpoint"]
        assert result["endpoint"] is None
        [problem] = result["userErrors"]
        assert problem["code"] == "PARAMETER_INVALID" and problem["field"] == ["input", "url"]
        assert "metadata" in problem["message"]
    [listed] = (await dev_api.data(LIST))["webhookEndpoints"]
    assert listed["url"] == "http://127.0.0.1:9/hook" and listed["enabled"] is True
    moved = await dev_api.data(UPDATE, id=endpoint_id, input={"url": " http://[::1]:9/x "})
    assert moved["updateWebhookEndpoint"]["userErrors"] == []
    [listed] = (await dev_api.data(LIST))["webhookEndpoints"]
    assert listed["url"] == "http://[::1]:9/x"
    await dev_api.data(DELETE, id=endpoint_id)


async def test_an_endpoint_shows_its_secret_once_and_rotates_it(dev_api):
    await dev_api.data(CREATE_SUBSCRIBER)
    made = await create(dev_api, "http://127.0.0.1:9/hook", events=["subscriber.created"])
    endpoint, secret = made["endpoint"], made["secret"]
    assert secret.startswith("whsec_") and made["userErrors"] == []
    # It starts at the account's newest event: what happens from now on.
    assert endpoint["deliveredSequence"] == 1 and endpoint["events"] == ["subscriber.created"]
    listed = (await dev_api.data(LIST))["webhookEndpoints"]
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    rotated = await dev_api.data(UPDATE, id=endpoint["id"], input={"rotateSecret": True})
    new = rotated["updateWebhookEndpoint"]["secret"]
    assert new.startswith("whsec_") and new != secret
    changed = await dev_api.data(
        UPDATE, id=endpoint["id"], input={"enabled": False, "events": None}
    )
    after = changed["updateWebhookEndpoint"]
    assert after["secret"] is None and after["endpoint"]["enabled"] is False
    assert len(after["endpoint"]["events"]) == 5
    gone = await dev_api.data(DELETE, id=endpoint["id"])
    assert gone["deleteWebhookEndpoint"] == {"deletedEndpointId": endpoint["id"], "userErrors": []}
    again = await dev_api.data(DELETE, id=endpoint["id"])
    assert again["deleteWebhookEndpoint"]["userErrors"] == [{"code": "RECORD_NOT_FOUND"}]


async def test_mutations_need_the_write_scope(read_api):
    body = await read_api.gql(CREATE_ENDPOINT, 403, input={"url": "https://93.184.215.14/"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_other_accounts_endpoints_are_not_found(dev_api, other_api):
    made = await create(dev_api, "http://127.0.0.1:9/hook")
    theirs = await other_api.data(UPDATE, id=made["endpoint"]["id"], input={"enabled": False})
    assert theirs["updateWebhookEndpoint"]["userErrors"][0]["code"] == "RECORD_NOT_FOUND"
    body = await other_api.gql(DELIVERIES, id=made["endpoint"]["id"])
    assert body["errors"][0]["extensions"]["code"] == "RECORD_NOT_FOUND"
    await dev_api.data(DELETE, id=made["endpoint"]["id"])


async def test_redelivery_moves_the_cursor_back_to_a_kept_event(dev_api):
    for n in range(3):
        await dev_api.data(CREATE_SUBSCRIBER.replace("0100", f"010{n}"))
    made = await create(dev_api, "http://127.0.0.1:9/hook")
    endpoint_id = made["endpoint"]["id"]
    await dev_api.data(UPDATE, id=endpoint_id, input={"enabled": False})
    moved = await dev_api.data(REDELIVER, id=endpoint_id, **{"from": 2})
    assert moved["redeliverWebhookEvents"]["endpoint"] == {"deliveredSequence": 1}
    refused = await dev_api.data(REDELIVER, id=endpoint_id, **{"from": 99})
    [problem] = refused["redeliverWebhookEvents"]["userErrors"]
    assert problem["field"] == ["fromSequence"] and "1 to 3" in problem["message"]
    page = await dev_api.data(DELIVERIES, id=endpoint_id)
    assert page["webhookDeliveries"] == {"edges": [], "pageInfo": {"hasNextPage": False}}
    await dev_api.data(DELETE, id=endpoint_id)
