"""Secrets and signatures as Standard Webhooks has them (the `standardwebhooks` library),
so that receivers verify with the same library in their own language."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # HMAC-SHA256's own size; Standard Webhooks asks for 24 to 64


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and base64 as the specification shows them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three headers of one attempt: the same id on every attempt of a batch (receivers
    deduplicate by it), the time of this attempt, and the v1 signature of all three."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
