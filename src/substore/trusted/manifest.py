"""Reading a persisted-documents manifest: what GraphQL Codegen's client preset and Relay
(with the SHA-256 algorithm) emit, a JSON object mapping each document's hash, bare or
`sha256:`-prefixed, to the document's text.

Every entry is checked before anything is registered: its hash must be the SHA-256 of its
text (a client would name it by that hash), and the document must parse, validate
against the schema and keep within the request limits, so that a registered document
never fails for a reason its author could have been told at deploy time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from substore.graphql import limits

_HEX = re.compile(r"[0-9a-f]{64}")


class ManifestError(ValueError):
    """The manifest cannot be registered; the message says which entry and why."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def document_id(given: str) -> str | None:
    """The hex SHA-256 a `documentId` or hash names (bare or `sha256:`), else None."""
    bare = given.removeprefix("sha256:").lower()
    return bare if _HEX.fullmatch(bare) else None


def read_manifest(path: Path, schema: Any) -> dict[str, str]:
    """The manifest at `path` as {hex SHA-256: document}, every entry checked."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path} is not a readable JSON file: {error}") from None
    if not isinstance(entries, dict) or not entries:
        raise ManifestError(f"{path} must be a JSON object mapping SHA-256 hashes to documents")
    return {_checked_id(key, text): _checked(key, text, schema) for key, text in entries.items()}


def _checked_id(key: str, text: Any) -> str:
    found = document_id(key)
    if found is None:
        raise ManifestError(f"{key!r} is not a SHA-256 hash (64 hex digits, or sha256:...)")
    if not isinstance(text, str) or digest(text) != found:
        raise ManifestError(
            f"{key}: the SHA-256 of its document is {digest(str(text))}; the manifest and "
            "its documents disagree (was it made with another algorithm, such as md5?)"
        )
    return found


def _checked(key: str, text: str, schema: Any) -> str:
    try:
        document = parse(text, max_tokens=limits.MAX_TOKENS)
    except GraphQLError as error:
        raise ManifestError(f"{key}: {error.message}") from None
    if errors := validate(schema, document):
        raise ManifestError(f"{key}: {errors[0].message}")
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            try:
                limits.check(document, operation)
            except limits.TooComplex as error:
                raise ManifestError(f"{key}: {error}") from None
    return text
