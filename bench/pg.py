"""A PostgreSQL for benchmarks: SUBSTORE_DATABASE_URL, else an embedded one in a temp dir."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager

from substore import db


def database_url() -> AbstractContextManager[str]:
    return db.scratch_server(os.environ.get("SUBSTORE_DATABASE_URL"))


def asyncpg_dsn(url: str) -> str:
    """The same URL in the form asyncpg itself takes."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
