"""The API as `substore import` and `substore export` reach it: one URL form, the key, and
the mistakes that no retry can fix.

Both commands take the server's base URL or its /graphql endpoint. A missing scheme, TLS
spoken to a plain-HTTP server, a key that cannot be sent (a pasted newline), 401, 403 and
404 end a run at once with one line saying what to change; only what may pass (a
connection refused, 429, 5xx) is worth retrying. The key is never printed: every message
that leaves here goes through `redact`.
"""

from __future__ import annotations

import re
import ssl

import httpx


class UsageError(Exception):
    """A mistake in --url or --token, or an answer that says so: retrying cannot help."""


_KEYS = re.compile(r"\b(sk_|Bearer\s+)[A-Za-z0-9._~+/=-]+")
_VISIBLE = re.compile(r"[\x21-\x7e]+")  # what an HTTP header value may carry, unquoted


def endpoint(url: str) -> str:
    """The GraphQL endpoint of `url`: a base URL gains /graphql, a /graphql URL stays."""
    text = url.strip()
    parsed = httpx.URL(text) if "://" in text else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(
            f"--url {url!r} is not an http:// or https:// URL: write it like "
            f"http://{text.split('://')[-1] or '127.0.0.1:8000'}"
        )
    path = parsed.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    return str(parsed.copy_with(path=path))


def check_token(token: str | None) -> str:
    """The key as given, if an HTTP header can carry it; never echoes it."""
    if not token:
        raise UsageError("no API key: pass --token or set SUBSTORE_TOKEN")
    if not _VISIBLE.fullmatch(token):
        where = "ends with" if token.strip() != token else "contains"
        raise UsageError(
            f"the API key {where} a space, newline or other invisible character "
            "(a copy-paste?): remove it from --token or SUBSTORE_TOKEN"
        )
    return token


def redact(text: str, token: str | None = None) -> str:
    """`text` without the key: the given one anywhere, and anything shaped like one."""
    if token:
        text = text.replace(token, "sk_…")
    return _KEYS.sub(lambda m: m.group(1) + "…", text)


def refusal(status: int, url: str) -> str | None:
    """What to change when the server answers `status`, or None (maybe retry, or read)."""
    if status == 401:
        return "the server refused the API key (401): check --token or SUBSTORE_TOKEN"
    if status == 403:
        return "the API key may not do this (403): use a key with the write scope"
    if status == 404:
        return f"no GraphQL API at {url} (404): check --url (the server's base URL or /graphql)"
    return None


def unfixable(error: httpx.TransportError, url: str) -> str | None:
    """Why a transport error will happen again on every try (None: it may pass)."""
    if isinstance(error, httpx.UnsupportedProtocol):
        return f"--url {url}: {error}"
    if isinstance(error, httpx.LocalProtocolError):  # e.g. a header value httpx refuses
        return f"the request to {url} cannot be sent: {type(error).__name__}"
    if _is_tls(error):
        plain = url.replace("https://", "http://", 1)
        return f"{url} did not answer TLS (is it plain HTTP? then use {plain})"
    return None


def _is_tls(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
