"""Use cases: create/update/delete/import/lookup subscribers. No GraphQL or HTTP here.

Each function takes the caller's connection (the caller owns the transaction) and the
caller's account; expected problems come back as `UserError` data, not exceptions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import phone, repository
from substore.errors import (
    ErrorCode,
    NotFoundError,
    PhoneNumberError,
    SubstoreError,
    UserError,
    ValidationError,
)
from substore.models import SubscriberStatus
from substore.repository import Record, SubscriberWrite

# Runs a pure function somewhere (inline, a thread, another process) and awaits it.
CpuRunner = Callable[..., Awaitable[Any]]

MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254
MAX_ATTRIBUTES_BYTES = 16_384
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True, slots=True)
class SubscriberInput:
    """What a caller submitted. `profile` holds only the fields the caller gave."""

    number: str | int | None = None
    e164_number: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    default_region: str | None = None
    strict_country_code: bool = False


@dataclass(slots=True)
class SaveResult:
    subscriber: Record | None = None
    created: bool = False
    warnings: list[UserError] = field(default_factory=list)
    user_errors: list[UserError] = field(default_factory=list)


class RowStatus(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    MERGED = "MERGED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@dataclass(slots=True)
class RowResult:
    index: int
    status: RowStatus
    e164_number: str | None = None
    subscriber_id: int | None = None
    user_errors: list[UserError] = field(default_factory=list)
    warnings: list[UserError] = field(default_factory=list)


# --- preparing input (pure, CPU-bound) -----------------------------------------------


async def run_inline(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


def home_region(account: Record, options: NormalizeOptions) -> str:
    if options.default_region:
        return phone.check_region(options.default_region)
    return account.default_region


def prepare(data: SubscriberInput, region: str, strict: bool) -> tuple[SubscriberWrite, list]:
    """Normalise and validate one input: the row to write and its warnings, or raise."""
    key = phone.normalize(
        data.number, data.e164_number, default_region=region, strict_country_code=strict
    )
    row = SubscriberWrite(key=_key_columns(key), profile=validate_profile(data.profile))
    return row, list(key.warnings)


def _key_columns(key: phone.NormalizedNumber) -> dict[str, Any]:
    return {
        "e164_number": key.e164_number,
        "number": key.number,
        "raw_number": key.raw_number,
        "country_code": key.country_code,
        "region_code": key.region_code,
        "number_type": key.number_type,
        "country_code_source": str(key.country_code_source),
        "default_region": key.default_region,
        "normalizer_version": key.normalizer_version,
    }


def validate_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Check the given profile fields; blanks become None (which clears)."""
    clean = dict(profile)
    for name in ("first_name", "last_name", "email"):
        if name in clean:
            clean[name] = _text(clean[name])
    for name in ("first_name", "last_name"):
        if clean.get(name) and len(clean[name]) > MAX_NAME_LENGTH:
            raise _too_long(name, MAX_NAME_LENGTH)
    if clean.get("email"):
        _check_email(clean["email"])
    if "attributes" in clean:
        _check_attributes(clean["attributes"])
    if clean.get("status") is not None and clean["status"] not in set(SubscriberStatus):
        raise ValidationError("status must be SUBSCRIBED or UNSUBSCRIBED.", field=("status",))
    return clean


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _too_long(name: str, limit: int) -> ValidationError:
    return ValidationError(
        f"{_camel(name)} is longer than {limit} characters.",
        field=(_camel(name),),
        code=ErrorCode.PARAMETER_TOO_LONG,
    )


def _check_email(email: str) -> None:
    if len(email) > MAX_EMAIL_LENGTH:
        raise _too_long("email", MAX_EMAIL_LENGTH)
    if not _EMAIL.fullmatch(email):
        raise ValidationError(
            f"{email!r} is not an email address like name@example.com.",
            field=("email",),
            code=ErrorCode.INVALID_EMAIL_FORMAT,
        )


def _check_attributes(attributes: Any) -> None:
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        raise ValidationError(
            'attributes must be a JSON object, e.g. {"plan": "gold"}.',
            field=("attributes",),
        )
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise _too_long("attributes", MAX_ATTRIBUTES_BYTES)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# --- one subscriber ------------------------------------------------------------------


async def save_subscriber(
    conn: AsyncConnection,
    account: Record,
    data: SubscriberInput,
    options: NormalizeOptions = NormalizeOptions(),
) -> SaveResult:
    """Create the subscriber, or update the one that already has this number."""
    try:
        region = home_region(account, options)
        row, warnings = prepare(data, region, options.strict_country_code)
    except SubstoreError as error:
        return SaveResult(user_errors=[error.user_error.under("input")])
    stored = await repository.upsert_subscriber(conn, account.id, row)
    return SaveResult(stored.subscriber, stored.created, _under(warnings, "input"))


async def update_subscriber(
    conn: AsyncConnection,
    account: Record,
    subscriber_id: int,
    data: SubscriberInput,
    options: NormalizeOptions = NormalizeOptions(),
) -> SaveResult:
    """Change a subscriber by id. Its number changes only when a number is given."""
    try:
        row, warnings = _prepare_update(account, data, options)
        found = await repository.update_subscriber(conn, account.id, subscriber_id, row)
        if found is None:
            raise _not_found(subscriber_id)
    except SubstoreError as error:
        return SaveResult(user_errors=[_input_path(error.user_error)])
    return SaveResult(found, False, _under(warnings, "input"))


def _prepare_update(
    account: Record, data: SubscriberInput, options: NormalizeOptions
) -> tuple[SubscriberWrite, list[UserError]]:
    if data.number is None and data.e164_number is None:
        return SubscriberWrite(key={}, profile=validate_profile(data.profile)), []
    return prepare(data, home_region(account, options), options.strict_country_code)


def _input_path(error: UserError) -> UserError:
    return error if error.field[:1] in (("input",), ("id",)) else error.under("input")


async def delete_subscriber(conn: AsyncConnection, account: Record, subscriber_id: int) -> Record:
    found = await repository.delete_subscriber(conn, account.id, subscriber_id)
    if found is None:
        raise _not_found(subscriber_id)
    return found


def _not_found(subscriber_id: int) -> NotFoundError:
    return NotFoundError(f"no subscriber with id {subscriber_id} in this account.", field=("id",))


async def find_subscriber(
    conn: AsyncConnection, account: Record, number: str | int
) -> Record | None:
    """The subscriber whose number this is, written in any format; None if unknown."""
    try:
        key = phone.normalize(number, default_region=account.default_region)
    except PhoneNumberError:
        if isinstance(number, str) and number.strip().startswith("+"):
            return await repository.get_subscriber_by_e164(conn, account.id, number.strip())
        return None
    return await repository.get_subscriber_by_e164(conn, account.id, key.e164_number)


def _under(errors: list[UserError], *prefix: str) -> list[UserError]:
    return [error.under(*prefix) for error in errors]


# --- many subscribers ----------------------------------------------------------------


async def save_subscribers(
    conn: AsyncConnection,
    account: Record,
    inputs: Sequence[SubscriberInput],
    options: NormalizeOptions = NormalizeOptions(),
    *,
    all_or_nothing: bool = False,
    run_cpu: CpuRunner | None = None,
) -> list[RowResult]:
    """Create or update many subscribers; one result per input, in input order.

    Rows sharing an E.164 are merged in input order (later fields win): the first is
    reported CREATED or UPDATED, the later ones MERGED. With `all_or_nothing`, any
    failed row means nothing is written and every other row is SKIPPED. Normalising is
    CPU work: `run_cpu` decides where it runs (a server passes a process pool).
    """
    region = home_region(account, options)
    run_cpu = run_cpu or run_inline
    results, rows = await run_cpu(prepare_batch, inputs, region, options.strict_country_code)
    failed = any(r.status is RowStatus.FAILED for r in results)
    if all_or_nothing and failed:
        return [_skipped(r) for r in results]
    stored = await repository.upsert_subscribers(conn, account.id, list(rows.values()))
    by_e164 = {s.e164_number: s for s in stored}
    for result in results:
        if result.status is RowStatus.FAILED:
            continue
        saved = by_e164[result.e164_number]
        result.subscriber_id = saved.id
        if result.status is not RowStatus.MERGED:
            result.status = RowStatus.CREATED if saved.created else RowStatus.UPDATED
    return results


def prepare_batch(
    inputs: Sequence[SubscriberInput], region: str, strict: bool
) -> tuple[list[RowResult], dict[str, SubscriberWrite]]:
    """Normalise every row and merge rows that share an E.164. Pure: no I/O."""
    results: list[RowResult] = []
    rows: dict[str, SubscriberWrite] = {}
    for index, data in enumerate(inputs):
        try:
            row, warnings = prepare(data, region, strict)
        except SubstoreError as error:
            error_ = error.user_error.under("input", str(index))
            results.append(RowResult(index, RowStatus.FAILED, user_errors=[error_]))
            continue
        e164 = row.key["e164_number"]
        earlier = rows.get(e164)
        status = RowStatus.MERGED if earlier else RowStatus.CREATED
        rows[e164] = _merge(earlier, row) if earlier else row
        warnings = _under(warnings, "input", str(index))
        results.append(RowResult(index, status, e164, warnings=warnings))
    return results, rows


def _merge(earlier: SubscriberWrite, later: SubscriberWrite) -> SubscriberWrite:
    return SubscriberWrite(key=later.key, profile={**earlier.profile, **later.profile})


def _skipped(result: RowResult) -> RowResult:
    if result.status is RowStatus.FAILED:
        return result
    return RowResult(result.index, RowStatus.SKIPPED, result.e164_number, warnings=result.warnings)


# --- accounts ------------------------------------------------------------------------


async def create_account(conn: AsyncConnection, name: str, default_region: str) -> Record:
    if not name.strip():
        raise ValidationError("name must not be blank.", field=("name",))
    region = phone.check_region(default_region)
    return await repository.create_account(conn, name.strip(), region)


async def update_account(conn: AsyncConnection, account: Record, default_region: str) -> Record:
    try:
        region = phone.check_region(default_region)
    except PhoneNumberError as error:
        raise ValidationError(
            error.args[0], field=("input", "defaultRegion"), code=error.code
        ) from None
    updated = await repository.set_default_region(conn, account.id, region)
    assert updated is not None  # the caller's own account always exists
    return updated
