"""substore.config and the URL handling of substore.db."""

from __future__ import annotations

import re

import pydantic
import pytest

from substore import cli
from substore.config import Settings, get_settings
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


SECRET = "s" * 32
JWKS = "https://tenant.example.auth0.com/.well-known/jwks.json"
BOTH = {"SUBSTORE_JWT_ISSUER": "https://idp.test/", "SUBSTORE_JWT_AUDIENCE": "substore"}


def jwt_env(monkeypatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"SUBSTORE_JWT_SECRET": SECRET}, "needs SUBSTORE_JWT_ISSUER and SUBSTORE_JWT_AUDIENCE"),
        (
            {"SUBSTORE_JWT_JWKS_URL": JWKS, "SUBSTORE_JWT_ISSUER": "https://idp.test/"},
            "needs SUBSTORE_JWT_AUDIENCE too",
        ),
        (
            {"SUBSTORE_JWT_SECRET": SECRET, "SUBSTORE_JWT_AUDIENCE": "substore"},
            "needs SUBSTORE_JWT_ISSUER too",
        ),
        ({"SUBSTORE_JWT_SECRET": SECRET, "SUBSTORE_JWT_JWKS_URL": JWKS, **BOTH}, "both set"),
        ({"SUBSTORE_JWT_SECRET": "short", **BOTH}, "at least 32 bytes"),
        ({"SUBSTORE_JWT_JWKS_URL": "file:///etc/jwks.json", **BOTH}, "http(s) URL"),
        ({"SUBSTORE_JWT_JWKS_URL": "jwks.json", **BOTH}, "http(s) URL"),
        (BOTH, "no key to check tokens with"),
        ({"SUBSTORE_JWT_SECRET": SECRET, "SUBSTORE_JWT_CLAIMS_NAMESPACE": " ", **BOTH}, "claim"),
    ],
)
def test_incomplete_or_unsafe_jwt_settings_are_refused(monkeypatch, variables, says):
    jwt_env(monkeypatch, **variables)
    with pytest.raises(pydantic.ValidationError, match=re.escape(says)):
        Settings()


def test_jwt_settings_from_the_environment(monkeypatch):
    jwt_env(monkeypatch, SUBSTORE_JWT_SECRET=SECRET, SUBSTORE_JWT_JWKS_URL="", **BOTH)
    hs256 = Settings()
    assert hs256.jwt_enabled and hs256.jwt_jwks_url is None
    assert hs256.jwt_claims_namespace == "substore"
    assert SECRET not in repr(hs256)
    jwt_env(monkeypatch, SUBSTORE_JWT_SECRET="", SUBSTORE_JWT_JWKS_URL=JWKS)
    jwks = Settings()
    assert jwks.jwt_enabled and jwks.jwt_secret is None and jwks.jwt_jwks_url == JWKS
    assert not Settings(
        _env_file=None, jwt_jwks_url=None, jwt_issuer=None, jwt_audience=None
    ).jwt_enabled


def test_serve_refuses_to_start_saying_which_settings_are_missing(monkeypatch, capsys):
    jwt_env(monkeypatch, SUBSTORE_JWT_JWKS_URL=JWKS)
    get_settings.cache_clear()
    try:
        assert cli.main(["serve"]) == 2
    finally:
        get_settings.cache_clear()
    error = capsys.readouterr().err
    assert "SUBSTORE_JWT_ISSUER and SUBSTORE_JWT_AUDIENCE" in error
    assert "SUBSTORE_:" not in error  # a problem of settings together names them itself
