"""Which rows an import has stored, so that `--resume` sends only the others.

A JSON-lines file: a header naming the source (the file, its size and time, the mapping
and options: not the batch size or the lanes, which may change between runs), then
one line per stored batch, with its rows as ranges of row numbers, its counts, and how
far the rejects and warnings files reached. It is written after the batch's rejects and
warnings were flushed, and fsync'd.

Before a batch is sent, a "sending" line names its rows and the idempotency key it goes
with (fsync'd too); its stored line repeats the key. A batch sent and never stored (the
run was killed, or its answer was lost) may have been stored by the server all the
same: `--resume` sends it again first, the same rows under the same key, and the server
answers as it did the first time instead of counting its rows again as updated.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from substore.importer.source import ImportFileError


@dataclass
class Checkpoint:
    path: Path
    identity: dict[str, Any]
    done: bytearray = field(default_factory=bytearray)  # one byte a row: 1 = stored
    counts: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)  # rejects / warnings file sizes
    recorded: int = 0  # batches this run recorded
    outputs: dict[str, str | None] = field(default_factory=dict)  # rejects, warnings paths
    pending: dict[str, list[list[int]]] = field(default_factory=dict)  # sent, not stored
    # This run's batches being sent: key -> their rows' ranges as JSON (the stored line
    # repeats them, and a batch's thousand numbers cost more than its fsyncs).
    _sending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls, path: Path, identity: dict[str, Any], resume: bool, outputs: dict[str, str | None]
    ) -> Checkpoint:
        """A new checkpoint, or (`resume`) the one at `path` with the outputs it recorded:
        `outputs` holds the ones given now (None: not given, so the recorded one)."""
        checkpoint = cls(path, identity, outputs=dict(outputs))
        if resume and path.exists():
            checkpoint._load(outputs)
        else:
            header = {"source": identity, "outputs": outputs}
            path.write_text(json.dumps(header) + "\n")
        return checkpoint

    def _load(self, given: dict[str, str | None]) -> None:
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        if not lines or lines[0].get("source") != self.identity:
            raise ImportFileError(
                f"{self.path} belongs to another file or other options; delete it to start over"
            )
        recorded = lines[0].get("outputs", {})
        for name, path in recorded.items():
            if given.get(name) not in (None, path):
                raise ImportFileError(
                    f"the import being resumed writes its {name} to {path}: "
                    f"run it again with --{name} {path}, or without --{name}"
                )
            self.outputs[name] = path
        for entry in lines[1:]:
            if "sending" in entry:
                self.pending[entry["sending"]] = entry["rows"]
                continue
            self.pending.pop(entry.get("key"), None)
            for first, last in entry["rows"]:
                self._mark(first, last)
            for key, value in entry["counts"].items():
                self.counts[key] = self.counts.get(key, 0) + value
            self.offsets = entry["offsets"]

    def _mark(self, first: int, last: int) -> None:
        self._reach(last)
        self.done[first : last + 1] = b"\x01" * (last + 1 - first)

    def _mark_rows(self, rows: list[int]) -> None:
        """_mark for each row: a lane's rows are rarely adjacent, so ranges save nothing."""
        self._reach(max(rows, default=-1))
        done = self.done
        for number in rows:
            done[number] = 1

    def _reach(self, number: int) -> None:
        """`done` long enough to hold row `number`."""
        if len(self.done) <= number:
            self.done.extend(bytes(number + 1 - len(self.done)))

    @property
    def empty(self) -> bool:
        """No batch was recorded, by this run or one before it."""
        return not self.done and not self.recorded

    def stored(self, number: int) -> bool:
        return number < len(self.done) and self.done[number] == 1

    def sending(self, rows: list[int]) -> str:
        """A new idempotency key for a batch of these rows, recorded before it is sent."""
        key = str(uuid.uuid4())
        self._sending[key] = json.dumps(_ranges(rows))
        self._append({"sending": key}, self._sending[key])
        return key

    def record(
        self,
        rows: list[int],
        counts: dict[str, int],
        offsets: dict[str, int],
        key: str | None = None,
    ) -> None:
        """`rows` stored (under `key`: the rows `sending` gave it, or a pending batch's)."""
        self.recorded += 1
        sent = self._sending.pop(key, None) if key else None
        entry = {"counts": counts, "offsets": offsets}
        self._append(entry | ({"key": key} if key else {}), sent or json.dumps(_ranges(rows)))
        self._mark_rows(rows)  # a resume's first pass: its rows are not sent again
        self.pending.pop(key or "", None)

    def _append(self, entry: dict[str, Any], rows: str) -> None:
        """`entry` with its "rows" (already JSON), as one line, synced to the disk."""
        line = json.dumps(entry)
        with self.path.open("a") as handle:
            handle.write(f'{line[:-1]}, "rows": {rows}}}\n')
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def _ranges(numbers: list[int]) -> list[list[int]]:
    """[3, 4, 5, 9] -> [[3, 5], [9, 9]]: a lane's rows are increasing, often adjacent."""
    out: list[list[int]] = []
    ordered = sorted(numbers)
    if not ordered:
        return out
    first = last = ordered[0]
    for number in ordered[1:]:
        if number != last + 1:
            out.append([first, last])
            first = number
        last = number
    out.append([first, last])
    return out


def source_identity(path: Path, **options: Any) -> dict[str, Any]:
    stat = path.stat()
    return {
        "file": str(path.resolve()),
        "size": stat.st_size,
        "mtime": int(stat.st_mtime),
        **options,
    }
