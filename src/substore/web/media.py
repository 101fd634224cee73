"""The media type of an answer, negotiated on the request's Accept (GraphQL over HTTP).

Two media types carry a GraphQL response, with the same body and different statuses for
a document that fails before it runs (it does not parse or validate, its operation
cannot be chosen, its variables cannot be coerced, it is over a limit):

- application/graphql-response+json: 400. The body says it is GraphQL whatever the
  status, so the status can say what happened.
- application/json: 200. A legacy client cannot tell a 4xx from a proxy from ours, so
  the spec keeps 4xx for requests that are not well-formed GraphQL-over-HTTP requests.

Requests that are not well-formed (bad JSON, a non-string query, variables or
extensions that are not objects, ...) and every other refusal (401, 403, 405, 406, 413,
415, 429, 503...) keep their status under both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class MediaType(StrEnum):
    GRAPHQL_RESPONSE = "application/graphql-response+json"
    JSON = "application/json"

    @property
    def content_type(self) -> str:
        return f"{self}; charset=utf-8"

    @property
    def failed_document_status(self) -> int:
        """The status of a well-formed request whose document fails before it runs."""
        return 400 if self is MediaType.GRAPHQL_RESPONSE else 200


# The preference among media ranges that match equally well. Named explicitly, ours
# wins: a client that names it reads it. Matched only by a wildcard (*/* is what
# browsers' fetch, curl and older GraphQL clients send), JSON wins: such a client may
# predate graphql-response+json, and reads a 200 with errors as it always has.
_NAMED = (MediaType.JSON, MediaType.GRAPHQL_RESPONSE)
_WILDCARD = (MediaType.GRAPHQL_RESPONSE, MediaType.JSON)


class _Range(NamedTuple):
    kind: str  # "type/subtype", "type/*" or "*/*", lower case
    q: float


def negotiate(accept: str | None) -> MediaType | None:
    """The media type to answer in: the acceptable one of highest q (the most specific
    range that matches a type sets its q, RFC 9110 12.5.1); None when Accept rules
    out both (406).

    No Accept at all is application/json: the spec's legacy rule (a client that names no
    type is most likely one that predates graphql-response+json, such as curl or a
    script), which graphql-http's audit expects too."""
    if accept is None or not accept.strip():
        return MediaType.JSON
    ranges = [found for part in accept.split(",") if (found := _parse(part))]
    best: tuple[float, int, int, MediaType] | None = None
    for media in MediaType:
        q, specificity = _quality(media, ranges)
        order = (_NAMED if specificity == 2 else _WILDCARD).index(media)
        candidate = (q, specificity, order, media)
        if q > 0 and (best is None or candidate > best):
            best = candidate
    return best[3] if best else None


def _quality(media: MediaType, ranges: list[_Range]) -> tuple[float, int]:
    """The q the most specific matching range gives `media`, and how specific that
    range is (2 the type itself, 1 type/*, 0 */*); (0, -1) when none matches."""
    kind = media.value.split("/")[0]
    specificity = {str(media): 2, f"{kind}/*": 1, "*/*": 0}
    found = [(specificity[r.kind], r.q) for r in ranges if r.kind in specificity]
    if not found:
        return 0.0, -1
    most = max(level for level, _ in found)
    return max(q for level, q in found if level == most), most


def _parse(part: str) -> _Range | None:
    """One media range of Accept; None for one that is malformed (ignored)."""
    kind, *params = (piece.strip() for piece in part.split(";"))
    if kind.count("/") != 1:
        return None
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            if not 0 <= q <= 1:
                return None
    return _Range(kind.lower(), q)
