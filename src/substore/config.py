"""Settings from the environment (prefix SUBSTORE_). No I/O: nothing connects here."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_URL_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://")
MIN_JWT_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUBSTORE_", extra="ignore")

    # PostgreSQL to use (postgresql://, postgres:// or postgresql+asyncpg://, sockets too).
    # Unset: run the embedded PostgreSQL with its data in data_dir.
    database_url: str | None = None
    # Where the embedded PostgreSQL keeps its data (used only without database_url).
    data_dir: Path = Path(".substore")
    # The home region (ISO 3166-1 alpha-2) of the account `serve` creates on an empty store.
    default_region: str = "US"
    # The address `substore serve` listens on (its --host wins).
    host: str = "127.0.0.1"
    # The port `substore serve` listens on (its --port wins).
    port: int = 8000
    # Request bodies past this are 413 PAYLOAD_TOO_LARGE.
    max_body_bytes: int = 2 * 1024 * 1024  # a 1000-row import is about 200 KB
    # Database connections per serving process: this many kept for reads, as many for
    # writes, and as many again for a burst.
    pool_size: int = 10
    # How long a running server trusts a key it has checked (a revoked key works that long).
    auth_cache_seconds: float = 5.0
    # How long a running server keeps an account (home region, quiet hours) it has read;
    # an updateAccount through this process is seen at once, through another within this.
    account_cache_seconds: float = 5.0
    # Repeated reads answered from a plan (graphql/plans.py), and an import client's rows
    # read before execution (graphql/rows.py); off: everything through graphql-core.
    plan_cache: bool = True
    # Lookups by number (subscriber(number:) in a query) that arrive while this many of
    # their statements are in flight wait and share the next one (web/lookups.py); 0:
    # every lookup a statement of its own.
    lookup_statements: int = Field(default=1, ge=0)
    # Serving processes of `substore serve`; 0: one per core.
    workers: int = 0
    # A connection that has not sent a whole request this long after it opened (or after
    # its last answer) is closed: idle and trickling clients cannot hold sockets forever.
    request_timeout_seconds: float = 60.0
    # A request's headers are due this long after its connection opened (or last answered).
    header_timeout_seconds: float = 10.0
    # Open connections past this are answered 503 at once, well before the process
    # runs out of file descriptors.
    max_connections: int = 1000
    # Open connections per client address (IPv6: per /64) per process; past it, 429. 0: none.
    max_connections_per_client: int = 100
    # Subscriptions (WebSocket or SSE) one API key or token subject may hold open per
    # process; past it, TOO_MANY_REQUESTS. 0: no limit.
    max_subscriptions_per_key: int = 10
    # Protocol pings on idle WebSockets, and SSE keep-alive comments, this often.
    subscription_keepalive_seconds: float = 15.0
    # Proxies (IPs, networks, *) trusted to name the client (X-Forwarded-For), exempt from that cap.
    forwarded_allow_ips: str = ""
    # "json": one JSON access-log line per request (request id, key, account, operation,
    # status, duration) instead of uvicorn's text line.
    log_format: Literal["text", "json"] = "text"
    # Requests per API key (or token subject) a second on average (a token bucket); past
    # it, 429 with Retry-After. Import batches have a bucket of their own. 0: no limit.
    rate_limit_per_second: float = 50.0
    # Requests one key may send at once before the average applies (the bucket's size).
    rate_limit_burst: int = 100
    # Import batches (importSubscribers calls marked Substore-Import: batch, as `substore
    # import` sends them, up to 1000 rows each) per key a second, in a bucket of their own:
    # interactive requests and imports do not spend each other's. 0: no limit.
    import_rate_limit_per_second: float = 100.0
    # Import batches one key may send at once before that average applies.
    import_rate_limit_burst: int = 32
    # Unknown API keys (or failed JWTs) from one client address: past this many within the
    # window, that address gets 429 before its keys cost a lookup. 0: off.
    unknown_key_limit: int = 30
    # The window of unknown_key_limit, counted from the client's last unknown key.
    unknown_key_window_seconds: float = 60.0
    # Processes (of each serving process) that normalise imports off the event loop; 0
    # runs them in a thread. Default one per core: they are idle-scheduled (cpu.py), so
    # requests still get a core, and one fewer made imports slower (docs: Performance).
    normalize_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    # HS256 shared secret of a browser frontend's sign-in tokens (JWTs, tokens.py), at
    # least 32 bytes; set this or jwt_jwks_url, never both.
    jwt_secret: SecretStr | None = None
    # The identity provider's key set (RS256/ES256 keys by kid; http or https, redirects
    # not followed); set this or jwt_secret, never both.
    jwt_jwks_url: str | None = None
    # A token's iss must be exactly this; required with either key setting.
    jwt_issuer: str | None = None
    # A token's aud must be, or contain, this (the API's identifier); required with a key.
    jwt_audience: str | None = None
    # The claim holding {"account_id", "scope"}; providers may ask for a URL here.
    jwt_claims_namespace: str = "substore"

    # Callers with a JWT (browser frontends) may run registered documents only (`substore
    # documents add`); API keys, which scripts and GraphiQL use, may send any document.
    trusted_documents_only: bool = False
    # Browser pages allowed to call the API from other origins: exact origins, separated
    # by commas (https://app.example.com). Unset: no CORS headers at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # Webhooks (webhooks/): `substore serve` runs the dispatcher unless this is false (one
    # process delivers at a time, whichever holds the database's advisory lock).
    webhook_dispatcher: bool = True
    # Development and tests only: http URLs, and targets on loopback or private networks.
    webhook_allow_private: bool = False
    # How often the dispatcher looks for new events: the floor of the delivery lag.
    webhook_poll_seconds: float = Field(default=0.2, gt=0, le=5)
    # Events older than this are pruned once every enabled endpoint has delivered them.
    event_retention_days: float = Field(default=30, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _exact_origins(cls, value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        return tuple(_origin(item) for item in items if item.strip())

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, url: str | None) -> str | None:
        if url and not url.startswith(_URL_SCHEMES):
            raise ValueError("must be a PostgreSQL URL: postgresql://user:pass@host:5432/db")
        return url or None

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, text: str) -> str:
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)  # a ValueError names the entry
        return ",".join(entries)

    @field_validator("jwt_secret", "jwt_jwks_url", "jwt_issuer", "jwt_audience", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        # RFC 7518 3.2: an HS256 key has at least the hash's 256 bits.
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_JWT_SECRET_BYTES} bytes (HS256 needs 256 bits)"
            )
        return secret

    @field_validator("jwt_jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        parts = urlsplit(url) if url is not None else None
        if parts is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError(
                "must be an http(s) URL, such as https://example.auth0.com/.well-known/jwks.json"
            )
        return url

    @field_validator("jwt_claims_namespace")
    @classmethod
    def _named(cls, namespace: str) -> str:
        if not namespace.strip():
            raise ValueError("must name the claim that holds account_id and scope")
        return namespace.strip()

    @model_validator(mode="after")
    def _jwt_complete(self) -> Settings:
        """JWT settings that would accept tokens meant for others, or none at all, are refused."""
        if self.jwt_secret is not None and self.jwt_jwks_url is not None:
            raise ValueError(
                "SUBSTORE_JWT_SECRET and SUBSTORE_JWT_JWKS_URL are both set: "
                "set one (HS256 with a secret, RS256/ES256 from a key set)"
            )
        keyed = self.jwt_secret is not None or self.jwt_jwks_url is not None
        missing = [
            f"SUBSTORE_JWT_{name.upper()}"
            for name in ("issuer", "audience")
            if getattr(self, f"jwt_{name}") is None
        ]
        if keyed and missing:
            raise ValueError(
                f"JWT authentication needs {' and '.join(missing)} too: without them a token "
                "issued by another provider or for another app would be accepted"
            )
        if not keyed and len(missing) < 2:
            raise ValueError(
                "SUBSTORE_JWT_ISSUER/SUBSTORE_JWT_AUDIENCE are set but no key to check tokens "
                "with: set SUBSTORE_JWT_SECRET or SUBSTORE_JWT_JWKS_URL"
            )
        return self

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt_secret is not None or self.jwt_jwks_url is not None

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, region: str) -> str:
        return region.strip().upper()


def _origin(text: str) -> str:
    """`text` as a browser sends it in Origin (scheme://host[:port], lower case)."""
    given = text.strip().rstrip("/")
    parts = urlsplit(given.lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise ValueError(
            f"{text.strip()!r} is not an origin: give scheme://host[:port], such as "
            "https://app.example.com (no path, no wildcard)"
        )
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
