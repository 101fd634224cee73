"""The rejects and warnings files: each row exactly as it was read, plus what happened.

CSV rows keep the file's columns and gain row_number, then {kind}_column (the file
column at fault), {kind}_code, {kind}_reason and {kind}_message; JSON lines become
{"row": ..., "row_number": ..., ...}. A CSV is written the way the input was: its
delimiter, its encoding, a BOM where it had one, so that the spreadsheet that made the
input opens the rejects the same way. Lanes finish batches out of order: the file is
put in row order when the import finishes (`finish`).
"""

from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


def _escape_or_replace(error: UnicodeError) -> tuple[str | bytes, int]:
    """Bytes that were not valid in the input go back as they were (surrogateescape);
    a message's character the input's encoding lacks becomes "?"."""
    if isinstance(error, UnicodeEncodeError):
        text = error.object[error.start : error.end]
        if all("\udc80" <= ch <= "\udcff" for ch in text):
            return bytes(ord(ch) - 0xDC00 for ch in text), error.end
        return "?" * len(text), error.end
    raise error


codecs.register_error("substore-rows", _escape_or_replace)


@dataclass(frozen=True)
class Layout:
    """How the input file was written, for the files that give its rows back."""

    delimiter: str = ","
    encoding: str = "utf-8"  # "utf-8-sig" where the input had a BOM


class RowLog:
    """Rows with one problem each (kind "error": rejects; "warning": stored, but check)."""

    def __init__(
        self,
        path: Path | None,
        kind: str,
        columns: list[str],
        jsonl: bool,
        keep_bytes: int = 0,
        layout: Layout = Layout(),
    ) -> None:
        self.path, self.columns, self.jsonl, self.layout = path, columns, jsonl, layout
        self.extra = [
            "row_number",
            *(f"{kind}_{n}" for n in ("column", "code", "reason", "message")),
        ]
        self._handle: IO[str] | None = None
        self._fresh = keep_bytes == 0 or path is None or not path.exists()
        if path is None:
            return
        self._handle = handle = self._open("w" if self._fresh else "a+")
        if not self._fresh:
            handle.truncate(keep_bytes)  # drop what a killed run wrote after its checkpoint
            handle.seek(keep_bytes)
        elif not jsonl:
            self._csv(handle).writerow([*columns, *self.extra])

    def _open(self, mode: str) -> IO[str]:
        assert self.path is not None
        encoding = "utf-8" if self.jsonl else self.layout.encoding
        return self.path.open(mode, newline="", encoding=encoding, errors="substore-rows")

    def _csv(self, handle: IO[str]) -> Any:
        return csv.writer(handle, delimiter=self.layout.delimiter)

    def write(self, number: int, row: dict[str, Any], column: str, problem: dict[str, Any]) -> None:
        if self._handle is None:
            return
        values = [
            number,
            column,
            problem.get("code"),
            problem.get("reason"),
            problem.get("message"),
        ]
        if self.jsonl:
            line = {"row": row, **dict(zip(self.extra, values, strict=True))}
            self._handle.write(json.dumps(line) + "\n")
        else:
            self._csv(self._handle).writerow([row.get(c, "") for c in self.columns] + values)

    def offset(self) -> int:
        if self._handle is None:
            return 0
        self._handle.flush()
        return self._handle.tell()

    def discard(self) -> None:
        """Remove the file if this run made it (a run that stored nothing)."""
        self.close()
        if self.path is not None and self._fresh:
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(self, keep_empty: bool) -> int:
        """Put the rows in row order; how many there are. An empty file is removed
        unless `keep_empty` (the user named it)."""
        self.close()
        if self.path is None or not self.path.exists():
            return 0
        with self._open("r") as handle:
            header, records = self._records(handle)
        if not records and not keep_empty:
            self.path.unlink()
            return 0
        # In memory: rejects are a small part of an import; a file of nothing but
        # rejects costs about its own size a few times over, once, at the end.
        records.sort(key=lambda pair: pair[0])
        with self._open("w") as handle:
            if header is not None:
                self._csv(handle).writerow(header)
            for _, record in records:
                if self.jsonl:
                    handle.write(record)
                else:
                    self._csv(handle).writerow(record)
        return len(records)

    def _records(self, handle: IO[str]) -> tuple[list[str] | None, list[tuple[int, Any]]]:
        if self.jsonl:
            lines = [line for line in handle if line.strip()]
            return None, [(json.loads(line)["row_number"], line) for line in lines]
        reader = csv.reader(handle, delimiter=self.layout.delimiter)
        header = next(reader, None)
        at = len(self.columns)  # row_number follows the file's own columns
        return header, [(int(record[at]), record) for record in reader if record]
