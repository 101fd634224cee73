"""Bulk-import client: sends a CSV or JSON-lines file to importSubscribers over HTTP only.

Rows are routed into `concurrency` lanes by the trailing digits of their number, so any
two rows that can be the same subscriber travel in one lane, in file order, and each
lane sends its batches one after another: "later rows win" holds across batches too.
Batches are idempotent, so a batch is retried on 429, 5xx and connection errors.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from substore.importer.files import (
    Checkpoint,
    ImportFileError,
    Mapping,
    Rejects,
    header,
    is_jsonl,
    lane_of,
    read_rows,
    source_identity,
)

# Only failed rows come back in full: the counts say the rest, and completing 1000
# result objects costs the server more than the rows' normalisation.
MUTATION = """mutation Import($rows: [SubscriberInput!]!, $options: ImportOptions) {
  importSubscribers(input: $rows, options: $options) {
    createdCount updatedCount mergedCount failedCount keptOptedOutCount
    userErrors { code field message }
    results(status: [FAILED]) { index userErrors { code field message reason } }
  }
}"""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
COUNTS = ("created", "updated", "merged", "failed", "keptOptedOut")


class FatalImportError(Exception):
    """The import cannot go on: bad token, a refused batch, or retries ran out."""


@dataclass
class ImportJob:
    path: Path
    url: str
    token: str
    number_column: str | None = None
    e164_column: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    default_region: str | None = None
    strict_country_code: bool = False
    batch_size: int = 1000
    concurrency: int = 2
    rejects: Path | None = None
    resume: bool = False
    checkpoint: Path | None = None
    max_retries: int = 8
    backoff_seconds: float = 0.5

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.path.with_name(self.path.name + ".checkpoint")

    @property
    def endpoint(self) -> str:
        url = self.url.rstrip("/")
        return url if url.endswith("/graphql") else url + "/graphql"


@dataclass
class Totals:
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    failed: int = 0
    keptOptedOut: int = 0

    def add(self, counts: dict[str, int]) -> None:
        for name in ("rows", *COUNTS):
            setattr(self, name, getattr(self, name) + counts.get(name, 0))

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass
class Batch:
    id: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # as read, for rejects
    inputs: list[dict[str, Any]] = field(default_factory=list)  # sent, same order as `sent`
    sent: list[int] = field(default_factory=list)  # index into rows of each input
    # Rows refused before sending, with their error.
    local: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


Progress = Callable[[int, Totals], None]
_EMPTY = {"results": [], **{f"{name}Count": 0 for name in COUNTS}}


class Importer:
    def __init__(self, job: ImportJob, on_progress: Progress | None = None) -> None:
        self.job = job
        self.on_progress = on_progress or (lambda rows, totals: None)
        self.totals = Totals()
        columns = header(job.path)
        self.columns = columns
        self.mapping = Mapping.build(columns, job.number_column, job.e164_column, job.mapping)
        self.options = {
            "defaultRegion": job.default_region,
            "strictCountryCode": job.strict_country_code,
        }

    async def run(self) -> Totals:
        identity = source_identity(
            self.job.path,
            batchSize=self.job.batch_size,
            lanes=self.job.concurrency,
            mapping=[self.mapping.number, self.mapping.fields],
            options=self.options,
        )
        checkpoint = Checkpoint.start(self.job.checkpoint_path, identity, self.job.resume)
        self.totals.add(checkpoint.counts)
        rejects = Rejects(
            self.job.rejects, self.columns, is_jsonl(self.job.path), checkpoint.rejects_bytes
        )
        try:
            await self._run_lanes(checkpoint, rejects)
        finally:
            rejects.close()
        checkpoint.finish()
        return self.totals

    async def _run_lanes(self, checkpoint: Checkpoint, rejects: Rejects) -> None:
        lanes = [asyncio.Queue[Batch | None](maxsize=1) for _ in range(self.job.concurrency)]
        timeout = httpx.Timeout(120.0, connect=10.0)
        headers = {"Authorization": f"Bearer {self.job.token}"}
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as http:
            try:
                async with asyncio.TaskGroup() as group:
                    for queue in lanes:
                        group.create_task(self._lane(http, queue, checkpoint, rejects))
                    group.create_task(self._produce(lanes, checkpoint))
            except* (FatalImportError, ImportFileError) as failures:
                raise failures.exceptions[0] from None

    async def _produce(self, lanes: list[asyncio.Queue], checkpoint: Checkpoint) -> None:
        """Read the file once, filling each lane's batch; stored batches are skipped."""
        open_batches = [Batch(f"{lane}-0") for lane in range(len(lanes))]
        sequence = [0] * len(lanes)
        for row in read_rows(self.job.path):
            lane = lane_of(self.mapping.lane_key(row), len(lanes))
            self._add(open_batches[lane], row)
            if len(open_batches[lane].rows) >= self.job.batch_size:
                await self._emit(lanes[lane], open_batches[lane], checkpoint)
                sequence[lane] += 1
                open_batches[lane] = Batch(f"{lane}-{sequence[lane]}")
        for lane, batch in enumerate(open_batches):
            if batch.rows:
                await self._emit(lanes[lane], batch, checkpoint)
            await lanes[lane].put(None)

    def _add(self, batch: Batch, row: dict[str, Any]) -> None:
        data, problem = self.mapping.to_input(row)
        batch.rows.append(row)
        if data is None:
            batch.local.append((len(batch.rows) - 1, problem or {"message": "cannot be sent"}))
        else:
            batch.sent.append(len(batch.rows) - 1)
            batch.inputs.append(data)

    async def _emit(self, queue: asyncio.Queue, batch: Batch, checkpoint: Checkpoint) -> None:
        if batch.id in checkpoint.done:
            self.on_progress(len(batch.rows), self.totals)  # stored by an earlier run
            return
        await queue.put(batch)

    async def _lane(self, http: httpx.AsyncClient, queue, checkpoint, rejects) -> None:
        while (batch := await queue.get()) is not None:
            payload = await self._send(http, batch.inputs) if batch.inputs else _EMPTY
            # No await from here on: rejects and checkpoint always describe the same batches.
            counts = self._record(batch, payload, rejects)
            checkpoint.record(batch.id, counts, rejects.offset())
            self.totals.add(counts)
            self.on_progress(len(batch.rows), self.totals)

    def _record(self, batch: Batch, payload: dict, rejects: Rejects) -> dict[str, int]:
        counts = {name: payload[f"{name}Count"] for name in COUNTS} | {"rows": len(batch.rows)}
        for result in payload["results"]:
            rejects.write(batch.rows[batch.sent[result["index"]]], result["userErrors"][0])
        for index, error in batch.local:
            counts["failed"] += 1
            rejects.write(batch.rows[index], error)
        return counts

    async def _send(self, http: httpx.AsyncClient, inputs: list[dict]) -> dict[str, Any]:
        body = {"query": MUTATION, "variables": {"rows": inputs, "options": self.options}}
        # Not httpx's json=: it refuses NaN and cannot encode a lone surrogate, so one
        # such row stopped the whole import. Escaped ASCII gets them to the server, which
        # refuses that row alone and stores the others.
        content = json.dumps(body).encode()
        for attempt in range(self.job.max_retries + 1):
            wait: float | None = None
            try:
                response = await http.post(self.job.endpoint, content=content, headers=_JSON)
            except httpx.TransportError as error:
                problem = f"cannot reach {self.job.endpoint}: {error!r}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return _payload(response)
                problem = f"the server answered {response.status_code}"
                wait = _retry_after(response)
            if attempt < self.job.max_retries:
                backoff = self.job.backoff_seconds * 2**attempt * (0.5 + random.random())
                await asyncio.sleep(wait if wait is not None else min(backoff, 30.0))
        raise FatalImportError(f"gave up after {self.job.max_retries + 1} tries: {problem}")


_JSON = {"Content-Type": "application/json"}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


def _payload(response: httpx.Response) -> dict[str, Any]:
    """The importSubscribers payload of a 200 answer; anything else ends the import."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") or []
    if response.status_code in (401, 403):
        raise FatalImportError(
            f"the server refused the token ({response.status_code}): "
            f"{errors[0]['message'] if errors else response.text[:200]}"
        )
    if response.status_code != 200 or errors or not body.get("data"):
        message = errors[0]["message"] if errors else response.text[:200]
        raise FatalImportError(f"the server refused a batch ({response.status_code}): {message}")
    payload = body["data"]["importSubscribers"]
    if payload["userErrors"]:
        error = payload["userErrors"][0]
        raise FatalImportError(f"the server refused the batch: {error['code']}: {error['message']}")
    return payload


async def run_import(job: ImportJob, on_progress: Progress | None = None) -> Totals:
    return await Importer(job, on_progress).run()
