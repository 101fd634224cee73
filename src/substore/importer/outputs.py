"""The rejects and warnings files: each row exactly as it was read, plus what happened.

CSV rows keep the file's columns and gain row_number, then {kind}_column (the file
column at fault), {kind}_code, {kind}_reason and {kind}_message; JSON lines become
{"row": ..., "row_number": ..., ...}.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any


class RowLog:
    """Rows with one problem each (kind "error": rejects; "warning": stored, but check)."""

    def __init__(
        self, path: Path | None, kind: str, columns: list[str], jsonl: bool, keep_bytes: int = 0
    ) -> None:
        self.path, self.columns, self.jsonl = path, columns, jsonl
        self.extra = [
            "row_number",
            *(f"{kind}_{n}" for n in ("column", "code", "reason", "message")),
        ]
        self._handle: io.TextIOWrapper | None = None
        if path is None:
            return
        fresh = keep_bytes == 0 or not path.exists()
        self._fresh = fresh
        # surrogateescape: a row that was not valid in its encoding is written back as it was.
        self._handle = path.open(
            "w" if fresh else "a+", newline="", encoding="utf-8", errors="surrogateescape"
        )
        if not fresh:
            self._handle.truncate(keep_bytes)  # drop what a killed run wrote after its checkpoint
            self._handle.seek(keep_bytes)
        elif not jsonl:
            csv.writer(self._handle).writerow([*columns, *self.extra])

    def write(self, number: int, row: dict[str, Any], column: str, problem: dict) -> None:
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
            csv.writer(self._handle).writerow([row.get(c, "") for c in self.columns] + values)

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
