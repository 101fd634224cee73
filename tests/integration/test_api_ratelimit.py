"""Per-key rate limits: a token bucket, 429 with Retry-After, RateLimit-* headers."""

from __future__ import annotations

import pytest
from tests.api import Api
from tests.support import asgi_client

from substore.config import Settings
from substore.web.app import create_app


@pytest.fixture
async def limited(engine, api, other_api):
    app = create_app(
        Settings(auth_cache_seconds=0, rate_limit_per_second=1, rate_limit_burst=3), engine=engine
    )
    async with asgi_client(app) as client:
        yield Api(client, api.key), Api(client, other_api.key)


async def test_a_key_past_its_burst_gets_429_with_retry_after(limited):
    mine, theirs = limited
    answers = [await mine.post({"query": "{ account { id } }"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["ratelimit-limit"] == "3"
    refused = answers[3]
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
    other = await theirs.post({"query": "{ account { id } }"})  # another key: its own bucket
    assert other.status_code == 200


async def test_a_refused_request_changes_nothing(limited, api):
    mine, _ = limited
    for _ in range(3):
        await mine.post({"query": "{ account { id } }"})
    create = 'mutation { createSubscriber(input: {number: "2015550170"}) { created } }'
    assert (await mine.post({"query": create})).status_code == 429
    # Asked through a server without the limit: nothing was stored.
    body = await api.data("{ account { subscriberCount } }")
    assert body["account"]["subscriberCount"] == 0
