"""Reading an .xlsx workbook: the first sheet (or the one named), its first row the header.

openpyxl in read-only mode streams the sheet's XML a row at a time. Cells come out as a
CSV would give them, except that a number stored as a number stays a number: an integer
(a float that is one, such as 4.47400123456E11, becomes 447400123456 exactly; never
"447400123456.0", whose extra 0 would be read as a digit), dates as ISO text, and
formulas as the value the spreadsheet last computed.

Two parts of openpyxl are replaced to keep memory flat however many rows: the shared
strings table (shared_strings.py) and the sheet parser's loop (_RowParser). Both lean on
openpyxl's internals, which is why its version is pinned exactly.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import iterparse

from openpyxl.reader.excel import ExcelReader
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import DATA_TAG as _SHEET_DATA
from openpyxl.worksheet._reader import ROW_TAG as _ROW
from openpyxl.worksheet._reader import WorkSheetParser

from substore.importer.shared_strings import SpilledStrings

# Above 2**53 a float no longer holds every integer: such a cell is not a phone number
# (15 digits at most) and goes as the text a spreadsheet would show.
_EXACT = 2**53
PROGRESS_EVERY = 256  # rows between updates of the share read


class WorkbookError(ValueError):
    """The workbook or the sheet asked for cannot be read."""


class Opened:
    """A workbook open in read-only mode, and its sheet; closes both on exit."""

    def __init__(self, path: Path, sheet: str | None) -> None:
        # A file object, not its name: openpyxl refuses names that do not end in .xlsx,
        # and formats.py has already seen that this one is a workbook.
        self.file = path.open("rb")
        reader = _Reader(self.file, read_only=True, data_only=True, keep_links=False)
        try:
            with warnings.catch_warnings():
                # Styles and extensions openpyxl drops ("no default style", data
                # validation): the import reads values only.
                warnings.simplefilter("ignore", UserWarning)
                reader.read()
        except Exception as error:  # openpyxl raises anything from KeyError to XML errors
            self.file.close()
            raise WorkbookError(f"{path} cannot be read as an .xlsx workbook: {error}") from None
        self.book: Workbook = reader.wb
        self.strings = reader.shared_strings
        try:
            self.sheet = _sheet_of(self.book, sheet)
        except WorkbookError:
            self.close()
            raise

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.book.close()
        self.file.close()
        if isinstance(self.strings, SpilledStrings):
            self.strings.close()


class _Reader(ExcelReader):
    """openpyxl's reader, keeping the shared strings out of memory: a list of every
    distinct text of a million-row sheet is hundreds of MB."""

    def read_strings(self) -> None:
        from openpyxl.xml.constants import SHARED_STRINGS

        found = self.package.find(SHARED_STRINGS)
        if found is not None:
            with self.archive.open(found.PartName[1:]) as source:
                self.shared_strings = SpilledStrings.read(source)


def _sheet_of(book: Workbook, name: str | None) -> ReadOnlyWorksheet:
    if name is None:
        return book.worksheets[0]
    if name not in book.sheetnames:
        raise WorkbookError(
            f"--sheet {name!r} is not in the workbook; its sheets are {book.sheetnames}"
        )
    return book[name]


def sheet_rows(
    opened: Opened, progress: list[int] | None, size: int
) -> Iterator[tuple[int, list[str | int]]]:
    """(sheet row number, values by column) for every row that has a cell; `progress[0]`
    is the share of the sheet read, in bytes of the file (by the row count the sheet
    states, when it states one: an estimate for the ETA, never a limit)."""
    sheet, book = opened.sheet, opened.book
    total = sheet.max_row or 0
    with sheet._get_source() as source:
        parser = _RowParser(
            source,
            opened.strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for count, (number, cells) in enumerate(parser.rows(), 1):
            if progress is not None and total and count % PROGRESS_EVERY == 0:
                progress[0] = min(size, size * number // total)
            yield number, _values(cells)
    if progress is not None:
        progress[0] = size


class _RowParser(WorkSheetParser):
    """openpyxl's sheet parser, reading rows only and letting go of each: its own parse()
    clears a row but leaves the emptied element in the tree, memory that grows with
    every row (bench/xlsx_memory.py measures the whole read)."""

    def rows(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        data = None
        for event, element in iterparse(self.source, events=("start", "end")):
            if event == "start":
                data = element if element.tag == _SHEET_DATA else data
            elif element.tag == _ROW:
                row = self.parse_row(element)
                if data is not None:
                    data.clear()
                yield row


def _values(cells: list[dict[str, Any]]) -> list[str | int]:
    """The row's cells by column (1-based in the sheet), "" where a cell is missing."""
    values: list[str | int] = []
    for cell in cells:
        column = cell["column"]
        values.extend([""] * (column - 1 - len(values)))
        values.append(cell_value(cell["value"]))
    return values


def cell_value(value: Any) -> str | int:
    """A cell as the importer reads it: text, or an integer for a whole number."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as the spreadsheet shows it
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < _EXACT else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
