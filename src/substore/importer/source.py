"""Reading an import file: rows with their row numbers, one at a time.

CSV (a header row; comma, semicolon, tab or pipe, sniffed unless given; UTF-8 with or
without BOM, or any encoding Python knows, cp1252 for Windows exports) or JSON lines
(`.jsonl`/`.ndjson`: keys read per row; a line that is not a JSON object, or that is
nested deeper than MAX_LINE_DEPTH, is a row of its own that is rejected, with its line
number, not the end of the import), or an .xlsx workbook (workbook.py). formats.py tells
which, and refuses the files none of them reads (.xls, .numbers) with what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from substore.importer.formats import Format, format_of
from substore.importer.outputs import Layout
from substore.text import MAX_JSON_DEPTH, nested_deeper

# openpyxl takes ~0.1 s to load (a CSV import's whole start-up is ~0.3 s): workbooks only.
if TYPE_CHECKING:
    from substore.importer import workbook

DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}
# The line's own object around attributes that nest MAX_JSON_DEPTH levels. Measured before
# json.loads, which recurses once a level: 5000 levels were a traceback, not a reject.
MAX_LINE_DEPTH = MAX_JSON_DEPTH + 1


class ImportFileError(Exception):
    """The file, its columns, the options or the checkpoint cannot be used; nothing was sent."""


class SourceRow(NamedTuple):
    """One row as read (a tuple: made for every row, at a third of a frozen dataclass's cost)."""

    number: int  # the 1-based data row of a CSV, or the line of a JSON-lines file
    values: dict[str, Any]
    problem: str | None = None  # why the row could not even be read


@dataclass(frozen=True)
class Source:
    path: Path
    encoding: str = "utf-8-sig"
    delimiter: str | None = None  # None: sniffed
    sheet: str | None = None  # a workbook's sheet; None: the first
    format: Format = field(init=False)

    def __post_init__(self) -> None:
        if not self.path.is_file():
            raise ImportFileError(f"{self.path} is not a file")
        try:
            object.__setattr__(self, "format", format_of(self.path))
        except ValueError as error:
            raise ImportFileError(str(error)) from None
        if self.sheet is not None and self.format is not Format.XLSX:
            raise ImportFileError(f"--sheet is for .xlsx workbooks; {self.path} is not one")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ImportFileError(f"--encoding {self.encoding!r} is not an encoding") from None
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise ImportFileError(
                f"--delimiter {self.delimiter!r}: give one of , ; | or tab"
            ) from None

    @property
    def jsonl(self) -> bool:
        return self.format is Format.JSONL

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def open(self) -> TextIO:
        # surrogateescape: bytes that are not valid in the encoding reach the server as
        # such (a row it refuses) and go back to the rejects file byte for byte.
        return self.path.open(newline="", encoding=self.encoding, errors="surrogateescape")

    def columns(self) -> list[str]:
        """The CSV's or the sheet's header, or the keys of the first JSON object."""
        if self.format is Format.XLSX:
            from substore.importer import workbook

            with self._workbook() as book:
                header = next(workbook.sheet_rows(book, None, self.size), (0, []))
                return [str(value) for value in header[1]]
        if self.jsonl:
            first = next((r for r in self.rows() if r.problem is None), None)
            return list(first.values) if first else []
        with self.open() as handle:
            return next(csv.reader(handle, self.dialect()), [])

    def rows(self, progress: list[int] | None = None) -> Iterator[SourceRow]:
        """Every row in file order; `progress[0]` follows the bytes read (for the ETA)."""
        if self.format is Format.XLSX:
            yield from self._sheet_rows(progress)
            return
        dialect = None if self.jsonl else self.dialect()
        with self.path.open("rb") as raw:
            text = io.TextIOWrapper(raw, self.encoding, errors="surrogateescape", newline="")
            handle = _Lines(text, raw, progress)
            yield from self._csv_rows(handle, dialect) if dialect else self._json_rows(handle)

    def _csv_rows(self, handle: _Lines, dialect: Any) -> Iterator[SourceRow]:
        reader = csv.reader(handle, dialect)
        columns = next(reader, [])
        for number, values in enumerate(reader, 1):
            if values:
                # A short row lacks the last columns, a long one's extra cells are dropped;
                # strict=False (the default) as a keyword doubles what zip costs a row.
                yield SourceRow(number, dict(zip(columns, values)))  # noqa: B905

    def _sheet_rows(self, progress: list[int] | None) -> Iterator[SourceRow]:
        """The first row is the header; a data row's number is its sheet row's, less one
        (as a CSV's data row 1 is the line after the header)."""
        from substore.importer import workbook

        with self._workbook() as book:
            rows = workbook.sheet_rows(book, progress, self.size)
            first, header = next(rows, (0, []))
            columns = [str(value) for value in header]
            for number, values in rows:
                if any(value != "" for value in values):
                    row = dict(zip(columns, values, strict=False))
                    yield SourceRow(number - first, row)

    def _workbook(self) -> workbook.Opened:
        from substore.importer import workbook

        try:
            return workbook.Opened(self.path, self.sheet)
        except workbook.WorkbookError as error:
            raise ImportFileError(str(error)) from None

    def _json_rows(self, handle: _Lines) -> Iterator[SourceRow]:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            values, problem = _decode(line)
            if problem is None:
                yield SourceRow(number, values)
            else:
                yield SourceRow(number, {"line": line.rstrip("\r\n")}, problem)

    def layout(self) -> Layout:
        """How the file was written (delimiter, encoding, BOM): the rejects copy it."""
        with self.path.open("rb") as raw:
            bom = raw.read(3) == codecs.BOM_UTF8
        utf8 = codecs.lookup(self.encoding).name in ("utf-8", "utf-8-sig")
        encoding = ("utf-8-sig" if bom else "utf-8") if utf8 else self.encoding
        delimiter = "," if self.jsonl else self.dialect().delimiter
        return Layout(delimiter, encoding)

    def dialect(self) -> Any:
        """The CSV dialect: the delimiter given, else the one the header row uses most.

        The header, not csv.Sniffer: it guesses from the whole sample and is thrown by a
        quoted note full of semicolons; a header row is names and delimiters."""
        delimiter = DELIMITERS[self.delimiter] if self.delimiter else None
        if delimiter is None:
            with self.open() as handle:
                first = handle.readline()
            counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
            delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
        return type("Dialect", (csv.excel,), {"delimiter": delimiter})


def _decode(line: str) -> tuple[dict[str, Any], str | None]:
    """A JSON line's object, or why it is not one."""
    if nested_deeper(line, MAX_LINE_DEPTH):
        deep = f"nested more than {MAX_LINE_DEPTH} levels deep: flatten it"
        return {}, f"{deep} (a value in the line may nest {MAX_JSON_DEPTH})"
    try:
        values = json.loads(line)
    except ValueError as error:
        return {}, f"not JSON: {error}"
    return (values, None) if isinstance(values, dict) else ({}, "not a JSON object")


PROGRESS_EVERY = 256  # lines between updates of the bytes read


class _Lines:
    """Text lines of a binary file, reporting how many bytes were read so far."""

    def __init__(self, text: Any, raw: Any, progress: list[int] | None) -> None:
        self.text, self.raw, self.progress = text, raw, progress
        self.first = True

    def __iter__(self) -> Iterator[str]:
        for count, line in enumerate(self.text):
            if self.first:  # a BOM that the codec did not take (utf-8 rather than utf-8-sig)
                line, self.first = line.removeprefix("\ufeff"), False
            # tell() is a system call: a fifth of the client's CPU when made every line,
            # and the reader is a buffer ahead of the lines anyway.
            if self.progress is not None and count % PROGRESS_EVERY == 0:
                self.progress[0] = self.raw.tell()
            yield line
        if self.progress is not None:
            self.progress[0] = self.raw.tell()
