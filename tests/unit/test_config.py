"""substore.config and the URL handling of substore.db."""

from __future__ import annotations

import pydantic
import pytest

from substore.config import Settings
from substore.db import async_url, redact
from substore.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/s", "postgresql+asyncpg://u:p@db:5432/s"),
        ("postgres://u@db/s", "postgresql+asyncpg://u@db/s"),
        ("postgresql+asyncpg://u@db/s", "postgresql+asyncpg://u@db/s"),
        (
            "postgresql://u@/s?host=/run/postgresql",
            "postgresql+asyncpg://u@/s?host=/run/postgresql",
        ),
    ],
)
def test_accepted_urls_become_asyncpg_urls(given, expected):
    assert async_url(given) == expected


def test_other_databases_are_refused():
    with pytest.raises(ConfigError):
        async_url("mysql://u@db/s")
    with pytest.raises(pydantic.ValidationError):
        Settings(database_url="sqlite:///x.db")


def test_passwords_never_reach_messages():
    assert redact("postgresql://u:hunter2@db/s") == "postgresql://u:***@db/s"


def test_settings_come_from_substore_env(monkeypatch):
    monkeypatch.setenv("SUBSTORE_DEFAULT_REGION", "gb")
    monkeypatch.setenv("SUBSTORE_DATA_DIR", "/tmp/x")
    settings = Settings()
    assert (settings.default_region, str(settings.data_dir)) == ("GB", "/tmp/x")
    assert settings.database_url is None
