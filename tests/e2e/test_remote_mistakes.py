"""Mistakes no retry can fix end `substore import` and `substore export` at once: exit 2,
one line saying what to change, the key never printed, nothing left behind."""

from __future__ import annotations

import time

import pytest
from tests.e2e.importing import new_account, substore_import
from tests.e2e.test_export import substore_export

CSV = "phone,name\n2015550101,Ada\n2015550102,Grace\n"


def _mistakes(url: str, token: str) -> dict[str, tuple[str, str, str]]:
    """name -> (--url, --token, what the message says)."""
    base = url.removesuffix("/graphql")
    return {
        "no scheme": (base.removeprefix("http://"), token, "not an http:// or https:// URL"),
        "tls to http": (base.replace("http://", "https://"), token, "did not answer TLS"),
        "newline in key": (url, token + "\n", "remove it"),
        "typo in path": (base + "/graphq", token, "(404): check --url"),
        "wrong key": (url, "sk_" + "x" * 43, "(401): check --token"),
    }


@pytest.mark.parametrize(
    "mistake", ["no scheme", "tls to http", "newline in key", "typo in path", "wrong key"]
)
async def test_an_import_that_cannot_work_stops_at_once_and_leaves_nothing(
    engine, servers, tmp_path, mistake
):
    _, token = await new_account(engine)
    url, key, says = _mistakes(servers["plain"], token)[mistake]
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    started = time.monotonic()
    done = substore_import(path, url, "--token", key)
    assert time.monotonic() - started < 10  # not 8 retries with backoff
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and "--resume" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert token not in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv"]


@pytest.mark.parametrize("mistake", ["no scheme", "newline in key", "typo in path", "wrong key"])
async def test_an_export_that_cannot_work_stops_at_once_and_leaves_nothing(
    engine, servers, tmp_path, mistake
):
    _, token = await new_account(engine)
    url, key, says = _mistakes(servers["plain"], token)[mistake]
    done = substore_export(tmp_path / "out.csv", url, key)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert token not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []


async def test_import_and_export_take_the_same_base_url(engine, servers, tmp_path):
    _, token = await new_account(engine)
    base = servers["plain"].removesuffix("/graphql") + "/"
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    assert substore_import(path, base, "--token", token).returncode == 0
    done = substore_export(tmp_path / "out.csv", base, token)
    assert done.returncode == 0, done.stderr
    assert "2 subscribers" in done.stdout
