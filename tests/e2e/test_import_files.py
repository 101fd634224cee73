"""`substore import` with the files CRMs and spreadsheets really produce (tests/fixtures/crm):
a BOM, CRLF, semicolons, a multi-line quoted note, spreadsheet numbers, mixed countries,
duplicates in several spellings, cp1252 names, a malformed JSON line."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.e2e.importing import new_account, store_of, substore_import

from substore.importer.source import MAX_LINE_DEPTH
from substore.text import MAX_JSON_DEPTH

FIXTURES = Path(__file__).parents[1] / "fixtures" / "crm"
HUBSPOT = FIXTURES / "hubspot_semicolons.csv"


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        delimiter = ";" if ";" in handle.readline() else ","
        handle.seek(0)
        return {row["row_number"]: row for row in csv.DictReader(handle, delimiter=delimiter)}


async def test_a_crm_export_stores_the_right_keys_and_explains_the_rest(engine, servers, tmp_path):
    account, token = await new_account(engine)
    rejects, warnings = tmp_path / "rejects.csv", tmp_path / "warnings.csv"
    done = substore_import(
        HUBSPOT, servers["plain"], "--token", token,
        "--rejects", str(rejects), "--warnings", str(warnings),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    store = {e164: (raw, name) for e164, raw, name, _, _ in await store_of(engine, account)}
    assert store == {
        "+14155552671": ("+1 (415) 555-2671", "Ada"),  # rows 1 and 4: one subscriber
        "+447911123456": ("07911 123456", "Grace"),  # read in its row's country
        "+49301234567": ("030 1234567", "Jürgen"),
        "+447400123456": ("00447400123456", "Inferred"),
        "+390212345678": ("02 1234 5678", "Italo"),
    }
    refused = rows_of(rejects)
    # Written as the input was (a BOM, semicolons), in row order.
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbfMobile Phone;First Name;")
    assert list(refused) == sorted(refused, key=int)
    assert {n: (r["error_code"], r["error_column"]) for n, r in refused.items()} == {
        "5": ("INVALID_PHONENUMBER_FORMAT", "Mobile Phone"),  # rounded by the spreadsheet
        "6": ("INVALID_EMAIL_FORMAT", "E-mail"),
        "9": ("INVALID_PHONENUMBER_FORMAT", "Mobile Phone"),  # a local number
        "10": ("INVALID_COUNTRYCODE_FORMAT", "Country"),
    }
    assert refused["5"]["error_reason"] == "NOT_A_NUMBER"
    assert "rounded" in refused["5"]["error_message"]
    assert refused["10"]["First Name"] == "Wrong"  # the row exactly as it was
    warned = rows_of(warnings)
    assert {n: r["warning_reason"] for n, r in warned.items()} == {
        "1": "SPREADSHEET_NUMBER",
        "7": "COUNTRY_CODE_INFERRED",
    }
    assert warned["1"]["warning_column"] == "Mobile Phone"
    assert "10 rows" in done.stdout and "4 rejected" in done.stdout
    assert "2 stored with a warning" in done.stdout


async def test_a_multi_line_note_and_a_consent_date_come_through(engine, servers, tmp_path):
    account, token = await new_account(engine)
    substore_import(HUBSPOT, servers["plain"], "--token", token, "--map", "attributes.notes=Notes")
    async with engine.connect() as conn:
        from substore import repository

        grace = await repository.get_subscriber_by_e164(conn, account.id, "+447911123456")
    assert grace.attributes == {"notes": "called twice;\nprefers SMS\nafter 10am"}
    assert grace.consented_at.isoformat() == "2026-11-01T10:00:00+00:00"


async def test_drop_field_stores_the_row_without_the_bad_email(engine, servers, tmp_path):
    account, token = await new_account(engine)
    warnings = tmp_path / "warnings.csv"
    args = ("--token", token, "--invalid-fields", "drop-field", "--warnings", str(warnings))
    done = substore_import(HUBSPOT, servers["plain"], *args)
    assert done.returncode == 1  # the rounded, local and Narnia rows still fail
    store = {e164: email for e164, _, _, email, _ in await store_of(engine, account)}
    assert store["+14155552672"] is None
    assert rows_of(warnings)["6"]["warning_reason"] == "FIELD_DROPPED"
    assert rows_of(warnings)["6"]["warning_column"] == "E-mail"


async def test_a_dry_run_says_the_same_and_stores_nothing(engine, servers, tmp_path):
    account, token = await new_account(engine)
    dry = substore_import(HUBSPOT, servers["plain"], "--token", token, "--dry-run")
    assert dry.returncode == 1
    assert dry.stdout.startswith("dry run, nothing stored: ")
    assert await store_of(engine, account) == set()
    real = substore_import(HUBSPOT, servers["plain"], "--token", token)
    counts = real.stdout.split(": ", 1)[1]
    assert dry.stdout.split(": ", 2)[2].split("(")[0] == counts.split("(")[0]


async def test_a_windows_export_in_cp1252(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = FIXTURES / "windows_cp1252.csv"
    done = substore_import(path, servers["plain"], "--token", token, "--encoding", "cp1252")
    assert done.returncode == 0, done.stderr
    names = {name for _, _, name, _, _ in await store_of(engine, account)}
    assert names == {"José", "Zoë", "François"}


async def test_json_lines_read_keys_per_row_and_reject_a_bad_line(engine, servers, tmp_path):
    account, token = await new_account(engine)
    rejects = tmp_path / "rejects.jsonl"
    done = substore_import(
        FIXTURES / "events.jsonl", servers["plain"], "--token", token, "--rejects", str(rejects)
    )
    assert done.returncode == 1, done.stderr
    refused = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(r["row_number"], r["error_code"]) for r in refused] == [
        (3, "PARAMETER_INVALID"),
        (4, "PARAMETER_INVALID"),
    ]
    assert "not JSON" in refused[0]["error_message"]
    store = {e164: (name, email) for e164, _, name, email, _ in await store_of(engine, account)}
    assert store == {
        "+12015550191": ("Line", "one@example.com"),
        "+12015550192": ("Line Two", None),
    }


async def test_lines_and_cells_nested_too_deep_are_rejected_and_the_rest_stored(
    engine, servers, tmp_path
):
    """A line 5000 levels deep was a RecursionError traceback (exit 1) and never reached
    the rejects file; a line or cell the server would find too deep never leaves."""
    account, token = await new_account(engine)

    def line(number: str, levels: int) -> str:
        attributes = '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)
        return f'{{"phone": "{number}", "attributes": {attributes}}}\n'

    path = tmp_path / "deep.jsonl"
    path.write_text(
        line("+12015550501", 1)
        + line("+12015550502", 5000)
        + line("+12015550503", MAX_JSON_DEPTH)  # the line's object makes 33: stored
        + line("+12015550504", MAX_JSON_DEPTH + 1)
    )
    rejects = tmp_path / "rejects.jsonl"
    args = ("--token", token, "--rejects", str(rejects), "--map", "attributes=attributes")
    done = substore_import(path, servers["plain"], *args)
    assert done.returncode == 1, done.stderr  # some rows rejected, the import finished
    assert "Traceback" not in done.stderr
    refused = [json.loads(text) for text in rejects.read_text().splitlines()]
    assert [r["row_number"] for r in refused] == [2, 4]
    assert all(f"nested more than {MAX_LINE_DEPTH}" in r["error_message"] for r in refused)
    assert refused[0]["row"]["line"].startswith('{"phone": "+12015550502"')
    assert {e164 for e164, *_ in await store_of(engine, account)} == {
        "+12015550501",
        "+12015550503",
    }
    cell = tmp_path / "deep.csv"
    cell.write_text('phone,attributes\n+12015550505,"' + "[" * 5000 + "]" * 5000 + '"\n')
    done = substore_import(cell, servers["plain"], *args[:2], "--rejects", str(tmp_path / "r.csv"))
    assert done.returncode == 1, done.stderr
    assert "attributes is nested more than" in (tmp_path / "r.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--map", "nickname=First Name"), "'nickname' is not a field"),
        (("--map", "firstName=Given"), "column 'Given' is not in the file"),
        (("--number-column", "Fax"), "column 'Fax' is not in the file"),
        (("--default-region", "XX"), "--default-region"),
        (("--delimiter", "x"), "invalid choice"),
    ],
)
def test_bad_names_stop_the_import_before_anything_is_sent(servers, tmp_path, args, message):
    checkpoint = tmp_path / "ckpt"
    done = substore_import(
        HUBSPOT, servers["plain"], "--token", "sk_x", "--checkpoint", str(checkpoint), *args
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "--resume to continue" not in done.stderr  # resuming cannot help
    assert not checkpoint.exists()


async def test_a_batch_too_large_for_the_server_is_split_and_sent(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = tmp_path / "wide.jsonl"
    rows = [{"phone": f"+1201555{n:04d}", "bio": "x" * 4000} for n in range(40)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ("--token", token, "--map", "attributes.bio=bio")
    done = substore_import(path, servers["small"], *args)
    assert done.returncode == 0, done.stderr
    assert len(await store_of(engine, account)) == 40


async def test_ctrl_c_is_one_line_and_resume_finishes(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = tmp_path / "many.csv"
    path.write_text("phone\n" + "".join(f"+1201556{n:04d}\n" for n in range(3000)))
    checkpoint = tmp_path / "ckpt"
    command = [
        sys.executable, "-m", "substore.cli", "import", str(path), "--url", servers["slow"],
        "--batch-size", "50", "--checkpoint", str(checkpoint),
    ]  # fmt: skip
    env = {**os.environ, "SUBSTORE_TOKEN": token}
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not (checkpoint.exists() and len(checkpoint.read_text().splitlines()) > 3):
        assert time.monotonic() < deadline, "no progress"
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130
    assert stderr.decode().strip().startswith("interrupted after")
    assert "Traceback" not in stderr.decode()
    resumed = await asyncio.to_thread(
        subprocess.run, [*command, "--resume"], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len(await store_of(engine, account)) == 3000
