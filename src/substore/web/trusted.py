"""Requests that name their document by hash instead of sending it.

- `{"documentId": "sha256:<hex>", "variables": ...}` (what Relay and GraphQL Codegen's
  client preset send) runs a document registered with `substore documents add`.
- Apollo's automatic persisted queries: `extensions.persistedQuery.sha256Hash` alone runs a
  registered document, or one this process was sent in full with its hash before (Apollo
  Server's in-memory cache, bounded here in bytes); unknown, it is PERSISTED_QUERY_NOT_FOUND,
  on which Apollo Client sends the query with its hash, and the hash is checked.
- With SUBSTORE_TRUSTED_DOCUMENTS_ONLY, callers with a JWT run registered documents only
  (a full query is accepted when its SHA-256 is registered); API keys, which scripts and
  GraphiQL use, may still send any document.
"""

from __future__ import annotations

from typing import Any

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from substore import auth, repository
from substore.errors import RequestCode as Code
from substore.graphql.documents import DocumentCache
from substore.trusted.manifest import digest, document_id
from substore.web.operation import RequestError

_CACHED_IDS = 10_000


class TrustedDocuments:
    def __init__(self, engine: AsyncEngine, seconds: float, only: bool) -> None:
        self.engine, self.only = engine, only
        # Registered documents (or None: not registered) by id, for as long as keys are
        # trusted: a removed document stops working within that.
        self.known: TTLCache[str, str | None] | None = (
            TTLCache(_CACHED_IDS, seconds) if seconds > 0 else None
        )
        self.automatic: DocumentCache[str] = DocumentCache()

    async def resolve(self, body: Any, principal: auth.Principal) -> Any:
        """`body` with the text of the document it names as its query; RequestError if it
        names none this server has, or if the caller may run only registered ones."""
        if not isinstance(body, dict):
            return body  # refused as a malformed request where the body is read
        query, named = body.get("query"), body.get("documentId")
        persisted = _persisted_hash(body)
        if named is not None:
            if query is not None:
                raise RequestError(Code.BAD_REQUEST, "Send documentId or query, not both.")
            return {**body, "query": await self._registered(_id(named, "documentId"), named)}
        if persisted is not None and not isinstance(query, str):
            return {**body, "query": await self._by_hash(persisted, principal)}
        if isinstance(query, str):
            await self._check_query(query, persisted, principal)
        return body

    async def _by_hash(self, hex_digest: str, principal: auth.Principal) -> str:
        text = await self._lookup(hex_digest)
        if text is None and not self._restricted(principal):
            text = self.automatic.find(bytes.fromhex(hex_digest))
        if text is None:
            raise _not_found(f"sha256:{hex_digest}")
        return text

    async def _check_query(
        self, query: str, persisted: str | None, principal: auth.Principal
    ) -> None:
        if persisted is not None and digest(query) != persisted:
            raise RequestError(
                Code.BAD_REQUEST,
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.",
            )
        if self._restricted(principal) and await self._lookup(digest(query)) is None:
            raise RequestError(
                Code.TRUSTED_DOCUMENT_REQUIRED,
                "This server runs only trusted documents for sign-in tokens: send the "
                'documentId ("sha256:<hex>") of a document registered with `substore '
                "documents add`.",
            )
        if persisted is not None:
            self.automatic.put(query, None, query)

    async def _registered(self, hex_digest: str, given: str) -> str:
        text = await self._lookup(hex_digest)
        if text is None:
            raise _not_found(given)
        return text

    async def _lookup(self, hex_digest: str) -> str | None:
        if self.known is not None and hex_digest in self.known:
            return self.known[hex_digest]
        async with self.engine.connect() as conn:
            text = await repository.get_document(conn, hex_digest)
        if self.known is not None:
            self.known[hex_digest] = text
        return text

    def _restricted(self, principal: auth.Principal) -> bool:
        return self.only and principal.method is auth.Method.JWT


def _persisted_hash(body: dict[str, Any]) -> str | None:
    extensions = body.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    given = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    return _id(given, "extensions.persistedQuery.sha256Hash")


def _id(given: Any, where: str) -> str:
    found = document_id(given) if isinstance(given, str) else None
    if found is None:
        raise RequestError(
            Code.BAD_REQUEST, f'{where} must be a SHA-256 hash: "sha256:" and 64 hex digits.'
        )
    return found


def _not_found(given: str) -> RequestError:
    return RequestError(
        Code.PERSISTED_QUERY_NOT_FOUND,
        f"No trusted document {given[:80]}: register it with `substore documents add`, "
        "or send the query with its hash.",
    )
