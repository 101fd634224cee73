"""Fixtures of the e2e tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.e2e.importing import live_servers


@pytest.fixture(scope="module")
def servers(database_url: str) -> Iterator[dict[str, str]]:
    with live_servers(database_url) as urls:
        yield urls
