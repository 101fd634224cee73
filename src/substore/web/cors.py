"""CORS for browser frontends on other origins, with Starlette's own middleware.

Only the exact origins of SUBSTORE_CORS_ORIGINS get an allow header; unset, no CORS
header is ever sent (never `*`), so a page elsewhere cannot read an answer. Callers
authenticate with a bearer header, not cookies, so credentials mode stays off.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ALLOWED_HEADERS = ("Authorization", "Content-Type")
# What a page may read of an answer besides the simple headers: the request id to quote,
# and when to retry.
EXPOSED_HEADERS = (
    "X-Request-Id",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
MAX_AGE_SECONDS = 600  # browsers cap it anyway (Chromium at 2 hours)


def middleware(origins: tuple[str, ...]) -> list[Middleware]:
    """The CORS layer for `origins`, or none at all."""
    if not origins:
        return []
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=MAX_AGE_SECONDS,
    )
    return [cors]
