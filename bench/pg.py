"""A PostgreSQL for benchmarks: SUBSTORE_DATABASE_URL, else an embedded one in a temp dir."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from substore import db


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    url = os.environ.get("SUBSTORE_DATABASE_URL")
    if url:
        yield db.async_url(url)
        return
    with tempfile.TemporaryDirectory(prefix="substore-bench-") as data_dir:
        yield db.async_url(db.start_embedded(Path(data_dir)))


def asyncpg_dsn(url: str) -> str:
    """The same URL in the form asyncpg itself takes."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
