"""The file side of `substore import`: rows in, subscriber inputs out, rejects, checkpoint.

Everything streams: rows are read one at a time and nothing holds the whole file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

NUMBER_COLUMNS = ("number", "phone", "phone_number", "phoneNumber", "mobile", "Phone", "Number")
AUTO_FIELDS = {
    "e164Number": "e164Number",
    "firstName": "firstName",
    "first_name": "firstName",
    "lastName": "lastName",
    "last_name": "lastName",
    "email": "email",
    "status": "status",
    "consentedAt": "consentedAt",
    "consented_at": "consentedAt",
    "consentSource": "consentSource",
    "consent_source": "consentSource",
}
STATUSES = ("SUBSCRIBED", "UNSUBSCRIBED")
ERROR_COLUMNS = ("error_code", "error_reason", "error_message", "error_field")
_KEYPAD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999")


class ImportFileError(Exception):
    """The file, its columns or the checkpoint cannot be used; nothing was sent."""


def is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows as dicts, in file order: a CSV with a header row, or JSON lines."""
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        if is_jsonl(path):
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield _json_row(line, number)
        else:
            yield from csv.DictReader(handle)


def _json_row(line: str, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"line {number} is not JSON: {error}") from None
    if not isinstance(row, dict):
        raise ImportFileError(f"line {number} is not a JSON object")
    return row


def header(path: Path) -> list[str]:
    """The CSV's columns, or the first JSON line's keys."""
    first = next(read_rows(path), None)
    if is_jsonl(path):
        return list(first or {})
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        return next(csv.reader(handle), [])


def count_rows(path: Path) -> int:
    """A quick estimate of the rows (lines), for progress and ETA."""
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(0, lines - (0 if is_jsonl(path) else 1))


@dataclass(frozen=True)
class Mapping:
    """Which column feeds which SubscriberInput field."""

    number: str | None
    fields: dict[str, str] = field(default_factory=dict)  # input field -> column

    @classmethod
    def build(
        cls,
        columns: list[str],
        number_column: str | None,
        e164_column: str | None,
        extra: dict[str, str],
    ) -> Mapping:
        number = number_column or next((c for c in NUMBER_COLUMNS if c in columns), None)
        fields = {f: c for c, f in AUTO_FIELDS.items() if c in columns}
        if e164_column:
            fields["e164Number"] = e164_column
        fields.update(extra)
        wanted = [c for c in (number, *fields.values()) if c]
        missing = [c for c in wanted if c not in columns]
        if missing or not (number or "e164Number" in fields):
            raise ImportFileError(
                f"columns {missing or ['number']} not found; the file has {columns}. "
                "Name them with --number-column, --e164-column or --map field=Column."
            )
        return cls(number, fields)

    def to_input(self, row: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The row as a SubscriberInput, or None and the error that keeps it from being sent."""
        data: dict[str, Any] = {}
        if self.number and _present(row.get(self.number)):
            data["number"] = _phone(row[self.number])
        for name, column in self.fields.items():
            value = row.get(column)
            if not _present(value):
                continue  # an empty cell leaves the stored value alone
            if name.startswith("attributes."):
                data.setdefault("attributes", {})[name.split(".", 1)[1]] = value
            elif name == "attributes":
                data["attributes"] = value if isinstance(value, dict) else _text(value)
            else:
                data[name] = _phone(value) if name == "e164Number" else _text(value)
        if "status" in data:
            data["status"] = data["status"].upper()
            if data["status"] not in STATUSES:
                value = row[self.fields["status"]]
                return None, _local("status", f"status {value!r} is not SUBSCRIBED or UNSUBSCRIBED")
        if "consentedAt" in data and not _is_time(data["consentedAt"]):
            # Checked here: a time the server cannot read would refuse the whole batch.
            value = data["consentedAt"]
            message = f"consentedAt {value!r} is not a time like 2026-05-01T14:30:00Z"
            return None, _local("consentedAt", message)
        return data, None

    def lane_key(self, row: dict[str, Any]) -> str:
        """Digits that any two spellings of one number end with (for lane routing)."""
        e164 = row.get(self.fields["e164Number"]) if "e164Number" in self.fields else None
        number = e164 if _present(e164) else row.get(self.number) if self.number else None
        return _digits(str(number or ""))[-8:]


def _local(field_name: str, message: str) -> dict[str, Any]:
    return {"code": "PARAMETER_INVALID", "message": message, "field": [field_name]}


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _phone(value: Any) -> str | int:
    # Strings and integers go as they are; anything else as text, for the server to refuse.
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else _text(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _digits(text: str) -> str:
    out = []
    for char in text.upper().translate(_KEYPAD):
        digit = unicodedata.digit(char, None)
        if digit is not None:
            out.append(str(digit))
    return "".join(out)


def lane_of(key: str, lanes: int) -> int:
    return zlib.crc32(key.encode()) % lanes


# --- rejects -------------------------------------------------------------------------


class Rejects:
    """Each refused row as it was, plus code, reason, message and field."""

    def __init__(self, path: Path | None, columns: list[str], jsonl: bool, keep_bytes: int) -> None:
        self.path, self.columns, self.jsonl = path, columns, jsonl
        self._handle: io.TextIOWrapper | None = None
        if path is None:
            return
        fresh = keep_bytes == 0 or not path.exists()
        # surrogateescape: a row that was not valid UTF-8 is written back byte for byte.
        self._handle = path.open(
            "a+" if not fresh else "w", newline="", encoding="utf-8", errors="surrogateescape"
        )
        if not fresh:
            self._handle.truncate(keep_bytes)  # drop what a killed run wrote after its checkpoint
            self._handle.seek(keep_bytes)
        elif not jsonl:
            csv.writer(self._handle).writerow([*columns, *ERROR_COLUMNS])

    def write(self, row: dict[str, Any], error: dict[str, Any]) -> None:
        if self._handle is None:
            return
        extra = [
            error.get("code"),
            error.get("reason"),
            error.get("message"),
            ".".join(error.get("field") or []),
        ]
        if self.jsonl:
            self._handle.write(
                json.dumps({"row": row, **dict(zip(ERROR_COLUMNS, extra, strict=True))}) + "\n"
            )
        else:
            csv.writer(self._handle).writerow([row.get(c, "") for c in self.columns] + extra)

    def offset(self) -> int:
        if self._handle is None:
            return 0
        self._handle.flush()
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


# --- checkpoint ----------------------------------------------------------------------


@dataclass
class Checkpoint:
    """Which batches are stored, so `--resume` does not send them again.

    A JSON-lines file: a header naming the source, then one line per finished batch,
    written after that batch's rejects were flushed.
    """

    path: Path
    identity: dict[str, Any]
    done: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    rejects_bytes: int = 0

    @classmethod
    def start(cls, path: Path, identity: dict[str, Any], resume: bool) -> Checkpoint:
        checkpoint = cls(path, identity)
        if resume and path.exists():
            checkpoint._load()
        else:
            path.write_text(json.dumps({"source": identity}) + "\n")
        return checkpoint

    def _load(self) -> None:
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        if not lines or lines[0].get("source") != self.identity:
            raise ImportFileError(
                f"{self.path} belongs to another file or other options; delete it to start over"
            )
        for entry in lines[1:]:
            self.done.add(entry["batch"])
            for key, value in entry["counts"].items():
                self.counts[key] = self.counts.get(key, 0) + value
            self.rejects_bytes = entry["rejectsBytes"]

    def record(self, batch: str, counts: dict[str, int], rejects_bytes: int) -> None:
        with self.path.open("a") as handle:
            handle.write(
                json.dumps({"batch": batch, "counts": counts, "rejectsBytes": rejects_bytes}) + "\n"
            )
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def source_identity(path: Path, **options: Any) -> dict[str, Any]:
    stat = path.stat()
    return {
        "file": str(path.resolve()),
        "size": stat.st_size,
        "mtime": int(stat.st_mtime),
        **options,
    }
