"""Bulk-import client: sends an import file to importSubscribers over HTTP only.

Rows are routed into `concurrency` lanes by the trailing digits of their number, so any
two rows that can be the same subscriber travel in one lane, in file order, and each
lane sends its batches one after another: "later rows win" holds across batches too.
Each request carries an idempotency key (recorded in the checkpoint first), so a batch
retried on 429, 5xx and connection errors, or sent again by `--resume`, is counted as the
server first answered it; a batch the server finds too large (413) is split in two.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from substore.importer import pending, transport
from substore.importer.checkpoint import Checkpoint, source_identity
from substore.importer.job import ImportJob
from substore.importer.mapping import Mapping, RowReader, local_error
from substore.importer.outputs import RowLog
from substore.importer.pacing import OnChange, Pacing
from substore.importer.source import ImportFileError, SourceRow
from substore.importer.transport import (
    EMPTY,
    SERVER_COUNTS,
    FatalImportError,
    check_access,
    post,
    send_batch,
)


@dataclass
class Totals:
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    failed: int = 0
    keptOptedOut: int = 0  # named as the payload's keptOptedOutCount
    warned: int = 0  # rows stored with a warning

    def add(self, counts: dict[str, int]) -> None:
        for name in ("rows", *SERVER_COUNTS, "warned"):
            setattr(self, name, getattr(self, name) + counts.get(name, 0))

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass
class Batch:
    rows: list[SourceRow] = field(default_factory=list)  # as read, for rejects and warnings
    inputs: list[dict[str, Any]] = field(default_factory=list)  # sent, same order as `sent`
    sent: list[int] = field(default_factory=list)  # index into rows of each input
    local: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # refused before sending

    def add(
        self, row: SourceRow, data: dict[str, Any] | None, error: dict[str, Any] | None
    ) -> None:
        """`row` with its input (`data`), or with the `error` that keeps it here."""
        self.rows.append(row)
        if data is None:
            self.local.append((len(self.rows) - 1, error or local_error("", "unreadable")))
        else:
            self.sent.append(len(self.rows) - 1)
            self.inputs.append(data)


# A lane's batches, then None when the file is read.
Lane = asyncio.Queue[Batch | None]

# Called with (rows just done, totals, [bytes, rows] of the file read so far).
Progress = Callable[[int, Totals, list[int]], None]


class Importer:
    def __init__(
        self, job: ImportJob, on_progress: Progress | None = None, on_pace: OnChange | None = None
    ) -> None:
        self.job, self.source = job, job.source
        self.on_progress = on_progress or (lambda rows, totals, read: None)
        self.pacing = Pacing(job.concurrency, on_pace)
        self.totals = Totals()
        self.outputs: dict[str, Path] = {}  # rejects / warnings files, once they are known
        self.columns = self.source.columns()
        self.jsonl = self.source.jsonl  # asked for every row: the path's suffix, once
        self.mapping = Mapping.build(self.columns, job.mapping, strict_columns=not self.jsonl)
        self._row_mappings: dict[tuple[str, ...], Mapping] = {}
        self._readers: dict[tuple[str, ...], RowReader] = {}
        self._reader = self.mapping.reader()
        self.read = [0, 0]  # bytes and rows of the file read so far
        self.options = {
            "defaultRegion": job.default_region,
            "strictCountryCode": job.strict_country_code,
            "invalidFields": "DROP_FIELD" if job.drop_invalid_fields else "REJECT_ROW",
            "dryRun": job.dry_run,
        }

    async def run(self) -> Totals:
        identity = source_identity(
            self.source.path, mapping=self.mapping.fields, options=self.options
        )
        async with self._client() as http:
            # A wrong URL or key fails here, before a checkpoint or an output exists.
            await self._preflight(http)
            checkpoint = Checkpoint.start(
                self.job.checkpoint_path, identity, self.job.resume, self._outputs_given()
            )
            self.outputs = {k: Path(v) for k, v in checkpoint.outputs.items() if v}
            self.totals.add(checkpoint.counts)
            rejects, warned = self._log("rejects", checkpoint), self._log("warnings", checkpoint)
            try:
                await self._resend(http, checkpoint, rejects, warned)
                await self._run_lanes(http, checkpoint, rejects, warned)
                self.pacing.finish(time.monotonic())
            except FatalImportError as error:
                if not error.resumable and checkpoint.empty:
                    # Nothing was stored: leave nothing behind either.
                    checkpoint.finish()
                    rejects.discard()
                    warned.discard()
                raise
            finally:
                rejects.close()
                warned.close()
        for name, log in (("rejects", rejects), ("warnings", warned)):
            if not log.finish(keep_empty=getattr(self.job, name) is not None):
                self.outputs.pop(name, None)
        checkpoint.finish()
        return self.totals

    def _outputs_given(self) -> dict[str, str | None]:
        """The outputs to record: the ones named, else (a new run) the defaults beside
        the input; None on a resume without them: the checkpoint's are used."""
        out: dict[str, str | None] = {}
        for name in ("rejects", "warnings"):
            given = getattr(self.job, name)
            chosen = given or (None if self.job.resume else self.job.default_output(name))
            out[name] = str(chosen.resolve()) if chosen is not None else None
        return out

    def _log(self, name: str, checkpoint: Checkpoint) -> RowLog:
        kind = "error" if name == "rejects" else "warning"
        keep = checkpoint.offsets.get(name, 0)
        layout = self.source.layout()
        return RowLog(self.outputs.get(name), kind, self.columns, self.jsonl, keep, layout)

    async def _preflight(self, http: httpx.AsyncClient) -> None:
        try:
            check_access(
                await post(http, self.job, json.dumps({"query": transport.PREFLIGHT}).encode())
            )
        except FatalImportError as error:
            raise FatalImportError(str(error), resumable=False) from None  # nothing to resume

    def _client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(120.0, connect=10.0)
        headers = {"Authorization": f"Bearer {self.job.token}"}
        return httpx.AsyncClient(timeout=timeout, headers=headers)

    def mapping_for(self, row: SourceRow) -> Mapping:
        """A CSV has one mapping; each JSON line names its own keys."""
        if not self.jsonl:
            return self.mapping
        keys = tuple(row.values)
        if keys not in self._row_mappings:
            self._row_mappings[keys] = Mapping.build(
                list(keys), self.job.mapping, strict_columns=False
            )
        return self._row_mappings[keys]

    async def _run_lanes(
        self, http: httpx.AsyncClient, checkpoint: Checkpoint, rejects: RowLog, warned: RowLog
    ) -> None:
        lanes = [Lane(maxsize=1) for _ in range(self.job.concurrency)]
        try:
            async with asyncio.TaskGroup() as group:
                for queue in lanes:
                    group.create_task(self._lane(http, queue, checkpoint, rejects, warned))
                group.create_task(self._produce(lanes, checkpoint))
        except* (FatalImportError, ImportFileError) as failures:
            raise failures.exceptions[0] from None

    async def _produce(self, lanes: list[Lane], checkpoint: Checkpoint) -> None:
        """Read the file once, filling each lane's batch; rows stored before are skipped."""
        batches = [Batch() for _ in lanes]
        # Rows this run stores are rows already read: what is skipped is known now.
        done, size, read = bytes(checkpoint.done), self.job.batch_size, self.read
        # A CSV's or a sheet's rows all go through the one mapping's reader.
        reader = None if self.jsonl else self._reader
        for row in self.source.rows(read):
            read[1] += 1
            if row.number < len(done) and done[row.number]:
                self.on_progress(1, self.totals, read)
                continue
            key, data, error = reader(row.values) if reader else self._convert(row)
            lane = _lane_of(key, len(lanes))
            batch = batches[lane]
            batch.add(row, data, error)
            if len(batch.rows) >= size:
                await lanes[lane].put(batch)
                batches[lane] = Batch()
        for lane, batch in enumerate(batches):
            if batch.rows:
                await lanes[lane].put(batch)
            await lanes[lane].put(None)

    def _convert(self, row: SourceRow) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        """The row's lane key, and its input or the error that keeps it from going."""
        if row.problem is not None:
            problem = local_error("", f"line {row.number} is {row.problem}")
            return self.mapping_for(row).lane_key(row.values), None, problem
        if not self.jsonl:
            return self._reader(row.values)
        keys = tuple(row.values)
        if keys not in self._readers:
            self._readers[keys] = self.mapping_for(row).reader()
        return self._readers[keys](row.values)

    async def _lane(
        self,
        http: httpx.AsyncClient,
        queue: Lane,
        checkpoint: Checkpoint,
        rejects: RowLog,
        warned: RowLog,
    ) -> None:
        while (batch := await queue.get()) is not None:
            async with self.pacing.slot():
                await self._deliver(http, batch, checkpoint, rejects, warned)

    async def _resend(
        self, http: httpx.AsyncClient, checkpoint: Checkpoint, rejects: RowLog, warned: RowLog
    ) -> None:
        """The batches an earlier run sent and never saw stored, first (see pending.py)."""
        batches: dict[str, Batch] = {key: Batch() for key in checkpoint.pending}
        pending.collect(
            self.source.rows(),
            checkpoint.pending,
            lambda k, row: batches[k].add(row, *self._convert(row)[1:]),
        )
        for key, batch in batches.items():
            await self._deliver(http, batch, checkpoint, rejects, warned, key)

    async def _deliver(
        self,
        http: httpx.AsyncClient,
        batch: Batch,
        checkpoint: Checkpoint,
        rejects: RowLog,
        warned: RowLog,
        key: str | None = None,
    ) -> None:
        """Send `batch` under `key` (a new one, first written to the checkpoint), and record it."""
        rows, resent = [r.number for r in batch.rows], key is not None
        payload = EMPTY
        if batch.inputs:
            key = key or checkpoint.sending(rows)
            payload = await send_batch(http, self.job, self.options, batch.inputs, key, self._heard)
        # No await from here on: the output files and the checkpoint agree.
        counts = self._record(batch, payload, rejects, warned)
        offsets = {"rejects": rejects.offset(), "warnings": warned.offset()}
        checkpoint.record(rows, counts, offsets, key)
        self.totals.add(counts)
        # A batch sent again is counted when the file's pass skips its rows.
        self.on_progress(0 if resent else len(rows), self.totals, self.read)

    def _heard(self, headers: httpx.Headers) -> None:
        self.pacing.heard(headers, time.monotonic())

    def _record(
        self, batch: Batch, payload: dict[str, Any], rejects: RowLog, warned: RowLog
    ) -> dict[str, int]:
        counts: dict[str, int] = {name: payload[f"{name}Count"] for name in SERVER_COUNTS}
        counts |= {"rows": len(batch.rows), "warned": 0}
        for result in payload["results"]:
            row = batch.rows[batch.sent[result["index"]]]
            column_of = self.mapping_for(row).column_of
            if result["userErrors"]:
                error = result["userErrors"][0]
                rejects.write(row.number, row.values, column_of(error["field"]), error)
                continue
            counts["warned"] += 1
            for warning in result["warnings"]:
                warned.write(row.number, row.values, column_of(warning["field"]), warning)
        for index, error in batch.local:
            counts["failed"] += 1
            row = batch.rows[index]
            rejects.write(
                row.number, row.values, self.mapping_for(row).column_of(error["field"]), error
            )
        return counts


def _lane_of(key: str, lanes: int) -> int:
    return zlib.crc32(key.encode()) % lanes


async def run_import(job: ImportJob, on_progress: Progress | None = None) -> Totals:
    return await Importer(job, on_progress).run()
