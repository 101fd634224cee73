"""Per-key rate limits: a token bucket, 429 with Retry-After, RateLimit-* headers."""

from __future__ import annotations

import httpx
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


BATCH = {"Substore-Import": "batch"}
IMPORT = """mutation Import($rows: [SubscriberInput!]!) {
  importSubscribers(input: $rows) { createdCount } }"""


async def _batch(api: Api, body: dict) -> httpx.Response:
    return await api.client.post("/graphql", json=body, headers={**api.headers(), **BATCH})


async def test_import_batches_have_a_bucket_of_their_own(limited):
    mine, _ = limited
    for _ in range(3):  # the key's requests are spent
        await mine.post({"query": "{ account { id } }"})
    assert (await mine.post({"query": "{ account { id } }"})).status_code == 429
    rows = [{"number": f"20155501{n:02d}"} for n in range(10)]
    answer = await _batch(mine, {"query": IMPORT, "variables": {"rows": rows}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["importSubscribers"]["createdCount"] == 10
    # And it is told how long interactive requests waited lately, in ms.
    assert float(answer.headers["substore-interactive-delay"]) >= 0


async def test_import_batches_past_their_own_burst_get_429(engine, api):
    # A bucket that refills once in 1000 s: the third batch finds it empty however slow.
    settings = Settings(
        auth_cache_seconds=0, import_rate_limit_per_second=0.001, import_rate_limit_burst=2
    )
    async with asgi_client(create_app(settings, engine=engine)) as client:
        mine = Api(client, api.key)
        body = {"query": IMPORT, "variables": {"rows": [{"number": "2015550150"}]}}
        answers = [await _batch(mine, body) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "import batches" in answers[2].json()["errors"][0]["message"]
        assert (await mine.post({"query": "{ account { id } }"})).status_code == 200


async def test_only_an_import_batch_may_say_it_is_one(limited):
    mine, _ = limited
    answer = await _batch(mine, {"query": "{ account { id } }"})
    assert answer.status_code == 400
    assert "Substore-Import" in answer.json()["errors"][0]["message"]
    assert "substore-interactive-delay" in answer.headers  # a marked request is told anyway
