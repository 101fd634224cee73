"""The account, key and schema commands, run as processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from subprocess import PIPE

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tests import cluster
from tests.support import new_database, substore

from substore import commands, db


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
    assert done.returncode == 1  # the user's mistake: 1; 2 is for the environment
    assert done.stderr.count("\n") == 1
    assert "'Atlantis' is not a supported ISO 3166-1" in done.stderr


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
    printed = listed.stdout.split()[0]  # as `keys list` prints it, with its "…"
    assert printed == f"{secret[:12]}…"
    revoked = substore("keys", "revoke", "--account", account, printed, url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked {secret[:12]}… (write)" in revoked.stdout
    response = await http.post(
        "/graphql",
        json={"query": "{ account { id } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 401
    again = substore("keys", "revoke", "--account", account, secret, url=database_url)
    assert again.returncode == 1


async def test_every_command_on_a_database_never_served(server_url):
    """No traceback reaches a CLI user: commands migrate first; unknown accounts and keys,
    and bad arguments, are one line each."""
    async with new_database(server_url, "substore_cli") as url:
        listed = substore("accounts", "list", url=url)
        assert (listed.returncode, listed.stderr) == (0, "")
        assert "no accounts yet" in listed.stdout
        migrated = substore("migrate", url=url)
        assert "already up to date" in migrated.stdout
        for args in (
            ("keys", "create", "--account", "99", "--scope", "read"),
            ("keys", "list", "--account", "99"),
            ("keys", "revoke", "--account", "99", "sk_0123456789abc"),
        ):
            done = substore(*args, url=url)
            assert done.returncode == 1, args
            assert (
                done.stderr
                == "substore: error: no account 99: `substore accounts list` shows them.\n"
            )
        made = json.loads(
            substore(
                "accounts", "create", "--name", "A", "--default-region", "US", "--json", url=url
            ).stdout
        )
        account = str(made["id"])
        for short in ("", "sk_", made["apiKey"][:8]):
            done = substore("keys", "revoke", "--account", account, short, url=url)
            assert done.returncode == 1
            assert "exactly as `substore keys list` prints it" in done.stderr
            assert "Traceback" not in done.stderr
        unknown = substore("keys", "revoke", "--account", account, "sk_notakeyatall1", url=url)
        assert (unknown.returncode, unknown.stderr.count("\n")) == (1, 1)
        assert "no live key sk_notakeyat…" in unknown.stderr
        bad = substore("keys", "create", "--account", "x", "--scope", "read", url=url)
        assert bad.returncode == 2 and "invalid int value" in bad.stderr  # argparse's own


async def test_migrate_says_what_it_did(server_url):
    async with new_database(server_url, "substore_cli") as url:
        first = substore("migrate", url=url)
        assert first.returncode == 0
        assert "migrated the database schema from nothing to " in first.stdout
        local = substore("migrate", "--no-distribute", url=url)
        assert local.returncode == 0 and "already up to date" in local.stdout
        # Citus says what it distributed; plain PostgreSQL has nothing to say about it.
        citus = await cluster.workers(url.replace("+asyncpg", "")) is not None
        assert ("distributed on Citus" in first.stdout) == citus
        assert "Citus" not in local.stdout


def test_a_fresh_data_dir_and_bad_settings_are_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SUBSTORE_DATABASE_URL"}
    fresh = {**env, "SUBSTORE_DATA_DIR": str(tmp_path / "store")}
    run = [sys.executable, "-m", "substore.cli"]
    listed = subprocess.run([*run, "accounts", "list"], env=fresh, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "no accounts yet" in listed.stdout and "Traceback" not in listed.stderr
    bad = {**env, "SUBSTORE_DATABASE_URL": "mysql://nope"}
    done = subprocess.run([*run, "accounts", "list"], env=bad, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("substore: error: bad setting: SUBSTORE_DATABASE_URL")
    assert done.stderr.count("\n") == 1
    usage = subprocess.run([*run, "keys", "revoke"], env=env, capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr  # argparse: usage


def test_the_import_and_export_clients_start_without_the_database_layer():
    """They only speak HTTP: loading SQLAlchemy doubled their start-up (0.27 s -> 0.6 s)."""
    probe = (
        "import sys; from substore import cli; "
        "cli._parser().parse_args(['import', 'rows.csv', '--url', 'http://x']); "
        "print(sorted(m for m in ('sqlalchemy', 'asyncpg', 'alembic') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert loaded.stdout.strip() == "[]"


async def test_two_migrates_at_once_both_succeed_and_distribute_once(server_url):
    async with new_database(server_url, "substore_cli") as url:
        env = {**os.environ, "SUBSTORE_DATABASE_URL": url}
        both = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "substore.cli", "migrate", env=env, stdout=PIPE
            )
            for _ in "ab"
        ]
        outputs = [(await process.communicate())[0].decode() for process in both]
        assert [process.returncode for process in both] == [0, 0], outputs
        citus = await cluster.workers(url.replace("+asyncpg", "")) is not None
        assert sum("substore: distributed on Citus" in out for out in outputs) == (
            1 if citus else 0
        )
        assert sum("from nothing to" in out for out in outputs) == 1


async def test_any_command_on_a_fresh_citus_database_distributes_it_as_serve_does(server_url):
    """serve prepares its store as every command does: migrated, and on Citus distributed."""
    async with new_database(server_url, "substore_cli") as url:
        listed = substore("accounts", "list", url=url)
        assert listed.returncode == 0, listed.stderr
        again = substore("migrate", url=url)
        assert again.returncode == 0 and "already up to date" in again.stdout
        citus = await cluster.workers(url.replace("+asyncpg", "")) is not None
        assert ("were already distributed on Citus" in again.stdout) == citus


async def test_migrate_with_no_worker_says_the_coordinator_holds_every_shard(server_url):
    if await cluster.workers(server_url) is None:
        pytest.skip("needs Citus: SUBSTORE_TEST_DATABASE_URL naming a coordinator")
    name = f"substore_alone_{uuid.uuid4().hex[:8]}"
    admin = db.create_engine(server_url, pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        alone = db.create_engine(url, pool_size=1)
        async with alone.begin() as conn:  # the extension, and no worker registered
            await conn.execute(text("CREATE EXTENSION citus"))
        await alone.dispose()
        done = substore("migrate", url=url)
        assert done.returncode == 0, done.stderr
        assert "the coordinator holds every shard" in done.stdout
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
