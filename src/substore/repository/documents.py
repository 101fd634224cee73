"""SQL for trusted documents: the documents client apps were built with, by SHA-256."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import TrustedDocument, table
from substore.repository.subscribers import Record

trusted_documents = table(TrustedDocument)


async def add_documents(conn: AsyncConnection, documents: dict[str, str]) -> int:
    """Register `documents` (hex SHA-256 -> text); how many were not registered yet."""
    if not documents:
        return 0
    rows = [{"id": digest, "document": text} for digest, text in documents.items()]
    statement = insert(trusted_documents).values(rows).on_conflict_do_nothing()
    # SQLAlchemy types a RETURNING statement's result as Any; rowcount is an int.
    return cast(int, (await conn.execute(statement.returning(trusted_documents.c.id))).rowcount)


async def get_document(conn: AsyncConnection, digest: str) -> str | None:
    statement = sa.select(trusted_documents.c.document).where(trusted_documents.c.id == digest)
    return await conn.scalar(statement)


async def list_documents(conn: AsyncConnection) -> list[Record]:
    order = (trusted_documents.c.created_at, trusted_documents.c.id)
    return list(await conn.execute(sa.select(trusted_documents).order_by(*order)))


async def remove_document(conn: AsyncConnection, digest: str) -> bool:
    statement = trusted_documents.delete().where(trusted_documents.c.id == digest)
    return (await conn.execute(statement)).rowcount > 0
