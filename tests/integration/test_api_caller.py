"""Who calls is settled first: what anonymous clients send reaches no cache, no metrics
label and no log field; unknown keys are throttled per client; /healthz tells nothing."""

from __future__ import annotations

import logging
import secrets

import httpx
from tests.support import asgi_client, free_port

from substore import auth, db
from substore.config import Settings
from substore.graphql.documents import DOCUMENTS
from substore.web.app import create_app
from substore.web.caller import MAX_AUTHORIZATION_BYTES
from substore.web.operation import _SELECTED

LOOKUP = "{ account { subscriberCount } }"


def unique_document() -> str:
    return f"query Q{secrets.token_hex(8)} {{ account {{ subscriberCount }} }}"


async def test_anonymous_documents_are_neither_parsed_nor_cached(http, api):
    anonymous = unique_document()
    refused = await http.post("/graphql", json={"query": anonymous})
    assert refused.status_code == 401
    assert not DOCUMENTS.knows(anonymous) and not _SELECTED.knows(anonymous, None)
    # Not even parsed: a document that does not parse is still just unauthenticated.
    broken = await http.post("/graphql", json={"query": "{ account { "})
    assert broken.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    keyed = unique_document()
    await api.data(keyed)
    assert DOCUMENTS.knows(keyed) and _SELECTED.knows(keyed, None)


async def test_metrics_labels_stay_a_closed_set_whatever_names_clients_send(http, api):
    """The campaign's input: 300 operations with random 400-character names, half without
    a key, used to grow /metrics from 3.5 KB to 2.1 MB."""
    await api.data(LOOKUP)
    before = (await http.get("/metrics")).text
    names = [f"N{secrets.token_hex(200)}"[:400] for _ in range(300)]
    for n, name in enumerate(names):
        body = {"query": f"query {name} {{ account {{ id }} }}", "operationName": name}
        await (api.post(body) if n % 2 else http.post("/graphql", json=body))
    after = (await http.get("/metrics")).text
    assert not any(name[:20] in after for name in names)
    assert len(after) - len(before) < 2_000
    assert 'substore_requests_total{operation="query",status="200"}' in after
    assert 'substore_requests_total{operation="-",status="401"}' in after


async def test_unknown_keys_are_throttled_per_client(engine, account):
    settings = Settings(auth_cache_seconds=0, unknown_key_limit=3)
    app = create_app(settings, engine=engine)
    unknown = {"Authorization": f"Bearer sk_{secrets.token_urlsafe(32)}"}
    async with asgi_client(app) as client:
        statuses = [
            (await client.post("/graphql", json={"query": LOOKUP}, headers=unknown)).status_code
            for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 429, 429]
        blocked = await client.post("/graphql", json={"query": LOOKUP}, headers=unknown)
        assert int(blocked.headers["retry-after"]) > 0
        assert "unknown API keys" in blocked.json()["errors"][0]["message"]
    other = httpx.ASGITransport(app=app, client=("127.0.0.2", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://substore.test") as client:
        response = await client.post("/graphql", json={"query": LOOKUP}, headers=unknown)
        assert response.status_code == 401  # another address still gets its lookups


async def test_a_key_its_address_used_still_works_while_the_address_is_throttled(
    engine, account, api, read_api
):
    """The campaign's case: a client used its key, then 30 unknown keys came from its
    address; once the key cache had let the key go (5 s), the key was 429 for the rest
    of the window (60 s), though the README says keys it already used still work."""
    app = create_app(Settings(auth_cache_seconds=0, unknown_key_limit=3), engine=engine)
    used, never_used = {"Authorization": f"Bearer {api.key}"}, read_api.headers()
    unknown = {"Authorization": f"Bearer sk_{secrets.token_urlsafe(32)}"}

    async def status(headers: dict[str, str]) -> int:
        return (await client.post("/graphql", json={"query": LOOKUP}, headers=headers)).status_code

    async with asgi_client(app) as client:
        assert await status(used) == 200
        assert [await status(unknown) for _ in range(4)] == [401, 401, 401, 429]
        assert [await status(used) for _ in range(3)] == [200, 200, 200]
        assert await status(never_used) == 429  # a key new to the address costs no lookup
        async with engine.begin() as conn:
            await auth.revoke_key(conn, account.id, api.key)
        assert [await status(used) for _ in range(2)] == [401, 429]  # revoked: an unknown key


async def test_an_oversized_authorization_header_is_431(http):
    header = {"Authorization": "Bearer sk_" + "a" * MAX_AUTHORIZATION_BYTES}
    response = await http.post("/graphql", json={"query": LOOKUP}, headers=header)
    assert response.status_code == 431
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "HEADERS_TOO_LARGE"
    assert str(MAX_AUTHORIZATION_BYTES) in error["message"]


async def test_healthz_during_an_outage_says_unavailable_and_logs_why(caplog):
    url = f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{free_port()}/postgres"
    engine = db.create_engine(url, pool_size=1)
    app = create_app(Settings(database_url=url), engine=engine, check_database=False)
    try:
        with caplog.at_level(logging.WARNING, logger="substore.web"):
            async with asgi_client(app) as client:
                response = await client.get("/healthz")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"status", "requestId"} and body["status"] == "unavailable"
    assert "127.0.0.1" not in response.text and "postgres" not in response.text
    logged = [r.getMessage() for r in caplog.records if body["requestId"] in r.getMessage()]
    assert logged and "cannot reach PostgreSQL" in logged[0]
