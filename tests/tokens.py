"""Tokens for the JWT tests, made as an identity provider would make them (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt

from substore.config import Settings

SECRET = "test-secret-that-is-at-least-32-bytes-long"
ISSUER = "https://idp.substore.test/"
AUDIENCE = "https://api.substore.test"
DROP = object()  # a claim left out


def claims(account_id: Any, scope: str = "write", **changes: Any) -> dict[str, Any]:
    """A valid payload for the account, with `changes` (DROP: the claim left out)."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "auth0|tester",
        "iat": now,
        "exp": now + 3600,
        "substore": {"account_id": account_id, "scope": scope},
    }
    payload |= changes
    return {name: value for name, value in payload.items() if value is not DROP}


def hs256(payload: dict[str, Any], secret: str | bytes = SECRET) -> str:
    return jwt.encode(payload, secret, "HS256")


def forged(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT would refuse to make: HMAC-signed with any bytes, or unsigned (None)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_settings(**overrides: Any) -> Settings:
    """An HS256 server: no credential cache and no rate limit unless a test asks."""
    base: dict[str, Any] = {
        "auth_cache_seconds": 0,
        "rate_limit_per_second": 0,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }
    if "jwt_jwks_url" not in overrides:
        base["jwt_secret"] = SECRET
    return Settings(**(base | overrides))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
