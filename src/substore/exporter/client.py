"""The export client: every matching subscriber, through the API, to a CSV or JSON-lines file.

Pages of 500 are fetched one after another and written as they come (flat memory), in
the columns `substore import` reads: `number` (the raw number as submitted) with the
`defaultRegion` it was read in, `e164Number` (which wins on import and confirms the
number), the names, email, status, consent and opt-out evidence and attributes; then what
the store derives from them (national number, country, type, countryCodeSource, time
zones). So an export imported into an account of any region makes the same subscribers,
field for field, without warnings. Talks HTTP only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from substore import remote

PAGE = 500
# What `substore import` reads back, then what it derives again from them (written so that
# the file says everything the store keeps; the import recomputes them, identically).
COLUMNS = (
    "number",
    "e164Number",
    "defaultRegion",
    "firstName",
    "lastName",
    "email",
    "status",
    "consentedAt",
    "consentSource",
    "unsubscribedAt",
    "unsubscribeSource",
    "attributes",
)
DERIVED = (
    "nationalNumber",
    "countryCode",
    "regionCode",
    "numberType",
    "countryCodeSource",
    "timeZones",
)
HEADER = (*COLUMNS, *DERIVED)
# totalCount on the first page only: a COUNT per page would cost more than the page.
QUERY = """query Export($after: String, $filter: SubscriberFilter, $order: SubscriberOrder!,
                    $counting: Boolean!) {
  subscribers(first: PAGE, after: $after, filter: $filter, orderBy: $order) {
    totalCount @include(if: $counting) pageInfo { hasNextPage endCursor }
    edges { node { rawNumber e164Number defaultRegion firstName lastName email status
                   consentedAt consentSource unsubscribedAt unsubscribeSource attributes
                   number countryCode regionCode numberType countryCodeSource timeZones
    } } } }""".replace("PAGE", str(PAGE))
_INTEGER_FILTERS = {"countryCode"}
# graphql-response+json first, so that a refused document is a 400 (the spec's advice
# to clients, with application/json for a server that predates it); both are read.
ACCEPT = "application/graphql-response+json, application/json;q=0.9"
_GRAPHQL_MEDIA = ("application/graphql-response+json", "application/json")


class ExportError(Exception):
    """The export cannot start or go on (bad option, token, or server answer)."""


@dataclass
class ExportJob:
    path: Path
    url: str
    token: str
    format: str = "csv"
    filter: dict[str, Any] = field(default_factory=dict)
    updated_after: str | None = None


def parse_filters(items: list[str]) -> dict[str, Any]:
    """`--filter status=SUBSCRIBED` and the like, as a SubscriberFilter."""
    found: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ExportError(f"--filter {item!r}: write FIELD=VALUE, e.g. status=SUBSCRIBED")
        name, value = name.strip(), value.strip()
        found[name] = int(value) if name in _INTEGER_FILTERS and value.isdigit() else value
    return found


def export(job: ExportJob, on_page: Callable[[int, int], None] | None = None) -> int:
    """Write every matching subscriber to `job.path`; how many.

    Written to FILE.part and renamed when complete: a refused or broken export leaves
    nothing behind (and never a header-only file that looks like an empty account)."""
    on_page = on_page or (lambda done, total: None)
    written = 0
    partial = job.path.with_name(job.path.name + ".part")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            write = _writer(handle, job.format)
            for rows, total in _pages(job):
                for row in rows:
                    write(row)
                written += len(rows)
                on_page(written, total)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(job.path)
    return written


def _pages(job: ExportJob) -> Iterator[tuple[list[dict[str, Any]], int]]:
    where = dict(job.filter)
    if job.updated_after:
        where["updatedAfter"] = job.updated_after
    order = "UPDATED_AT" if job.updated_after else "CREATED_AT"
    headers = {"Authorization": f"Bearer {job.token}", "Accept": ACCEPT}
    after, total = None, 0
    url = remote.endpoint(job.url)  # the base URL or /graphql, as `substore import` takes
    with httpx.Client(timeout=httpx.Timeout(120.0, connect=10.0), headers=headers) as http:
        while True:
            variables = {"after": after, "filter": where or None, "order": order}
            try:
                page = _fetch(http, url, {**variables, "counting": after is None})
            except ExportError as error:
                raise ExportError(remote.redact(str(error), job.token)) from None
            total = page.get("totalCount", total)
            yield [_row(edge["node"]) for edge in page["edges"]], total
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]


def _fetch(http: httpx.Client, url: str, variables: dict[str, Any]) -> dict[str, Any]:
    try:
        response = http.post(url, json={"query": QUERY, "variables": variables})
    except httpx.TransportError as error:
        raise ExportError(
            remote.unfixable(error, url) or f"cannot reach {url}: {error!r}"
        ) from None
    if why := remote.refusal(response.status_code, url):
        raise ExportError(why)
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body = response.json() if media in _GRAPHQL_MEDIA else {}
    errors = body.get("errors") or []
    if response.status_code != 200 or errors:
        message = errors[0]["message"] if errors else response.text[:200]
        raise ExportError(f"the server refused the export ({response.status_code}): {message}")
    page: dict[str, Any] = body["data"]["subscribers"]  # JSON, shaped by QUERY's selection
    return page


def _row(node: dict[str, Any]) -> dict[str, Any]:
    """`number` is the number as submitted: read again in its defaultRegion, it makes the
    same key the same way (countryCodeSource included); e164Number confirms it."""
    row = {c: node.get(c) for c in HEADER}
    return row | {"number": node["rawNumber"], "nationalNumber": node["number"]}


def _writer(handle: TextIO, format: str) -> Callable[[dict[str, Any]], object]:
    if format == "jsonl":
        return lambda row: handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    writer = csv.DictWriter(handle, HEADER)
    writer.writeheader()

    def write(row: dict[str, Any]) -> None:
        cells = {k: "" if v is None else v for k, v in row.items()}
        cells["attributes"] = json.dumps(row["attributes"] or {}, ensure_ascii=False)
        cells["timeZones"] = " ".join(row["timeZones"] or ())
        writer.writerow(cells)

    return write
