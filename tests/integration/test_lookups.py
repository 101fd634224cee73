"""Lookups by number that arrive together share statements (web/lookups.py): each caller
still gets its own subscriber (or null), from its own account."""

from __future__ import annotations

import asyncio

from tests.support import asgi_client

from substore import auth, repository
from substore.config import Settings
from substore.web.app import create_app

LOOKUP = "query($n: PhoneNumber) { subscriber(number: $n) { e164Number firstName } }"
STORED = [f"+1201555{n:04d}" for n in range(20)]
UNKNOWN = [f"+1201666{n:04d}" for n in range(10)]


async def _store(api, numbers: list[str]) -> None:
    rows = ", ".join(f'{{number: "{n}", firstName: "n{n[-4:]}"}}' for n in numbers)
    await api.data(f"mutation {{ importSubscribers(input: [{rows}]) {{ createdCount }} }}")


async def test_concurrent_lookups_each_get_their_own_answer_in_fewer_statements(
    engine, api, other_account, monkeypatch
):
    await _store(api, STORED)
    async with engine.begin() as conn:  # another account holding the same numbers
        other = await auth.create_key(conn, other_account.id, "read")
    statements: list[int] = []  # the numbers each statement asked for
    fetch_many, fetch_one = repository.get_subscribers_by_e164, repository.get_subscriber_by_e164

    async def many(conn, account_id, numbers):
        statements.append(len(numbers))
        return await fetch_many(conn, account_id, numbers)

    async def one(conn, account_id, number):
        statements.append(1)
        return await fetch_one(conn, account_id, number)

    monkeypatch.setattr(repository, "get_subscribers_by_e164", many)
    monkeypatch.setattr(repository, "get_subscriber_by_e164", one)
    app = create_app(Settings(rate_limit_per_second=0), engine=engine)
    numbers = STORED + UNKNOWN
    async with asgi_client(app, headers=api.headers()) as client:
        answers = await asyncio.gather(
            *(
                client.post("/graphql", json={"query": LOOKUP, "variables": {"n": n}})
                for n in numbers
            ),
            client.post(
                "/graphql",
                json={"query": LOOKUP, "variables": {"n": STORED[0]}},
                headers={"Authorization": f"Bearer {other.secret}"},
            ),
        )
    found = [a.json()["data"]["subscriber"] for a in answers]
    expected = [{"e164Number": n, "firstName": f"n{n[-4:]}"} for n in STORED]
    assert found == [*expected, *[None] * len(UNKNOWN), None]  # the other account has none
    assert sum(statements) == len(numbers) + 1
    assert len(statements) < len(numbers), statements  # shared: not one statement each


async def test_without_sharing_every_lookup_is_its_own_statement(engine, api, monkeypatch):
    await _store(api, STORED[:3])
    used: list[int] = []
    fetch = repository.get_subscribers_by_e164

    async def counted(conn, account_id, numbers):
        used.append(len(numbers))
        return await fetch(conn, account_id, numbers)

    monkeypatch.setattr(repository, "get_subscribers_by_e164", counted)
    app = create_app(Settings(rate_limit_per_second=0, lookup_statements=0), engine=engine)
    async with asgi_client(app, headers=api.headers()) as client:
        answers = await asyncio.gather(
            *(
                client.post("/graphql", json={"query": LOOKUP, "variables": {"n": n}})
                for n in STORED[:3]
            )
        )
    assert [a.json()["data"]["subscriber"]["e164Number"] for a in answers] == STORED[:3]
    assert used == []  # the request's own connection, one statement each
