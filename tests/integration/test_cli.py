"""The account, key and schema commands, run as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from substore import commands


def substore(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUBSTORE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "substore.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


async def test_accounts_create_and_keys_create_json(database_url, http):
    made = substore(
        "accounts", "create", "--name", "Acme", "--default-region", "de", "--json", url=database_url
    )
    assert made.returncode == 0, made.stderr
    account = json.loads(made.stdout)
    assert (account["name"], account["defaultRegion"]) == ("Acme", "DE")
    key = substore(
        "keys",
        "create",
        "--account",
        str(account["id"]),
        "--scope",
        "read",
        "--json",
        url=database_url,
    )
    created = json.loads(key.stdout)
    assert created["scope"] == "read"
    for secret, region in ((account["apiKey"], "DE"), (created["apiKey"], "DE")):
        response = await http.post(
            "/graphql",
            json={"query": "{ account { defaultRegion } }"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.json()["data"]["account"]["defaultRegion"] == region


def test_accounts_create_refuses_a_bad_region(database_url):
    done = substore(
        "accounts", "create", "--name", "X", "--default-region", "Atlantis", url=database_url
    )
    assert done.returncode == 2
    assert "INVALID_COUNTRYCODE_FORMAT" in done.stderr


def test_committed_schema_is_current():
    # When this fails: run `substore schema export` and commit schema/schema.graphql.
    assert commands.schema_is_current()


def test_schema_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: String }\n")
    assert not commands.schema_is_current(stale)
    commands.export_schema(stale)
    assert commands.schema_is_current(stale)


async def test_keys_list_and_revoke(database_url, http):
    made = json.loads(
        substore(
            "accounts",
            "create",
            "--name",
            "K",
            "--default-region",
            "US",
            "--json",
            url=database_url,
        ).stdout
    )
    account, secret = str(made["id"]), made["apiKey"]
    listed = substore("keys", "list", "--account", account, url=database_url)
    assert listed.returncode == 0 and secret[:12] in listed.stdout and "live" in listed.stdout
    assert secret not in listed.stdout  # only the prefix is ever shown again
    revoked = substore("keys", "revoke", "--account", account, secret[:12], url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    response = await http.post(
        "/graphql",
        json={"query": "{ account { id } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 401
    again = substore("keys", "revoke", "--account", account, secret, url=database_url)
    assert again.returncode == 1
