"""Trusted documents: a manifest registered with `substore documents add`, run by its
documentId; Apollo's automatic persisted queries."""

from __future__ import annotations

import json
import secrets

from tests.integration.test_cli import substore
from tests.support import asgi_client
from tests.tokens import bearer, claims, hs256, jwt_settings

from substore import repository
from substore.trusted.manifest import digest
from substore.web.app import create_app


def unique(document: str) -> str:
    """`document` with an operation name of its own: the registry is shared by every test."""
    return document.replace("query ", f"query T{secrets.token_hex(6)}", 1)


def manifest(tmp_path, entries: dict[str, str]):
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(entries))
    return path


COUNT = unique("query ($n: PhoneNumber!) { subscriber(number: $n) { e164Number } }")
ACCOUNT = unique("query { account { subscriberCount } }")


async def test_a_registered_manifest_runs_by_document_id_until_removed(tmp_path, database_url, api):
    await api.data('mutation { createSubscriber(input: {number: "2015550123"}) { created } }')
    entries = {f"sha256:{digest(COUNT)}": COUNT, digest(ACCOUNT): ACCOUNT}  # both forms
    added = substore("documents", "add", str(manifest(tmp_path, entries)), url=database_url)
    assert added.returncode == 0, added.stderr
    assert "2 documents registered" in added.stdout
    again = substore("documents", "add", str(manifest(tmp_path, entries)), url=database_url)
    assert "0 documents registered, 2 already were" in again.stdout

    body = {"documentId": f"sha256:{digest(COUNT)}", "variables": {"n": "+12015550123"}}
    response = await api.post(body)
    assert response.json()["data"] == {"subscriber": {"e164Number": "+12015550123"}}
    got = await api.client.get(
        "/graphql", params={"documentId": f"sha256:{digest(ACCOUNT)}"}, headers=api.headers()
    )
    assert got.json()["data"] == {"account": {"subscriberCount": 1}}
    listed = substore("documents", "list", url=database_url).stdout
    assert f"sha256:{digest(COUNT)}" in listed and COUNT.split()[1].split("(")[0] in listed

    removed = substore("documents", "remove", digest(COUNT), url=database_url)
    assert removed.returncode == 0, removed.stderr
    gone = await api.post(body)
    assert gone.status_code == 400
    error = gone.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert digest(COUNT) in error["message"]


async def test_a_manifest_with_a_wrong_hash_or_a_bad_document_registers_nothing(
    tmp_path, database_url, api
):
    good = unique("query { account { id } }")
    wrong = {digest(good): good, "0" * 64: unique("query { account { name } }")}
    refused = substore("documents", "add", str(manifest(tmp_path, wrong)), url=database_url)
    assert refused.returncode == 1
    assert "0" * 64 in refused.stderr and "nothing was registered" in refused.stderr
    invalid = unique("query { account { noSuchField } }")
    bad = substore(
        "documents", "add", str(manifest(tmp_path, {digest(invalid): invalid})), url=database_url
    )
    assert bad.returncode == 1 and "noSuchField" in bad.stderr
    response = await api.post({"documentId": f"sha256:{digest(good)}"})
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_apollo_automatic_persisted_queries(api):
    query = unique("query { account { subscriberCount } }")
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest(query)}}
    first = await api.post({"extensions": persisted})
    assert first.status_code == 400
    assert first.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    full = await api.post({"query": query, "extensions": persisted})
    assert full.json()["data"] == {"account": {"subscriberCount": 0}}
    by_hash = await api.post({"extensions": persisted})
    assert by_hash.json()["data"] == {"account": {"subscriberCount": 0}}
    other = unique("query { account { id } }")
    mismatch = await api.post({"query": other, "extensions": persisted})
    assert mismatch.status_code == 400
    assert "not the SHA-256" in mismatch.json()["errors"][0]["message"]


async def test_malformed_ids_are_told_apart_from_unknown_ones(api):
    for given in ("sha256:xyz", 42, "md5:" + "0" * 32):
        response = await api.post({"documentId": given})
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert "64 hex digits" in error["message"]
    both = await api.post({"documentId": "sha256:" + "0" * 64, "query": "{ account { id } }"})
    assert "not both" in both.json()["errors"][0]["message"]


async def test_trusted_documents_only_binds_sign_in_tokens_not_api_keys(engine, account, api):
    registered = unique("query { account { subscriberCount } }")
    async with engine.begin() as conn:
        await repository.add_documents(conn, {digest(registered): registered})
    settings = jwt_settings(trusted_documents_only=True)
    async with asgi_client(create_app(settings, engine=engine)) as client:
        token = bearer(hs256(claims(account.id, "read")))
        free = await client.post("/graphql", json={"query": "{ account { id } }"}, headers=token)
        assert free.status_code == 400
        assert free.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        assert "data" not in free.json()
        by_id = {"documentId": f"sha256:{digest(registered)}"}
        ran = await client.post("/graphql", json=by_id, headers=token)
        assert ran.json()["data"] == {"account": {"subscriberCount": 0}}
        same_text = await client.post("/graphql", json={"query": registered}, headers=token)
        assert same_text.json()["data"] == {"account": {"subscriberCount": 0}}
        keyed = await client.post(
            "/graphql", json={"query": "{ account { id } }"}, headers=api.headers()
        )
        assert keyed.json()["data"]["account"]["id"]  # scripts and GraphiQL are not bound
