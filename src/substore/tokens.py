"""JWTs from a browser frontend's identity provider, read into who calls (PyJWT).

A token is accepted only when all of these hold; otherwise TokenError says which failed:
- its algorithm is the one the settings pin: HS256 with SUBSTORE_JWT_SECRET; RS256 or
  ES256, with the key its `kid` names, from SUBSTORE_JWT_JWKS_URL (jwks.py). Never
  `none`, and never HS256 keyed with a key set's public key;
- the signature verifies; `exp`, `iss`, `aud` and `sub` are present, `iss` and `aud` are
  the settings', `exp` and `nbf` hold with LEEWAY_SECONDS for clocks that drift;
- the namespace claim (SUBSTORE_JWT_CLAIMS_NAMESPACE) is an object with `account_id` (a
  JSON number or string) and `scope` (`read` or `write`).
Whether the account exists is for the caller to ask: that needs the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK
from jwt import exceptions as failed

from substore.config import Settings
from substore.jwks import KeySet, KeySetError
from substore.models import Scope

LEEWAY_SECONDS = 60
HMAC_ALGORITHMS = ("HS256",)
KEY_SET_ALGORITHMS = ("RS256", "ES256")
MAX_SUBJECT = 255  # recorded with every change the caller makes, and in the access log
MAX_ACCOUNT_ID = 2**63 - 1  # accounts.id is a bigint
_REQUIRED = ["exp", "iss", "aud", "sub"]


class TokenError(Exception):
    """A bearer that is no token this server accepts; the message says why, for the caller."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says about its bearer."""

    subject: str  # `sub`: the actor recorded with their changes
    account_id: int
    scope: Scope
    expires_at: float  # `exp`, seconds since the epoch


@dataclass(frozen=True)
class Verifier:
    """Checks tokens against one key: a shared secret, or a provider's key set."""

    issuer: str
    audience: str
    namespace: str
    secret: bytes | None = field(default=None, repr=False)
    key_set: KeySet | None = None

    @property
    def algorithms(self) -> tuple[str, ...]:
        return HMAC_ALGORITHMS if self.secret is not None else KEY_SET_ALGORITHMS

    async def verify(self, token: str) -> Claims:
        """The token's claims; TokenError when it is not one this server accepts."""
        header = _header(token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise TokenError(
                f"The token is signed with {str(algorithm)[:16]!r}; this server accepts "
                f"{' or '.join(self.algorithms)} only."
            )
        payload = self._decode(token, await self._key(header))
        return _claims(payload, self.namespace)

    async def _key(self, header: dict[str, Any]) -> bytes | PyJWK:
        if self.secret is not None:
            return self.secret
        assert self.key_set is not None  # one of the two, by construction (from_settings)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenError("The token names no key (its header has no `kid`).")
        try:
            return await self.key_set.key(kid)
        except KeySetError as error:
            raise TokenError(str(error)) from None

    def _decode(self, token: str, key: bytes | PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": _REQUIRED, "enforce_minimum_key_length": True},
            )
        except failed.PyJWTError as error:
            raise TokenError(_why(error)) from None


def from_settings(settings: Settings) -> Verifier | None:
    """The verifier the settings ask for; None when JWTs are off."""
    if not settings.jwt_enabled:
        return None
    assert settings.jwt_issuer is not None and settings.jwt_audience is not None  # validated
    common = (settings.jwt_issuer, settings.jwt_audience, settings.jwt_claims_namespace)
    if settings.jwt_secret is not None:
        return Verifier(*common, secret=settings.jwt_secret.get_secret_value().encode())
    assert settings.jwt_jwks_url is not None
    return Verifier(*common, key_set=KeySet(settings.jwt_jwks_url, KEY_SET_ALGORITHMS))


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except failed.PyJWTError:
        raise TokenError(
            "The bearer is neither an API key (sk_...) nor a well-formed JWT."
        ) from None


# PyJWT's errors, most specific first, as messages a frontend's developer can act on.
_WHY: list[tuple[type[Exception], str]] = [
    (failed.ExpiredSignatureError, "The token has expired: get a new one from the provider."),
    (failed.ImmatureSignatureError, "The token is not valid yet (its nbf or iat is ahead)."),
    (failed.InvalidIssuerError, "The token's issuer (iss) is not the one this server trusts."),
    (failed.InvalidAudienceError, "The token's audience (aud) is not this API."),
    (failed.InvalidSignatureError, "The token's signature does not verify."),
    (failed.InvalidAlgorithmError, "The token's algorithm does not match its key."),
    (failed.InvalidKeyError, "The token's key is unusable (too short for its algorithm)."),
]


def _why(error: failed.PyJWTError) -> str:
    if isinstance(error, failed.MissingRequiredClaimError):
        return f"The token has no `{error.claim}` claim."
    for kind, message in _WHY:
        if isinstance(error, kind):
            return message
    return f"The token is malformed: {error}."  # a claim of the wrong type, bad base64...


def _claims(payload: dict[str, Any], namespace: str) -> Claims:
    subject = payload["sub"]  # a string: PyJWT checks it
    if not subject or len(subject) > MAX_SUBJECT or not subject.isprintable():
        raise TokenError(f"The token's `sub` must be 1 to {MAX_SUBJECT} printable characters.")
    ours = payload.get(namespace)
    if not isinstance(ours, dict):
        raise TokenError(
            f"The token has no `{namespace}` claim, or it is not an object "
            '{"account_id", "scope"}.'
        )
    expires_at = int(payload["exp"])  # PyJWT has checked that it is one
    return Claims(subject, _account_id(ours, namespace), _scope(ours, namespace), expires_at)


def _account_id(ours: dict[str, Any], namespace: str) -> int:
    value = ours.get("account_id")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ACCOUNT_ID:
        raise TokenError(
            f"The token's `{namespace}.account_id` must be an account id (a number, or a "
            "string of digits)."
        )
    return value


def _scope(ours: dict[str, Any], namespace: str) -> Scope:
    value = ours.get("scope")
    if not isinstance(value, str) or value not in {s.value for s in Scope}:
        raise TokenError(f"The token's `{namespace}.scope` must be `read` or `write`.")
    return Scope(value)
