"""Generated requests over the committed schema, over real HTTP: hypothesis-graphql, schemathesis.

Read and write keys of two accounts send valid and slightly invalid queries and
mutations: the server never answers 5xx, never shows one account another's data, and
is healthy afterwards. A third account's write key sends schemathesis' cases (its own
generator, both modes, a fixed seed): no 5xx, and every answer keeps the schema's
promises (tests/conformance.py). Bounded in count so the suite stays quick; raise
FUZZ_EXAMPLES and SCHEMATHESIS_EXAMPLES for a campaign.
"""

from __future__ import annotations

import json
import os
import string
import uuid
from collections.abc import Iterator

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries
from schemathesis import GenerationMode
from tests.conformance import SCHEMA_PATH, violations
from tests.support import serve_in_thread

from substore import auth, services
from substore.config import Settings
from substore.web.app import create_app

SCHEMA = SCHEMA_PATH.read_text()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SCHEMATHESIS_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "48"))
# Each account holds one subscriber with its own secret; the other must never see it.
SECRETS = {name: f"secret-{name}-{uuid.uuid4().hex[:10]}" for name in ("a", "b")}

_names = st.text(string.ascii_letters, min_size=1, max_size=8)
_json_leaf = st.one_of(
    st.text(max_size=20).map(nodes.String),
    st.integers(-(2**40), 2**40).map(nodes.Int),
    st.booleans().map(nodes.Boolean),
)
SCALARS = {
    "PhoneNumber": st.one_of(
        st.sampled_from(
            ["+12015550123", "(201) 555-0124", "07911 123456", "911", "+44 20 7946 0018"]
        ).map(nodes.String),
        st.text(max_size=24).map(nodes.String),
        st.integers(0, 10**15 - 1).map(nodes.Int),
    ),
    "DateTime": st.one_of(
        st.datetimes().map(lambda moment: nodes.String(moment.isoformat())),
        st.datetimes(timezones=st.timezones()).map(lambda moment: nodes.String(moment.isoformat())),
        st.text(max_size=12).map(nodes.String),
    ),
    "JSON": st.dictionaries(_names, _json_leaf, max_size=4).map(
        lambda fields: graphql.ObjectValueNode(
            fields=tuple(
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                for k, v in fields.items()
            )
        )
    ),
}


@pytest.fixture(scope="module")
async def keys(engine) -> dict[str, str]:
    """Read and write keys of two accounts, each holding a subscriber with its secret."""
    out = {}
    async with engine.begin() as conn:
        for name in ("a", "b"):
            account = await services.create_account(conn, f"fuzz-{name}", "US")
            for scope in ("read", "write"):
                out[f"{name}-{scope}"] = (await auth.create_key(conn, account.id, scope)).secret
            data = services.SubscriberInput("+12015550123", profile={"first_name": SECRETS[name]})
            await services.save_subscriber(conn, account, data)
    return out


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        auth_cache_seconds=0,
        normalize_workers=0,
        rate_limit_per_second=0,
    )
    with serve_in_thread(create_app(settings)) as base:
        yield base


def operations() -> st.SearchStrategy[str]:
    # codec=None: any character, lone surrogates included (sent as JSON escapes).
    kinds = [
        builder(SCHEMA, custom_scalars=SCALARS, mode=mode, codec=codec)
        for builder in (queries, mutations)
        for mode in (Mode.POSITIVE, Mode.NEGATIVE)
        for codec in ("utf-8", None)
    ]
    return st.one_of(kinds)


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=operations(),
    account=st.sampled_from(["a", "b"]),
    scope=st.sampled_from(["read", "write"]),
)
def test_generated_requests_never_fail_the_server_or_leak(server, keys, query, account, scope):
    headers = {
        "Authorization": f"Bearer {keys[f'{account}-{scope}']}",
        "Content-Type": "application/json",
    }
    content = json.dumps({"query": query}).encode()  # ASCII escapes, as a browser would send
    response = httpx.post(f"{server}/graphql", content=content, headers=headers, timeout=30)
    assert response.status_code < 500, (query, response.text)
    other = "b" if account == "a" else "a"
    assert SECRETS[other] not in response.text, query
    body = response.json()
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (query, error)


for _name, _strategy in SCALARS.items():
    schemathesis.graphql.scalar(_name, _strategy)


def schemathesis_cases() -> st.SearchStrategy[schemathesis.Case]:
    schema = schemathesis.graphql.from_path(SCHEMA_PATH)
    operations = [result.ok() for result in schema.get_all_operations()]
    return st.one_of(
        [operation.as_strategy(mode) for operation in operations for mode in GenerationMode]
    )


@pytest.fixture(scope="module")
async def schemathesis_key(engine) -> str:
    """A third account's write key: its cases may delete anything of that account."""
    async with engine.begin() as conn:
        account = await services.create_account(conn, "fuzz-schemathesis", "US")
        return (await auth.create_key(conn, account.id, "write")).secret


@seed(20261206)
@settings(
    max_examples=SCHEMATHESIS_EXAMPLES,
    database=None,  # the seed alone decides the cases
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=schemathesis_cases())
def test_schemathesis_cases_get_no_5xx_and_answers_that_keep_the_schema(
    server, keys, schemathesis_key, case
):
    response = case.call(
        base_url=f"{server}/graphql", headers={"Authorization": f"Bearer {schemathesis_key}"}
    )
    assert response.status_code < 500, (case.body, response.text)
    assert not violations(case.body, response.status_code, response.json()), (
        case.body,
        response.text,
    )
    assert not any(secret in response.text for secret in SECRETS.values()), case.body


def test_the_server_is_healthy_after_the_campaign(server, keys):
    assert httpx.get(f"{server}/healthz", timeout=10).status_code == 200
    for name in SECRETS:
        headers = {"Authorization": f"Bearer {keys[f'{name}-read']}"}
        query = '{ subscriber(number: "+12015550123") { firstName } }'
        body = httpx.post(f"{server}/graphql", json={"query": query}, headers=headers).json()
        # A generated mutation may have renamed it, but never the other account's way.
        assert SECRETS["b" if name == "a" else "a"] not in str(body)
        assert body["data"]["subscriber"] is not None
