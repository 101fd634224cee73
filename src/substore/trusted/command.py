"""`substore documents add|list|remove`: the trusted documents of client apps.

`add` registers a persisted-documents manifest (GraphQL Codegen's client preset, Relay
with SHA-256) all or nothing; a running server sees a new or removed document within
SUBSTORE_AUTH_CACHE_SECONDS, as it sees keys.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from substore.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from substore.repository import Record

T = TypeVar("T")


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    documents = sub.add_parser(
        "documents", help="trusted documents: the operations client apps were built with"
    ).add_subparsers(metavar="ACTION", required=True)
    add = documents.add_parser("add", help="register a persisted-documents manifest (JSON)")
    add.add_argument("manifest", type=Path, help="{sha256 hash: document, ...}")
    add.set_defaults(handler=_add)
    documents.add_parser("list", help="list the registered documents").set_defaults(handler=_list)
    remove = documents.add_parser("remove", help="stop trusting a document")
    remove.add_argument("id", help="its hash, bare or sha256:-prefixed")
    remove.set_defaults(handler=_remove)


def _add(args: argparse.Namespace) -> int:
    from substore.graphql.schema import build_schema
    from substore.trusted.manifest import ManifestError, read_manifest

    try:
        documents = read_manifest(args.manifest, build_schema()._schema)
    except ManifestError as error:
        raise ValidationError(f"{error}; nothing was registered", field=("manifest",)) from None

    async def work(engine: AsyncEngine) -> int:
        from substore.repository import add_documents

        async with engine.begin() as conn:
            return await add_documents(conn, documents)

    added = _run(work)
    print(f"{added} documents registered, {len(documents) - added} already were")
    return 0


def _list(_: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> list[Record]:
        from substore.repository import list_documents

        async with engine.connect() as conn:
            return await list_documents(conn)

    found = _run(work)
    for row in found:
        print(
            f"sha256:{row.id}  {_names(row.document)}  registered {row.created_at:%Y-%m-%d %H:%M}"
        )
    if not found:
        print("no trusted documents yet: `substore documents add MANIFEST.json`")
    return 0


def _remove(args: argparse.Namespace) -> int:
    # graphql (the manifest's checks) loads when a documents command runs, not with every
    # command (`substore import` starts without it).
    from substore.trusted.manifest import document_id

    digest = document_id(args.id)

    async def work(engine: AsyncEngine) -> bool:
        from substore.repository import remove_document

        async with engine.begin() as conn:
            return digest is not None and await remove_document(conn, digest)

    if not _run(work):
        raise NotFoundError(f"no trusted document {args.id}: `substore documents list` shows them.")
    print(f"removed sha256:{digest}; running servers stop accepting it within seconds")
    return 0


# Imported on first use: `substore import` and `export` start faster without SQLAlchemy
# and pydantic-settings.
def _run(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from substore import commands
    from substore.config import get_settings

    return asyncio.run(commands.with_engine(get_settings(), work))


def _names(document: str) -> str:
    """The operation names a document holds, for a person reading the list."""
    from graphql import OperationDefinitionNode, parse

    operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    return ", ".join(
        o.name.value if o.name else f"(anonymous {o.operation.value})" for o in operations
    )
