"""`substore import` against a real server over HTTP: counts, rejects, resume, retries."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.e2e.importing import new_account, store_of, substore_import
from tests.support import free_port

from substore import services
from substore.importer.client import Importer, run_import
from substore.importer.job import ImportJob
from substore.importer.source import Source
from substore.importer.transport import FatalImportError

DISTINCT = 3000


# --- the file ------------------------------------------------------------------------

INVALID = ["12", "555-0123", "911", "not a phone", "+999 123 4567", "+1 201 555 0123 ext 9"]


def spellings(n: int) -> list[str]:
    national = f"201555{n:04d}" if n < 10_000 else f"202555{n - 10_000:04d}"
    return [
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
        f"+1{national}",
        f"1-{national[:3]}-{national[3:6]}-{national[6:]}",
        f"{national[:3]}.{national[3:6]}.{national[6:]}",
    ]


@pytest.fixture(scope="module")
def crm_file(tmp_path_factory) -> tuple[Path, dict]:
    """5000 rows: 3000 distinct numbers in mixed formats, 5% invalid, duplicates near and far."""
    rng = random.Random(5000)
    rows, truth = [], {"invalid": 0, "valid": 0}
    numbers = list(range(DISTINCT))
    extra = [rng.randrange(DISTINCT) for _ in range(5000 - DISTINCT - 250)]  # duplicates
    order = numbers + extra
    rng.shuffle(order)
    for position, n in enumerate(order):
        rows.append(
            {
                "Phone": rng.choice(spellings(n)),
                "First Name": f"name-{n}-{position}",
                "Email": f"s{n}@example.com",
                "status": rng.choice(["subscribed", "", "Unsubscribed"]),
            }
        )
    for _ in range(250):  # 5% invalid, spread through the file
        rows.insert(
            rng.randrange(len(rows)),
            {"Phone": rng.choice(INVALID), "First Name": "bad", "Email": "", "status": ""},
        )
    truth["invalid"], truth["valid"] = 250, len(rows) - 250
    path = tmp_path_factory.mktemp("crm") / "export.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Phone", "First Name", "Email", "status"])
        writer.writeheader()
        writer.writerows(rows)
    return path, truth


def job(path: Path, url: str, token: str, tmp: Path, **overrides) -> ImportJob:
    values = dict(
        source=Source(path),
        url=url,
        token=token,
        mapping={"firstName": "First Name", "email": "Email"},
        batch_size=400,
        concurrency=2,
        rejects=tmp / "rejects.csv",
        checkpoint=tmp / "ckpt",
        backoff_seconds=0.01,
    )
    return ImportJob(**{**values, **overrides})


# --- tests ---------------------------------------------------------------------------


async def test_counts_rejects_and_reimport(engine, servers, crm_file, tmp_path):
    path, truth = crm_file
    account, token = await new_account(engine)
    totals = await run_import(job(path, servers["plain"], token, tmp_path))
    assert totals.rows == truth["valid"] + truth["invalid"]
    assert totals.created == DISTINCT
    assert totals.updated + totals.merged == truth["valid"] - DISTINCT
    assert totals.failed == truth["invalid"] and totals.exit_code == 1
    with (tmp_path / "rejects.csv").open() as handle:
        rejects = list(csv.DictReader(handle))
    assert len(rejects) == truth["invalid"]
    assert {r["Phone"] for r in rejects} <= set(INVALID)
    assert all(
        r["error_code"] == "INVALID_PHONENUMBER_FORMAT" and r["error_message"] for r in rejects
    )
    assert len(await store_of(engine, account)) == DISTINCT
    again = await run_import(job(path, servers["plain"], token, tmp_path))
    assert (again.created, again.updated + again.merged, again.failed) == (
        0,
        truth["valid"],
        truth["invalid"],
    )
    assert not (tmp_path / "ckpt").exists()  # a finished import leaves no checkpoint


async def test_later_rows_win_across_batches_and_lanes(engine, servers, crm_file, tmp_path):
    path, _ = crm_file
    account, token = await new_account(engine)
    await run_import(job(path, servers["plain"], token, tmp_path, concurrency=3, batch_size=150))
    last_name = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["First Name"] != "bad":
                last_name[row["Email"]] = row["First Name"]
    stored = {email: first for _, _, first, email, _ in await store_of(engine, account)}
    assert stored == last_name


async def test_a_tight_rate_limit_loses_and_duplicates_nothing(engine, servers, crm_file, tmp_path):
    """The limited server lets a key send 4 requests a second, 2 at once: the client
    honours Retry-After and the store is exactly what an unlimited import makes."""
    path, truth = crm_file
    limited, limited_token = await new_account(engine)
    steady, steady_token = await new_account(engine)
    (tmp_path / "l").mkdir()
    (tmp_path / "s").mkdir()
    totals = await run_import(job(path, servers["limited"], limited_token, tmp_path / "l"))
    await run_import(job(path, servers["plain"], steady_token, tmp_path / "s"))
    assert (totals.created, totals.failed) == (DISTINCT, truth["invalid"])
    assert await store_of(engine, limited) == await store_of(engine, steady)


async def test_flaky_server_loses_and_duplicates_nothing(engine, servers, crm_file, tmp_path):
    path, truth = crm_file
    steady, steady_token = await new_account(engine)
    flaky, flaky_token = await new_account(engine)
    (tmp_path / "steady").mkdir()
    await run_import(job(path, servers["plain"], steady_token, tmp_path / "steady"))
    totals = await run_import(job(path, servers["flaky"], flaky_token, tmp_path))
    assert totals.failed == truth["invalid"]
    # Answers lost after the commit: the retries carry the batch's key, so its rows are
    # counted as first stored, not again as updated.
    assert totals.created == DISTINCT
    assert totals.updated + totals.merged == truth["valid"] - DISTINCT
    assert await store_of(engine, flaky) == await store_of(engine, steady)


async def test_killed_import_resumes_to_the_same_store_and_counts(
    engine, servers, crm_file, tmp_path
):
    """SIGKILL while batches are in flight (the late server has committed them and not
    yet answered), then --resume: the store and the summary's counts are a clean run's."""
    path, _ = crm_file
    steady, steady_token = await new_account(engine)
    killed, killed_token = await new_account(engine)

    def command(url: str, name: str, batch: str = "100", lanes: str = "2") -> list[str]:
        return [
            sys.executable,
            "-m",
            "substore.cli",
            "import",
            str(path),
            "--url",
            url,
            "--map",
            "firstName=First Name",
            "--map",
            "email=Email",
            "--batch-size",
            batch,
            "--concurrency",
            lanes,
            "--rejects",
            str(tmp_path / f"{name}.csv"),
            "--checkpoint",
            str(tmp_path / f"{name}.ckpt"),
        ]

    env = {**os.environ, "SUBSTORE_TOKEN": killed_token}
    proc = await asyncio.create_subprocess_exec(
        *command(servers["late"], "killed"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.to_thread(_wait_for_batches, tmp_path / "killed.ckpt", 8)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    await asyncio.sleep(0.5)  # the batches in flight commit on the server
    partial = len(await store_of(engine, killed))
    assert 0 < partial < DISTINCT
    assert _in_flight(tmp_path / "killed.ckpt"), "the kill left no batch in flight"
    # Other batches and lanes: the checkpoint records rows, not batches; and without
    # --rejects: the checkpoint recorded where the rejects go.
    again = command(servers["slow"], "killed", batch="250", lanes="3")
    at = again.index("--rejects")
    resumed = await asyncio.to_thread(
        subprocess.run,
        [*again[:at], *again[at + 2 :], "--resume"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 1, resumed.stderr  # 1: some rows were rejected
    assert "250 rejected" in resumed.stdout
    steady_done = await asyncio.to_thread(
        subprocess.run,
        command(servers["plain"], "steady"),
        env={**os.environ, "SUBSTORE_TOKEN": steady_token},
        capture_output=True,
        text=True,
    )
    assert steady_done.returncode == 1, steady_done.stderr
    assert _summary(resumed.stdout) == _summary(steady_done.stdout)
    assert await store_of(engine, killed) == await store_of(engine, steady)
    # In row order, whichever lane stored which batch when.
    assert (tmp_path / "killed.csv").read_text() == (tmp_path / "steady.csv").read_text()


def _summary(stdout: str) -> dict[str, int]:
    """The counts of an import's summary ("N created, N updated, N merged, N rejected").
    Updated and merged together: which repeats of a number merge depends on which rows
    share a batch, so a clean run with another batch size splits them otherwise too."""
    pattern = r"([\d,]+) created, ([\d,]+) updated, ([\d,]+) merged, ([\d,]+) rejected"
    [found] = re.findall(pattern, stdout)
    created, updated, merged, rejected = (int(n.replace(",", "")) for n in found)
    return {"created": created, "updated or merged": updated + merged, "rejected": rejected}


def _in_flight(checkpoint: Path) -> int:
    """Batches the checkpoint says were being sent and not stored."""
    entries = [json.loads(line) for line in checkpoint.read_text().splitlines()[1:]]
    sent = {e["sending"] for e in entries if "sending" in e}
    return len(sent - {e.get("key") for e in entries})


async def test_rejects_go_beside_the_input_by_default_and_the_summary_says_so(
    engine, servers, tmp_path
):
    _, token = await new_account(engine)
    path = tmp_path / "people.csv"
    path.write_text("phone,name\n555-0123,Local\n2015550101,Ada\nnot a number,Bad\n")
    done = substore_import(path, servers["plain"], "--token", token)
    assert done.returncode == 1, done.stderr
    rejects = tmp_path / "people.rejects.csv"
    assert f"2 rejected (see {rejects})" in done.stdout
    assert [line.split(",")[0] for line in rejects.read_text().splitlines()] == [
        "phone", "555-0123", "not a number",
    ]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "people.rejects.csv"]


def _wait_for_batches(checkpoint: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if checkpoint.exists() and checkpoint.read_text().count('"counts"') >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the import made no progress")


async def test_nul_surrogate_and_nan_rows_are_rejected_and_the_rest_stored(
    engine, servers, tmp_path
):
    """Such rows used to make their whole batch a 500, retried until the client gave up,
    and --resume sent the same batch again: the file could never be imported."""
    account, token = await new_account(engine)
    row = {"firstName": "Ok", "lastName": "Ok", "attributes": {"score": 1}}
    bad = [
        {**row, "number": "2015550301", "firstName": "Ad\x00a"},
        {**row, "number": "2015550302", "lastName": "\ud800"},
        {**row, "number": "2015550303", "attributes": {"score": float("nan")}},
        {**row, "number": "2015550304", "attributes": {"score": float("-inf")}},
    ]
    good = [{**row, "number": f"20155504{i:02d}"} for i in range(20)]
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in good[:10] + bad + good[10:]))
    rejects = tmp_path / "rejects.jsonl"
    args = ("--token", token, "--rejects", str(rejects), "--map", "attributes=attributes")
    done = substore_import(path, servers["plain"], *args)
    assert done.returncode == 1, done.stderr
    refused = [json.loads(line) for line in rejects.read_text().splitlines()]
    found = {r["row_number"]: (r["row"]["number"], r["error_column"]) for r in refused}
    assert found == {  # JSON lines: the row number is the line
        11: ("2015550301", "firstName"),
        12: ("2015550302", "lastName"),
        13: ("2015550303", "attributes"),
        14: ("2015550304", "attributes"),
    }
    assert {r["error_code"] for r in refused} == {"PARAMETER_INVALID"}
    assert len(await store_of(engine, account)) == 20


async def test_a_status_column_cannot_resubscribe_numbers_that_texted_stop(
    engine, servers, tmp_path
):
    account, token = await new_account(engine)
    stopped = [f"+1201555{n:04d}" for n in range(700, 704)]
    async with engine.begin() as conn:
        for number in stopped:
            await services.record_inbound_message(conn, account, number, "STOP")
    fresh = datetime.now(UTC).isoformat()
    rows = [
        *[{"Phone": n, "Status": "subscribed", "consented_at": ""} for n in stopped[:3]],
        {"Phone": stopped[3], "Status": "SUBSCRIBED", "consented_at": fresh},
        {"Phone": "+12015550710", "Status": "SUBSCRIBED", "consented_at": ""},
        {"Phone": "+12015550711", "Status": "SUBSCRIBED", "consented_at": "last tuesday"},
    ]
    path = tmp_path / "crm.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["Phone", "Status", "consented_at"])
        writer.writeheader()
        writer.writerows(rows)
    args = ("--token", token, "--map", "status=Status", "--rejects", str(tmp_path / "r.csv"))
    done = substore_import(path, servers["plain"], *args)
    assert done.returncode == 1, done.stderr  # the unreadable consented_at is rejected
    assert "3 kept opted out" in done.stdout
    store = {e164: status for e164, _, _, _, status in await store_of(engine, account)}
    assert [store[n] for n in stopped] == ["UNSUBSCRIBED"] * 3 + ["SUBSCRIBED"]
    assert store["+12015550710"] == "SUBSCRIBED"
    assert "+12015550711" not in store
    with (tmp_path / "r.csv").open() as handle:
        [rejected] = list(csv.DictReader(handle))
    assert (rejected["Phone"], rejected["error_column"]) == ("+12015550711", "consented_at")
    assert rejected["row_number"] == "6"


async def test_a_refused_document_is_a_400_with_its_message(engine, servers, crm_file, tmp_path):
    # The client asks for graphql-response+json: variables that do not coerce are a 400.
    _, token = await new_account(engine)
    importer = Importer(job(crm_file[0], servers["plain"], token, tmp_path))
    importer.options["noSuchOption"] = True
    with pytest.raises(FatalImportError, match=r"refused a batch \(400\): .*noSuchOption"):
        await importer.run()


def test_bad_token_is_exit_2(servers, crm_file):
    done = substore_import(crm_file[0], servers["plain"], "--token", "sk_wrong")
    assert done.returncode == 2
    assert "refused the API key (401)" in done.stderr


def test_unreachable_server_is_exit_2_after_retries(crm_file):
    url = f"http://127.0.0.1:{free_port()}/graphql"
    done = substore_import(crm_file[0], url, "--token", "sk_x", "--max-retries", "1")
    assert done.returncode == 2
    assert "gave up after 2 tries" in done.stderr


async def test_example_script_imports_and_reports_refusals(engine, servers):
    _, token = await new_account(engine)
    env = {**os.environ, "SUBSTORE_URL": servers["plain"], "SUBSTORE_TOKEN": token}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "examples/import_with_httpx.py"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "created 3, updated 0, merged 0, refused 1" in done.stdout
    assert "row 3: INVALID_PHONENUMBER_FORMAT LOCAL_ONLY" in done.stdout
