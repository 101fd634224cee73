"""importSubscribers with an idempotency key: a repeat answers as the first call did.

An import client that lost its answer (a dropped connection, a killed process) cannot
know whether the batch was stored; sent again without a key, its rows come back UPDATED
and the summary counts them twice. With a key, the first call records its per-row
results in its own transaction (repository/imports.py), and a repeat with the same key
and the same rows gets those results back and writes nothing: no second upsert, no
second set of outbox events. The same key with other rows or options is refused
(CONFLICTING_PARAMETERS), as Stripe refuses a reused key. Keys last KEY_LIFETIME.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.errors import ErrorCode, UserError, ValidationError
from substore.preparation import NormalizeOptions, RowResult, RowStatus, SubscriberInput
from substore.repository import Record, imports
from substore.services.subscribers import CpuRunner, home_region, save_subscribers

PRUNE_SHARE = 0.02  # of claims that also delete expired keys (100 at a time)
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
FIELD = ("idempotencyKey",)


class IdempotencyKeyError(ValidationError):
    """The key is unusable, or was used for another batch: the whole call is refused."""


async def save_subscribers_once(
    conn: AsyncConnection,
    account: Record,
    key: str,
    inputs: Sequence[SubscriberInput],
    options: NormalizeOptions,
    *,
    all_or_nothing: bool = False,
    run_cpu: CpuRunner | None = None,
    actor: str | None = None,
) -> tuple[list[RowResult], bool]:
    """save_subscribers, once per key: the results, and whether they are a replay."""
    check_key(key)
    home_region(account, options)  # a bad option fails before the key is claimed
    digest = request_digest(inputs, options, all_or_nothing)
    now = datetime.now(UTC)
    earlier = await imports.claim_import(conn, account.id, key, digest, now, now - KEY_LIFETIME)
    if earlier is not None:
        if earlier.digest != digest:
            raise IdempotencyKeyError(
                f"idempotency key {key!r} was used in the last {KEY_LIFETIME} for other "
                "rows or options: use a new key for a new batch.",
                field=FIELD,
                code=ErrorCode.CONFLICTING_PARAMETERS,
            )
        return decode(earlier.results), True
    if random.random() < PRUNE_SHARE:  # an expired key is taken over anyway: pruning is tidying
        await imports.prune_imports(conn, account.id, now - KEY_LIFETIME)
    results = await save_subscribers(
        conn, account, inputs, options, all_or_nothing=all_or_nothing, run_cpu=run_cpu, actor=actor
    )
    await imports.record_import(conn, account.id, key, encode(results))
    return results, False


def check_key(key: str) -> None:
    if not key.strip():
        raise IdempotencyKeyError("the idempotency key is empty.", field=FIELD)
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyError(
            f"the idempotency key is longer than {MAX_KEY_LENGTH} characters.",
            field=FIELD,
            code=ErrorCode.PARAMETER_TOO_LONG,
        )


def request_digest(
    inputs: Sequence[SubscriberInput], options: NormalizeOptions, all_or_nothing: bool
) -> str:
    """SHA-256 of the rows and options as the service reads them. The rows' keys are
    sorted, so two encodings of one batch agree; 123 and "123" do not (they differ)."""
    rows = [[r.number, r.e164_number, r.default_region, r.profile] for r in inputs]
    asked = [options.default_region, options.strict_country_code, options.drop_invalid_fields]
    request = [asked, all_or_nothing, rows]
    try:  # orjson: a 1000-row batch is encoded on the event loop, in a tenth of json's time
        text = orjson.dumps(request, option=orjson.OPT_SORT_KEYS, default=str)
    except orjson.JSONEncodeError:  # integers past 64 bits, which attributes may hold
        text = json.dumps(request, sort_keys=True, default=str).encode()
    return hashlib.sha256(text).hexdigest()


# Stored by column: a batch's 1000 rows are mostly {status, id, number} and nothing else.
def encode(results: Sequence[RowResult]) -> dict[str, Any]:
    return {
        "status": [str(r.status) for r in results],
        "id": [r.subscriber_id for r in results],
        "e164": [r.e164_number for r in results],
        "errors": {r.index: _errors(r.user_errors) for r in results if r.user_errors},
        "warnings": {r.index: _errors(r.warnings) for r in results if r.warnings},
    }


def decode(stored: dict[str, Any]) -> list[RowResult]:
    errors, warnings = stored["errors"], stored["warnings"]  # JSON keys are strings
    return [
        RowResult(
            index,
            RowStatus(status),
            e164,
            subscriber_id,
            _read(errors.get(str(index), [])),
            _read(warnings.get(str(index), [])),
        )
        for index, (status, subscriber_id, e164) in enumerate(
            zip(stored["status"], stored["id"], stored["e164"], strict=True)
        )
    ]


def _errors(errors: list[UserError]) -> list[dict[str, object]]:
    return [e.as_dict() for e in errors]


def _read(errors: list[dict[str, Any]]) -> list[UserError]:
    return [
        UserError(ErrorCode(e["code"]), e["message"], tuple(e["field"]), e["reason"])
        for e in errors
    ]
