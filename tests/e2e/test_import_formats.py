"""`substore import` with workbooks and exports from other countries: .xlsx (first sheet
or --sheet, numbers stored as numbers, dates), .xls refused with what to do, German
headers, and countries as people write them (England, Deutschland, --default-region UK)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from tests.e2e.importing import new_account, store_of, substore_import
from tests.support import save_workbook


def rows_of(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["row_number"]: row for row in csv.DictReader(handle)}


async def test_an_xlsx_workbook_is_imported_from_its_first_sheet(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = save_workbook(
        tmp_path / "contacts.xlsx",
        {
            "Contacts": [
                ["Mobile Phone", "First Name", "Email", "Country", "Consent Date"],
                [4.47400123456e11, "Ada", "ada@example.com", "GB", dt.datetime(2026, 1, 5)],
                [4155552671, "Grace", None, "US", None],  # stored as a number
                ["07911 123456", "Alan", None, "England", None],
                ["030 1234567", "Jürgen", None, "Deutschland", None],
                [7911123457, "Zero", None, "GB", None],  # its leading 0 was lost: still read
            ],
            "Archive": [["Phone"], ["+12015550100"]],
        },
    )
    warnings = tmp_path / "warnings.csv"
    done = substore_import(path, servers["plain"], "--token", token, "--warnings", str(warnings))
    assert done.returncode == 0, done.stderr
    store = {e164: (raw, name) for e164, raw, name, _, _ in await store_of(engine, account)}
    assert store == {
        "+447400123456": ("447400123456", "Ada"),  # no .0, no float artefact
        "+14155552671": ("4155552671", "Grace"),
        "+447911123456": ("07911 123456", "Alan"),
        "+49301234567": ("030 1234567", "Jürgen"),
        "+447911123457": ("7911123457", "Zero"),
    }
    warned = rows_of(warnings)
    assert warned["3"]["warning_reason"] == "COUNTRY_NAME_READ"
    assert "GB (United Kingdom)" in warned["3"]["warning_message"]
    assert warned["3"]["warning_column"] == "Country"
    assert "DE (Germany)" in warned["4"]["warning_message"]
    async with engine.connect() as conn:
        from substore import repository

        ada = await repository.get_subscriber_by_e164(conn, account.id, "+447400123456")
    assert ada.consented_at.date() == dt.date(2026, 1, 5)  # a date cell, as ISO text


async def test_sheet_picks_a_sheet_by_name(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = save_workbook(tmp_path / "two.xlsx", {"Notes": [["text"], ["hi"]], "Leads": [["Telefon"], ["+12015550101"]]})  # fmt: skip
    done = substore_import(path, servers["plain"], "--token", token, "--sheet", "Leads")
    assert done.returncode == 0, done.stderr
    assert {e164 for e164, *_ in await store_of(engine, account)} == {"+12015550101"}
    missing = substore_import(path, servers["plain"], "--token", token, "--sheet", "Nope")
    assert missing.returncode == 2
    said = " ".join(missing.stderr.split())  # rich wraps at the terminal's width
    assert "'Nope' is not in the workbook; its sheets are ['Notes', 'Leads']" in said


def test_xls_and_numbers_files_are_refused_with_what_to_do(servers, tmp_path):
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    done = substore_import(xls, servers["plain"], "--token", "sk_x")
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert "Excel 97-2003" in said and "save it as .xlsx" in said
    assert "PK" not in done.stderr and "no phone number column" not in done.stderr
    numbers = tmp_path / "list.numbers"
    numbers.write_bytes(b"PK\x03\x04")
    done = substore_import(numbers, servers["plain"], "--token", "sk_x")
    assert done.returncode == 2 and "Numbers" in done.stderr


async def test_a_german_export_finds_its_columns_and_countries(engine, servers, tmp_path):
    account, token = await new_account(engine, "DE")
    path = tmp_path / "kontakte.csv"
    path.write_text(
        "Telefon;Vorname;Nachname;E-Mail;Land\n"
        "030 1234567;Jürgen;Müller;juergen@example.de;Deutschland\n"
        "0662 123456;Anna;Huber;;Österreich\n"
        "07911 123456;Grace;Hopper;;Großbritannien\n"
        "06 12345678;Jan;Smit;;Nederland\n",
        encoding="utf-8",
    )
    done = substore_import(path, servers["plain"], "--token", token)
    assert done.returncode == 0, done.stderr
    store = {e164: (name, email) for e164, _, name, email, _ in await store_of(engine, account)}
    assert store == {
        "+49301234567": ("Jürgen", "juergen@example.de"),
        "+43662123456": ("Anna", None),
        "+447911123456": ("Grace", None),
        "+31612345678": ("Jan", None),
    }


async def test_default_region_takes_uk_and_names(engine, servers, tmp_path):
    account, token = await new_account(engine)
    path = tmp_path / "uk.csv"
    path.write_text("phone\n07911 123456\n")
    for region in ("UK", "England", "Great Britain", "gb"):
        done = substore_import(path, servers["plain"], "--token", token, "--default-region", region)
        assert done.returncode == 0, (region, done.stderr)
    named = substore_import(path, servers["plain"], "--token", token, "--default-region", "England")
    assert "read as GB (United Kingdom)" in " ".join(named.stderr.split())
    assert {e164 for e164, *_ in await store_of(engine, account)} == {"+447911123456"}
    wrong = substore_import(path, servers["plain"], "--token", token, "--default-region", "Narnia")
    assert wrong.returncode == 2 and "--default-region" in wrong.stderr
