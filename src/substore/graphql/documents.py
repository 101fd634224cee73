"""Parsed documents, shared between the HTTP edge and strawberry's parse step.

Parsing a 20,000-token document takes tens of milliseconds: the edge parses a new one
in a thread (with its limits check), and the schema's parse step then finds it here
instead of parsing it again on the event loop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension

from substore.graphql.limits import MAX_TOKENS

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small least-recently-used map, filled from worker threads and read on the loop
    (functools.lru_cache cannot be filled from outside)."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self.entries: OrderedDict[K, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def __contains__(self, key: object) -> bool:
        with self.lock:
            return key in self.entries

    def put(self, key: K, value: V) -> V:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            if len(self.entries) > self.maxsize:
                self.entries.popitem(last=False)
        return value


DOCUMENTS: Lru[str, DocumentNode] = Lru()


def parse_document(query: str) -> DocumentNode:
    """Parse `query` (no more than MAX_TOKENS tokens) and remember it."""
    return DOCUMENTS.get(query) or DOCUMENTS.put(query, parse(query, max_tokens=MAX_TOKENS))


class KnownDocuments(SchemaExtension):
    """strawberry's parse step, answered from DOCUMENTS (replaces its ParserCache)."""

    def on_parse(self) -> Iterator[None]:
        context: Any = self.execution_context
        context.graphql_document = parse_document(context.query)
        yield
