"""`substore import` makes room for interactive requests: it yields while they wait on the
server, says so, and still stores exactly what it would have stored alone."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from tests.e2e.importing import new_account, store_of
from tests.support import serve_in_thread

from substore.config import Settings
from substore.web.app import create_app

ROWS, INVALID = 6000, 100
TOUCH = """mutation Touch($n: PhoneNumber!) {
  createSubscriber(input: {number: $n}) { userErrors { code } } }"""


@pytest.fixture(scope="module")
def url(database_url: str):
    settings = Settings(database_url=database_url, normalize_workers=1)
    with serve_in_thread(create_app(settings)) as base:
        yield base + "/graphql"


def crm(path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Phone"])
        writer.writerows([f"(201) 55{n // 10_000}-{n % 10_000:04d}"] for n in range(ROWS))
        writer.writerows(["555-0123"] for _ in range(INVALID))
    return path


async def touch(http: httpx.AsyncClient, url: str, number: str) -> None:
    answer = await http.post(url, json={"query": TOUCH, "variables": {"n": number}})
    assert answer.status_code == 200, answer.text


async def held_write(engine, account_id: int, http, url: str, number: str) -> None:
    """A frontend's write that waits 0.1 s for a row lock: an interactive request kept
    waiting, as a busy core would keep it."""
    async with engine.connect() as conn, conn.begin():
        await conn.execute(
            text("SELECT 1 FROM subscribers WHERE account_id = :a AND e164_number = :n FOR UPDATE"),
            {"a": account_id, "n": number},
        )
        pending = asyncio.create_task(touch(http, url, number))
        await asyncio.sleep(0.1)
    await pending


async def test_an_import_yields_while_interactive_requests_wait(engine, url, tmp_path):
    number = "+12025550100"
    account, token = await new_account(engine)
    front, front_token = await new_account(engine)  # the frontend's own account
    headers = {"Authorization": f"Bearer {front_token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        for _ in range(3):  # the write's usual time, nothing in its way
            await touch(http, url, number)
        command = [sys.executable, "-m", "substore.cli", "import", str(crm(tmp_path / "f.csv"))]
        command += ["--url", url, "--token", token, "--batch-size", "100", "--concurrency", "4"]
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        communicated = asyncio.create_task(proc.communicate())
        while not communicated.done():
            await held_write(engine, front.id, http, url, number)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(communicated), 0.01)
        out, err = (part.decode() for part in await communicated)
    assert proc.returncode == 1, err  # the invalid rows
    assert "yielding to interactive requests: 4 -> 2 lanes" in err
    assert f"{ROWS:,} created, 0 updated, 0 merged, {INVALID} rejected" in out
    assert "yielded to interactive requests" in out
    assert len(await store_of(engine, account)) == ROWS
