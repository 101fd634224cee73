"""The HTTP side of an import: one request with its retries, and reading the answers.

Retried: 429 (honouring Retry-After), 5xx and connection errors that may pass. What no
retry can fix (remote.py: no scheme, TLS to plain HTTP, 401, 403, 404) ends the run at
once, and every message goes through remote.redact: the key is never printed.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from substore import remote
from substore.importer.mapping import local_error

# Only failed and warned rows come back in full: the counts say the rest, and completing
# 1000 result objects costs the server more than the rows' normalisation.
MUTATION = """mutation Import($rows: [SubscriberInput!]!, $options: ImportOptions, $key: String) {
  importSubscribers(input: $rows, options: $options, idempotencyKey: $key) {
    createdCount updatedCount mergedCount failedCount keptOptedOutCount
    userErrors { code field message }
    results(status: [FAILED], withWarnings: true) {
      index userErrors { code field message reason } warnings { code field message reason } }
  }
}"""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SERVER_COUNTS = ("created", "updated", "merged", "failed", "keptOptedOut")


class Retrying(Protocol):
    """What `post` needs of the job."""

    @property
    def endpoint(self) -> str: ...

    token: str
    max_retries: int
    backoff_seconds: float


class FatalImportError(Exception):
    """The import cannot go on: a refused token or batch, or the retries ran out."""

    def __init__(self, message: str, *, resumable: bool = True) -> None:
        super().__init__(message)
        self.resumable = resumable  # whether `--resume` can help


# graphql-response+json first, so that a refused document is a 400 (the spec's advice
# to clients, with application/json for a server that predates it). Either way payload
# reads the body: a 200 with errors is a refusal too.
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json, application/json;q=0.9",
}
# A batch says it is one: the server counts it in the imports' rate-limit bucket, and
# answers with how long its interactive requests wait (pacing.py).
BATCH_HEADERS = {**HEADERS, "Substore-Import": "batch"}

# Told each batch answer's headers.
Heard = Callable[[httpx.Headers], None]


async def post(
    http: httpx.AsyncClient, job: Retrying, content: bytes, headers: Mapping[str, str] = HEADERS
) -> httpx.Response:
    """POST with retries for what may pass; what cannot (see remote) ends the run."""
    url = job.endpoint
    for attempt in range(job.max_retries + 1):
        wait: float | None = None
        try:
            response = await http.post(url, content=content, headers=headers)
        except httpx.TransportError as error:
            if why := remote.unfixable(error, url):
                raise FatalImportError(remote.redact(why, job.token), resumable=False) from None
            problem = remote.redact(f"cannot reach {url}: {error!r}", job.token)
        else:
            if why := remote.refusal(response.status_code, url):
                raise FatalImportError(why, resumable=False)
            if response.status_code not in RETRY_STATUSES:
                return response
            problem = f"the server answered {response.status_code}"
            wait = retry_after(response)
        if attempt < job.max_retries:
            backoff = job.backoff_seconds * 2**attempt * (0.5 + random.random())
            await asyncio.sleep(wait if wait is not None else min(backoff, 30.0))
    raise FatalImportError(f"gave up after {job.max_retries + 1} tries: {problem}")


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


# Named: the server times it apart from the interactive requests it reports on.
PREFLIGHT = "query SubstoreImportPreflight { account { defaultRegion } }"


def check_access(response: httpx.Response) -> None:
    """The preflight's answer: the URL is a GraphQL API that takes the key."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("data"):
        raise FatalImportError(
            f"{response.url} is not a substore API that takes this key "
            f"({response.status_code}): check --url and --token",
            resumable=False,
        )


def payload(response: httpx.Response) -> dict[str, Any]:
    """The importSubscribers payload of a 200 answer without errors (in either GraphQL
    media type); anything else ends the import."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    errors = body.get("errors") or []
    if response.status_code in (401, 403):
        raise FatalImportError(
            f"the server refused the token ({response.status_code}): "
            f"{errors[0]['message'] if errors else response.text[:200]}",
            resumable=False,
        )
    if response.status_code != 200 or errors or not body.get("data"):
        message = errors[0]["message"] if errors else response.text[:200]
        raise FatalImportError(f"the server refused a batch ({response.status_code}): {message}")
    # JSON, shaped by MUTATION's selection.
    payload: dict[str, Any] = body["data"]["importSubscribers"]
    if payload["userErrors"]:
        error = payload["userErrors"][0]
        raise FatalImportError(
            f"the server refused the batch: {error['code']}: {error['message']}", resumable=False
        )
    return payload


# A batch the server found too large (413) goes in halves; their payloads are one again.
def failed_result(index: int, error: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "userErrors": [error], "warnings": []}


def joined(first: dict[str, Any], second: dict[str, Any], offset: int) -> dict[str, Any]:
    counts = {f"{n}Count": first[f"{n}Count"] + second[f"{n}Count"] for n in SERVER_COUNTS}
    moved = [{**r, "index": r["index"] + offset} for r in second["results"]]
    return {**counts, "userErrors": [], "results": first["results"] + moved}


EMPTY: dict[str, Any] = {"results": [], **{f"{name}Count": 0 for name in SERVER_COUNTS}}


async def send_batch(
    http: httpx.AsyncClient,
    job: Retrying,
    options: dict[str, Any],
    inputs: list[dict[str, Any]],
    key: str,
    heard: Heard | None = None,
) -> dict[str, Any]:
    """One batch's payload, sent under idempotency key `key`; a batch the server finds
    too large (413) goes in halves, each under a key of its own (`key`/start+count), so
    a resume that splits the same batch the same way sends the same requests again."""
    body = {"query": MUTATION, "variables": {"rows": inputs, "options": options, "key": key}}
    # Not httpx's json=: it refuses NaN and cannot encode a lone surrogate, so one
    # such row stopped the whole import. Escaped ASCII gets them to the server, which
    # refuses that row alone and stores the others. No spaces: a batch is bytes to copy.
    content = json.dumps(body, separators=(",", ":")).encode()
    response = await post(http, job, content, BATCH_HEADERS)
    if heard is not None:
        heard(response.headers)
    if response.status_code != 413:
        return payload(response)
    if len(inputs) == 1:
        error = local_error("", "the row is larger than the server takes in one request")
        error["code"] = "PAYLOAD_TOO_LARGE"
        return {**EMPTY, "failedCount": 1, "results": [failed_result(0, error)]}
    half, rest = len(inputs) // 2, len(inputs) - len(inputs) // 2
    first = await send_batch(http, job, options, inputs[:half], f"{key}/0+{half}", heard)
    second = await send_batch(http, job, options, inputs[half:], f"{key}/{half}+{rest}", heard)
    return joined(first, second, half)
