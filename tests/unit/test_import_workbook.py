"""importer/workbook.py, shared_strings.py and formats.py: .xlsx cells as the importer
reads them, the sheet asked for, and the files it refuses with what to do instead."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from tests.support import save_workbook

from substore.importer.formats import Format, format_of
from substore.importer.shared_strings import SpilledStrings
from substore.importer.source import ImportFileError, Source
from substore.importer.workbook import cell_value


@pytest.mark.parametrize(
    ("value", "read"),
    [
        (4.47400123456e11, 447400123456),  # a number stored as a float: exactly its digits
        (4155552671.0, 4155552671),
        (447400123456, 447400123456),
        (1.5, "1.5"),
        (1e300, "1e+300"),  # past 2**53 a float is no integer a phone number could be
        (dt.datetime(2026, 11, 1), "2026-11-01"),  # a date cell
        (dt.datetime(2026, 11, 1, 10, 30), "2026-11-01T10:30:00"),
        (dt.time(9, 15), "09:15:00"),
        (True, "TRUE"),
        (None, ""),
        ("07911 123456", "07911 123456"),
    ],
)
def test_cells_as_the_importer_reads_them(value, read):
    assert cell_value(value) == read
    assert type(cell_value(value)) is type(read)


def test_the_first_sheet_its_header_and_its_rows(tmp_path):
    path = save_workbook(
        tmp_path / "contacts.xlsx",
        {
            "Contacts": [
                ["Mobile", "First Name", "Signed up", "Country"],
                [4.47400123456e11, "Ada", dt.datetime(2026, 11, 1), "GB"],
                [],  # an empty row is skipped, as in a CSV, and still counted
                ["+1 415 555 2671", None, None, "US"],
            ],
            "Other": [["Phone"], ["+49301234567"]],
        },
    )
    source = Source(path)
    assert source.format is Format.XLSX
    assert source.columns() == ["Mobile", "First Name", "Signed up", "Country"]
    rows = list(source.rows())
    assert [(r.number, r.values) for r in rows] == [
        (
            1,
            {
                "Mobile": 447400123456,
                "First Name": "Ada",
                "Signed up": "2026-11-01",
                "Country": "GB",
            },
        ),
        (3, {"Mobile": "+1 415 555 2671", "First Name": "", "Signed up": "", "Country": "US"}),
    ]


def test_a_sheet_by_name(tmp_path):
    path = save_workbook(
        tmp_path / "two.xlsx", {"A": [["x"]], "Leads": [["Phone"], ["+49301234567"]]}
    )
    assert [r.values for r in Source(path, sheet="Leads").rows()] == [{"Phone": "+49301234567"}]
    with pytest.raises(ImportFileError, match=r"--sheet 'Nope' is not in the workbook.*'Leads'"):
        Source(path, sheet="Nope").columns()


def test_sheet_is_only_for_workbooks(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("Phone\n+49301234567\n")
    with pytest.raises(ImportFileError, match=r"--sheet is for \.xlsx"):
        Source(path, sheet="A")


def test_progress_reaches_the_file_size_and_rows_are_numbered(tmp_path):
    rows = [["Phone", "Name"], *([f"+1415555{n:04d}", f"P{n}"] for n in range(3000))]
    path = save_workbook(tmp_path / "big.xlsx", {"S": rows})
    progress = [0, 0]
    read = list(Source(path).rows(progress))
    assert len(read) == 3000 and read[-1].number == 3000
    assert progress[0] == path.stat().st_size


def test_a_workbook_named_csv_is_read_as_a_workbook(tmp_path):
    saved = save_workbook(tmp_path / "export.xlsx", {"S": [["Phone"], ["+49301234567"]]})
    path = saved.rename(tmp_path / "export.csv")
    assert Source(path).columns() == ["Phone"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, r"Excel 97-2003.*\.xlsx"),
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, r"Excel 97-2003.*\.xlsx"),
        ("list.xls", b"Phone\n+49301234567\n", r"Excel 97-2003.*save it as \.xlsx"),
        ("list.numbers", None, r"Apple Numbers.*Export To"),
        ("list.ods", None, r"OpenDocument.*\.xlsx"),
        ("list.zip", None, r"zip archive"),
    ],
)
def test_files_it_cannot_read_are_refused_with_what_to_do(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        inside = {".numbers": "Index/Document.iwa", ".ods": "content.xml"}.get(path.suffix, "a.csv")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(inside, "x")
    else:
        path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        Source(path)


def test_format_by_name_for_text_files(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "a.txt").write_text("Phone\n")
    assert format_of(tmp_path / "a.jsonl") is Format.JSONL
    assert format_of(tmp_path / "a.txt") is Format.CSV


def test_shared_strings_come_back_from_the_file_as_openpyxl_reads_them():
    xml = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>Phone</t></si>"
        "<si><r><t>Jür</t></r><r><rPr><b/></rPr><t>gen</t></r></si>"  # rich text runs
        '<si><t xml:space="preserve"> 07911 123456 </t></si>'
        '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si>'  # no reading hint
        "</sst>"
    )
    strings = SpilledStrings.read(io.BytesIO(xml.encode()))
    assert len(strings) == 4
    assert [strings[i] for i in range(4)] == ["Phone", "Jürgen", " 07911 123456 ", "東京"]
    with pytest.raises(IndexError):
        strings[4]
    strings.close()
