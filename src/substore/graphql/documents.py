"""Parsed documents, shared between the HTTP edge and strawberry's parse step.

Parsing a 20,000-token document takes tens of milliseconds: the edge parses a new one
in a thread (with its limits check), and the schema's parse step then finds it here
instead of parsing it again on the event loop.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension

from substore.graphql.limits import MAX_TOKENS

V = TypeVar("V")

# Documents whose text is longer than this are parsed each time they come: a cache
# holding them would be one a client fills at will (a parsed document takes up to
# ~130 bytes of memory per byte of text).
MAX_CACHED_DOCUMENT = 16 * 1024
CACHE_TEXT_BYTES = 256 * 1024  # per cache: about 250 typical documents, 16 of the largest


class DocumentCache(Generic[V]):
    """What was made of a document (and an operation name or other hashable), least
    recently used out first: keyed by the text's SHA-256, so that keys hold no client
    text, and bounded by the total length of the texts it stands for. Filled from
    worker threads and read on the event loop, hence the lock."""

    def __init__(self, max_bytes: int = CACHE_TEXT_BYTES) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[tuple[bytes, Hashable], tuple[int, V]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, query: str, extra: Hashable = None) -> V | None:
        key = _key(query, extra)
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            self.entries.move_to_end(key)
            return found[1]

    def find(self, digest: bytes, extra: Hashable = None) -> V | None:
        """The value of the document whose SHA-256 is `digest`, as `get` finds it."""
        with self.lock:
            found = self.entries.get((digest, extra))
            return None if found is None else found[1]

    def knows(self, query: str, extra: Hashable = None) -> bool:
        with self.lock:
            return _key(query, extra) in self.entries

    def put(self, query: str, extra: Hashable, value: V) -> V:
        """Remember `value` (unless the document is too long to keep); returns it."""
        if not cacheable(query):
            return value
        weight = len(query)
        key = _key(query, extra)
        with self.lock:
            if (old := self.entries.pop(key, None)) is not None:
                self.size -= old[0]
            self.entries[key] = (weight, value)
            self.size += weight
            while self.size > self.max_bytes:
                self.size -= self.entries.popitem(last=False)[1][0]
        return value


def cacheable(query: str) -> bool:
    return len(query) <= MAX_CACHED_DOCUMENT


def _key(query: str, extra: Hashable) -> tuple[bytes, Hashable]:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest(), extra


DOCUMENTS: DocumentCache[DocumentNode] = DocumentCache()


def parse_document(query: str) -> DocumentNode:
    """Parse `query` (no more than MAX_TOKENS tokens) and remember it."""
    found = DOCUMENTS.get(query)
    if found is None:
        found = DOCUMENTS.put(query, None, parse(query, max_tokens=MAX_TOKENS))
    return found


class KnownDocuments(SchemaExtension):
    """strawberry's parse step, answered with the document the edge parsed, else from
    DOCUMENTS (replaces its ParserCache)."""

    def on_parse(self) -> Iterator[None]:
        context: Any = self.execution_context
        parsed = getattr(context.context, "document", None)
        context.graphql_document = parsed or parse_document(context.query)
        yield
