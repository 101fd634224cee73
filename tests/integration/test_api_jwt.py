"""JWTs beside API keys, over HTTP through the app (HS256; key sets: test_api_jwks.py):
every bad token is 401 saying why, scopes and accounts hold as for keys, and the token's
`sub` is the actor wherever a key's prefix would be."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from tests.support import asgi_client
from tests.tokens import DROP, SECRET, bearer, claims, forged, hs256, jwt_settings

from substore.tokens import Verifier
from substore.web.app import create_app
from substore.web.observe import ACCESS

LOOKUP = "{ account { id subscriberCount } }"
CREATE = """mutation($input: SubscriberInput!) { createSubscriber(input: $input) {
  subscriber { id } created userErrors { code } } }"""
EVENTS = """query($n: PhoneNumber!) { subscriber(number: $n) {
  consentEvents { edges { node { action source detail } } } } }"""


@pytest.fixture
async def jwt_http(engine) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(jwt_settings(), engine=engine)) as client:
        yield client


async def call(client: httpx.AsyncClient, token: str, query: str = LOOKUP, **variables):
    body = {"query": query, "variables": variables}
    return await client.post("/graphql", json=body, headers=bearer(token))


def later(seconds: int) -> int:
    return int(time.time()) + seconds


def namespace(**fields) -> dict:
    return {"substore": fields}


BAD_TOKENS = {
    "expired": (lambda a: hs256(claims(a, exp=later(-120))), "expired"),
    "not yet valid": (lambda a: hs256(claims(a, nbf=later(600))), "not valid yet"),
    "issued in the future": (lambda a: hs256(claims(a, iat=later(600))), "not valid yet"),
    "wrong issuer": (lambda a: hs256(claims(a, iss="https://evil.test/")), "issuer"),
    "wrong audience": (lambda a: hs256(claims(a, aud="another-app")), "audience"),
    "wrong signature": (lambda a: hs256(claims(a), "x" * 40), "signature does not verify"),
    "no exp": (lambda a: hs256(claims(a, exp=DROP)), "no `exp` claim"),
    "no issuer": (lambda a: hs256(claims(a, iss=DROP)), "no `iss` claim"),
    "no sub": (lambda a: hs256(claims(a, sub=DROP)), "no `sub` claim"),
    "empty sub": (lambda a: hs256(claims(a, sub="")), "`sub` must be"),
    "no namespace claim": (lambda a: hs256(claims(a, substore=DROP)), "no `substore` claim"),
    "namespace not an object": (lambda a: hs256(claims(a, substore="write")), "`substore` claim"),
    "no account_id": (
        lambda a: hs256(claims(a, **namespace(scope="read"))),
        "`substore.account_id` must be",
    ),
    "account_id not a number": (lambda a: hs256(claims("12ab")), "`substore.account_id` must be"),
    "account_id true": (lambda a: hs256(claims(True)), "`substore.account_id` must be"),
    "account_id past bigint": (lambda a: hs256(claims(2**63)), "`substore.account_id` must be"),
    "unknown account": (lambda a: hs256(claims(2**62)), f"account {2**62} does not exist"),
    "unknown scope": (lambda a: hs256(claims(a, scope="admin")), "`read` or `write`"),
    "scope not a string": (lambda a: hs256(claims(a, scope=["write"])), "`read` or `write`"),
    "alg none": (lambda a: forged({"alg": "none"}, claims(a), None), "'none'"),
    "ES256 at an HS256 server": (
        lambda a: jwt.encode(claims(a), ec.generate_private_key(ec.SECP256R1()), "ES256"),
        "accepts HS256 only",
    ),
    "not a JWT": (lambda a: "not-a-key-nor-a-jwt", "neither an API key"),
    "bad base64": (lambda a: "eyJhbGciOiJIUzI1NiJ9.%%%.abc", "neither an API key"),
}


@pytest.mark.parametrize(("make", "says"), BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_each_bad_token_is_401_saying_why_and_no_data(jwt_http, account, make, says):
    response = await call(jwt_http, make(account.id))
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert says in error["message"], error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_read_tokens_query_write_tokens_also_mutate(jwt_http, account):
    read, write = hs256(claims(account.id, "read")), hs256(claims(account.id, "write"))
    assert (await call(jwt_http, read)).json()["data"]["account"]["subscriberCount"] == 0
    refused = await call(jwt_http, read, CREATE, input={"number": "2015550150"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    made = await call(jwt_http, write, CREATE, input={"number": "2015550150"})
    assert made.json()["data"]["createSubscriber"]["created"] is True
    assert (await call(jwt_http, read)).json()["data"]["account"]["subscriberCount"] == 1


async def test_account_id_as_a_string_and_exp_within_the_leeway_are_accepted(jwt_http, account):
    as_string = hs256(claims(str(account.id), "read"))
    assert (await call(jwt_http, as_string)).status_code == 200
    just_expired = hs256(claims(account.id, "read", exp=later(-30)))  # within 60 s
    assert (await call(jwt_http, just_expired)).status_code == 200


async def test_a_token_sees_only_its_own_account(jwt_http, account, other_api):
    theirs = await other_api.data(CREATE, input={"number": "2015550151"})
    their_id = theirs["createSubscriber"]["subscriber"]["id"]
    mine = hs256(claims(account.id))
    listed = await call(jwt_http, mine, "{ subscribers { totalCount edges { node { id } } } }")
    assert listed.json()["data"]["subscribers"] == {"totalCount": 0, "edges": []}
    by_id = await call(jwt_http, mine, "query($id: ID!) { node(id: $id) { id } }", id=their_id)
    assert by_id.json()["data"]["node"] is None
    update = """mutation($id: ID!) { updateSubscriber(id: $id, input: {firstName: "X"}) {
        userErrors { code } } }"""
    changed = await call(jwt_http, mine, update, id=their_id)
    assert changed.json()["data"]["updateSubscriber"]["userErrors"] == [
        {"code": "RECORD_NOT_FOUND"}
    ]
    assert (await call(jwt_http, mine)).json()["data"]["account"]["subscriberCount"] == 0


async def test_a_tokens_sub_is_the_actor_in_consent_history_and_access_log(
    jwt_http, account, api, capsys, monkeypatch
):
    monkeypatch.setattr(ACCESS, "format", "json")
    token = hs256(claims(account.id, sub="auth0|65f0c0ffee"))
    created = await call(jwt_http, token, CREATE, input={"number": "2015550152"})
    subscriber_id = created.json()["data"]["createSubscriber"]["subscriber"]["id"]
    unsubscribe = """mutation($id: ID!) { updateSubscriber(id: $id,
        input: {status: UNSUBSCRIBED}) { userErrors { code } } }"""
    assert (await call(jwt_http, token, unsubscribe, id=subscriber_id)).status_code == 200
    ACCESS.flush()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(line["key"], line["auth"]) for line in lines} == {("auth0|65f0c0ffee", "jwt")}
    events = (await api.data(EVENTS, n="2015550152"))["subscriber"]["consentEvents"]["edges"]
    assert [e["node"] for e in events] == [
        {"action": "UNSUBSCRIBED", "source": "api", "detail": "auth0|65f0c0ffee"}
    ]
    ACCESS.flush()  # and a key's request says so, with its prefix
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (line["key"], line["auth"]) == (api.key[:12], "key")


async def test_with_jwts_off_a_token_is_refused_as_before(http, account):
    response = await call(http, hs256(claims(account.id)))
    assert response.status_code == 401
    assert "Missing or invalid API key" in response.json()["errors"][0]["message"]


async def test_bad_tokens_are_throttled_per_client_like_unknown_keys(engine, account):
    app = create_app(jwt_settings(unknown_key_limit=3), engine=engine)
    bad, good = hs256(claims(account.id), "y" * 40), hs256(claims(account.id))
    async with asgi_client(app) as client:
        statuses = [(await call(client, bad)).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        blocked = await call(client, good)  # refused before its signature costs anything
        assert blocked.status_code == 429
        assert "invalid tokens" in blocked.json()["errors"][0]["message"]


async def test_the_rate_limit_is_per_subject(engine, account):
    app = create_app(jwt_settings(rate_limit_per_second=0.01, rate_limit_burst=1), engine=engine)
    first, again = hs256(claims(account.id, sub="a")), hs256(claims(account.id, sub="a", jti="2"))
    async with asgi_client(app) as client:
        assert (await call(client, first)).status_code == 200
        refused = await call(client, again)  # another token of the same subject
        assert refused.status_code == 429
        assert "subject" in refused.json()["errors"][0]["message"]
        assert (await call(client, hs256(claims(account.id, sub="b")))).status_code == 200


async def test_a_verified_token_is_cached_but_never_past_its_exp(engine, account, monkeypatch):
    verified = []
    original = Verifier.verify

    async def counting(self, token):
        verified.append(token)
        return await original(self, token)

    monkeypatch.setattr(Verifier, "verify", counting)
    app = create_app(jwt_settings(auth_cache_seconds=60), engine=engine)
    fresh, lapsing = hs256(claims(account.id)), hs256(claims(account.id, exp=later(-30)))
    async with asgi_client(app) as client:
        for token in (fresh, fresh, lapsing, lapsing):
            assert (await call(client, token)).status_code == 200
        assert verified == [fresh, lapsing, lapsing]  # past exp (in the leeway): not kept
        cache = app.state.principals
        moment = cache.clock() + 61
        monkeypatch.setattr(cache, "clock", lambda: moment)
        assert (await call(client, fresh)).status_code == 200
        assert verified[-1] == fresh  # the cache window passed: checked again
    assert SECRET not in repr(app.state.tokens)
