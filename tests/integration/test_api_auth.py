"""API keys, scopes, and isolation between accounts, for every operation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from tests.support import asgi_client

from substore import auth, repository, services
from substore.config import Settings
from substore.web.app import create_app

CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } created userErrors { code } } }"""


async def made(api, number: str) -> str:
    return (await api.data(CREATE, input={"number": number}))["createSubscriber"]["subscriber"][
        "id"
    ]


async def test_read_key_runs_queries_but_not_mutations(read_api, api):
    await made(api, "2015550120")
    assert (await read_api.data("{ account { subscriberCount } }"))["account"][
        "subscriberCount"
    ] == 1
    body = await read_api.gql(CREATE, status=403, input={"number": "2015550121"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "write scope" in body["errors"][0]["message"]
    assert (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"] == 1


async def test_revoked_key_is_401(api, engine, account, http):
    async with engine.begin() as conn:
        key = await auth.create_key(conn, account.id, "read")
    response = await http.post(
        "/graphql",
        json={"query": "{ account { id } }"},
        headers={"Authorization": f"Bearer {key.secret}"},
    )
    assert response.status_code == 200
    async with engine.begin() as conn:
        await repository.revoke_api_key(conn, account.id, key.record.id)
    response = await http.post(
        "/graphql",
        json={"query": "{ account { id } }"},
        headers={"Authorization": f"Bearer {key.secret}"},
    )
    assert response.status_code == 401


async def test_keys_are_stored_only_as_hashes(engine, account):
    async with engine.begin() as conn:
        key = await auth.create_key(conn, account.id, "write")
    assert key.secret.startswith("sk_") and len(key.secret) > 40
    assert key.record.hash == auth.hash_key(key.secret) != key.secret
    assert key.secret.startswith(key.record.prefix)


async def test_same_number_in_two_accounts_is_two_subscribers(api, other_api):
    mine, theirs = await made(api, "2015550130"), await made(other_api, "2015550130")
    assert mine != theirs


async def test_another_accounts_subscriber_does_not_exist_for_me(api, other_api):
    theirs = await made(other_api, "2015550131")
    # Queries: by id, by number, node, list, count.
    assert (await api.data("query($id: ID!) { subscriber(id: $id) { id } }", id=theirs))[
        "subscriber"
    ] is None
    assert (await api.data('{ subscriber(number: "2015550131") { id } }'))["subscriber"] is None
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", id=theirs))["node"] is None
    listed = await api.data("{ subscribers { totalCount edges { node { id } } } }")
    assert listed["subscribers"] == {"totalCount": 0, "edges": []}
    # Mutations: exactly as if it did not exist (RECORD_NOT_FOUND, never FORBIDDEN).
    update = """mutation($id: ID!) { updateSubscriber(id: $id, input: {firstName: "X"}) {
        subscriber { id } userErrors { code } } }"""
    assert (await api.data(update, id=theirs))["updateSubscriber"] == {
        "subscriber": None,
        "userErrors": [{"code": "RECORD_NOT_FOUND"}],
    }
    delete = "mutation($id: ID!) { deleteSubscriber(id: $id) { deletedSubscriberId userErrors { code } } }"
    assert (await api.data(delete, id=theirs))["deleteSubscriber"]["userErrors"] == [
        {"code": "RECORD_NOT_FOUND"}
    ]
    # And it is untouched for its owner.
    still = await other_api.data("query($id: ID!) { subscriber(id: $id) { firstName } }", id=theirs)
    assert still["subscriber"] == {"firstName": None}


async def test_creating_their_number_makes_my_own_subscriber(api, other_api):
    theirs = await made(other_api, "2015550132")
    mine = (await api.data(CREATE, input={"number": "2015550132"}))["createSubscriber"]
    assert mine["created"] is True and mine["subscriber"]["id"] != theirs


async def test_another_accounts_node_id_for_account_is_null(api, other_api):
    theirs = (await other_api.data("{ account { id } }"))["account"]["id"]
    assert (await api.data("query($id: ID!) { node(id: $id) { id } }", id=theirs))["node"] is None


async def test_update_account_changes_only_my_account(api, other_api):
    await api.data('mutation { updateAccount(input: {defaultRegion: "FR"}) { account { id } } }')
    assert (await other_api.data("{ account { defaultRegion } }"))["account"][
        "defaultRegion"
    ] == "GB"


async def test_import_writes_only_to_my_account(api, other_api):
    query = """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) { createdCount } }"""
    await api.data(query, rows=[{"number": "2015550133"}, {"number": "2015550134"}])
    assert (await other_api.data("{ account { subscriberCount } }"))["account"][
        "subscriberCount"
    ] == 0


@contextlib.asynccontextmanager
async def own_server(
    engine, account, scope: str, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, object, auth.NewKey]]:
    """An app with its own `settings` on the test database, a client with a new key of
    `scope` in its headers, the app, and the key."""
    async with engine.begin() as conn:
        key = await auth.create_key(conn, account.id, scope)
    app = create_app(settings, engine=engine)
    headers = {"Authorization": f"Bearer {key.secret}"}
    async with asgi_client(app, headers=headers) as c:
        yield c, app, key


async def test_cached_key_stops_working_once_its_cache_window_passes(engine, account):
    query = {"query": "{ account { id } }"}
    settings = Settings(auth_cache_seconds=60)
    async with own_server(engine, account, "read", settings) as (c, app, key):
        assert (await c.post("/graphql", json=query)).status_code == 200
        async with engine.begin() as conn:
            await repository.revoke_api_key(conn, account.id, key.record.id)
        # Within the window the checked key is still trusted...
        assert (await c.post("/graphql", json=query)).status_code == 200
        # ...and once the window has passed it is checked again, and refused.
        cache = app.state.principals
        later = cache.clock() + 61
        cache.clock = lambda: later
        assert (await c.post("/graphql", json=query)).status_code == 401


async def test_revoking_by_less_than_the_listed_prefix_revokes_nothing(engine, account):
    import pytest

    from substore.errors import ValidationError

    async with engine.begin() as conn:
        first = await auth.create_key(conn, account.id, "read")
        await auth.create_key(conn, account.id, "read")
    for short in ("", "sk_", first.secret[:11]):
        with pytest.raises(ValidationError, match="exactly as `substore keys list` prints it"):
            async with engine.begin() as conn:
                await auth.revoke_key(conn, account.id, short)
    async with engine.begin() as conn:
        assert [k.revoked_at for k in await auth.list_keys(conn, account.id)] == [None, None]
        revoked = await auth.revoke_key(conn, account.id, first.secret)
        assert revoked.prefix == first.secret[:12]
        assert await auth.authenticate(conn, first.secret) is None


async def test_the_account_is_cached_but_its_own_update_is_seen_at_once(engine, account):
    region = {"query": "{ account { defaultRegion } }"}
    update = {
        "query": 'mutation { updateAccount(input: {defaultRegion: "FR"}) { userErrors { code } } }'
    }

    async def read(c: httpx.AsyncClient) -> str:
        return (await c.post("/graphql", json=region)).json()["data"]["account"]["defaultRegion"]

    settings = Settings(account_cache_seconds=0.5)
    async with own_server(engine, account, "write", settings) as (c, _, _):
        assert await read(c) == "US"
        # Through this server: at once, long before the cache would forget.
        assert (await c.post("/graphql", json=update)).status_code == 200
        assert await read(c) == "FR"
        # Through another process (here: straight to the database): once the window passes.
        async with engine.begin() as conn:
            stored = await services.get_account(conn, account.id)
            await services.update_account(conn, stored, services.AccountChanges("DE"))
        await asyncio.sleep(0.6)
        assert await read(c) == "DE"
