"""Which reader a file needs: by its first bytes, then by its name.

A workbook named `.csv` is still a workbook (CRMs and people rename files), and a file
substore cannot read is refused with what to do instead, before any row is read: read
as text, an .xlsx is a zip archive whose "header" is binary noise.
"""

from __future__ import annotations

import zipfile
from enum import StrEnum
from pathlib import Path


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"


_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls (and other Office 97 files)
_SAVE_AS = "save it as .xlsx (Excel workbook) or CSV (UTF-8) and import that"
UNSUPPORTED = {
    ".xls": f"an Excel 97-2003 workbook (.xls), which substore import does not read: {_SAVE_AS}",
    ".numbers": "an Apple Numbers file, which substore import does not read: export it "
    "(File > Export To) as Excel .xlsx or CSV and import that",
    ".ods": f"an OpenDocument spreadsheet, which substore import does not read: {_SAVE_AS}",
}


def format_of(path: Path) -> Format:
    """The reader for `path`; ValueError with the reason when substore reads none."""
    with path.open("rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    if magic.startswith(_OLE2):
        raise ValueError(f"{path} is {UNSUPPORTED['.xls']}")
    if magic.startswith(_ZIP):
        return _zipped(path, suffix)
    if suffix in UNSUPPORTED:
        raise ValueError(f"{path} is {UNSUPPORTED[suffix]}")
    return Format.JSONL if suffix in (".jsonl", ".ndjson") else Format.CSV


def _zipped(path: Path, suffix: str) -> Format:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        if suffix in UNSUPPORTED:
            raise ValueError(f"{path} is {UNSUPPORTED[suffix]}") from None
        raise ValueError(f"{path} looks like a zip archive but cannot be opened") from None
    if "xl/workbook.xml" in names:
        return Format.XLSX
    if "Index/Document.iwa" in names or suffix == ".numbers":
        raise ValueError(f"{path} is {UNSUPPORTED['.numbers']}")
    if "content.xml" in names:
        raise ValueError(f"{path} is {UNSUPPORTED['.ods']}")
    raise ValueError(f"{path} is a zip archive, not a workbook or a CSV: unzip it first")
