"""CORS: only the listed origins may call the API from a browser; unset, no CORS at all."""

from __future__ import annotations

import pytest
from tests.support import asgi_client

from substore.config import Settings
from substore.web.app import create_app
from substore.web.cors import MAX_AGE_SECONDS

APP_ORIGIN = "https://app.example.test"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def cors_http(engine):
    app = create_app(Settings(cors_origins=APP_ORIGIN, auth_cache_seconds=0), engine=engine)
    async with asgi_client(app) as client:
        yield client


async def test_a_listed_origins_preflight_allows_the_bearer_and_json(cors_http):
    response = await cors_http.options("/graphql", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert {"GET", "POST"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert response.headers["access-control-max-age"] == str(MAX_AGE_SECONDS)
    assert "access-control-allow-credentials" not in response.headers


async def test_a_listed_origin_reads_the_answer_and_its_request_id(cors_http, api):
    headers = {"Origin": APP_ORIGIN, **api.headers()}
    query = {"query": "{ account { subscriberCount } }"}
    response = await cors_http.post("/graphql", json=query, headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_an_unlisted_origin_gets_no_allow_header(cors_http, api):
    other = {"Origin": "https://evil.example.test"}
    preflight = await cors_http.options("/graphql", headers={**other, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    query = {"query": "{ account { subscriberCount } }"}
    response = await cors_http.post("/graphql", json=query, headers={**other, **api.headers()})
    assert "access-control-allow-origin" not in response.headers


async def test_without_the_setting_there_are_no_cors_headers_at_all(http, api):
    preflight = await http.options("/graphql", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert preflight.status_code == 405
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    query = {"query": "{ account { subscriberCount } }"}
    response = await http.post(
        "/graphql", json=query, headers={"Origin": APP_ORIGIN, **api.headers()}
    )
    assert not any(h.startswith("access-control-") for h in response.headers)


@pytest.mark.parametrize(
    "value", ["*", "app.example.test", "https://app.example.test/path", "ftp://x"]
)
def test_anything_but_exact_origins_is_refused_at_start(value):
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(cors_origins=value)
