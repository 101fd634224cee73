"""Use cases: create/update/delete/import/lookup subscribers. No GraphQL or HTTP here.

Each function takes the caller's connection (the caller owns the transaction) and the
caller's account; expected problems come back as `UserError` data, not exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import phone, repository
from substore.errors import (
    ErrorCode,
    NotFoundError,
    SubstoreError,
    UserError,
    ValidationError,
)
from substore.preparation import (
    NormalizeOptions,
    RowResult,
    RowStatus,
    SubscriberInput,
    asks_subscribed,
    opted_out,
    prepare,
    prepare_packed,
    skipped,
    under,
    unpack,
    validate_profile,
)
from substore.repository import Provenance, Record, SubscriberWrite

DEFAULT_OPTIONS = NormalizeOptions()

# Runs a pure function somewhere (inline, a thread, another process) and awaits it.
CpuRunner = Callable[..., Awaitable[Any]]


@dataclass(slots=True)
class SaveResult:
    subscriber: Record | None = None
    created: bool = False
    warnings: list[UserError] = field(default_factory=list)
    user_errors: list[UserError] = field(default_factory=list)


async def run_inline(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


def by_api(actor: str | None = None) -> Provenance:
    return Provenance(datetime.now(UTC), "api", actor)


def kept_opted_out(row: SubscriberWrite, status: str, e164: str) -> list[UserError]:
    return [opted_out(e164)] if asks_subscribed(row) and status == "UNSUBSCRIBED" else []


def home_region(account: Record, options: NormalizeOptions) -> str:
    if options.default_region:
        return phone.check_region(options.default_region)
    return cast(str, account.default_region)  # a Row's attributes are Any; the column's a str


# --- one subscriber ------------------------------------------------------------------


async def save_subscriber(
    conn: AsyncConnection,
    account: Record,
    data: SubscriberInput,
    options: NormalizeOptions = DEFAULT_OPTIONS,
    *,
    provenance: Provenance | None = None,
) -> SaveResult:
    """Create the subscriber, or update the one that already has this number."""
    try:
        region = home_region(account, options)
        row, warnings = prepare(data, region, options.strict_country_code)
    except SubstoreError as error:
        return SaveResult(user_errors=[error.user_error.under("input")])
    provenance = provenance or by_api()
    stored = await repository.upsert_subscriber(conn, account.id, row, provenance)
    warnings += kept_opted_out(row, stored.status, stored.e164_number)
    return SaveResult(stored.subscriber, stored.created, under(warnings, "input"))


async def update_subscriber(
    conn: AsyncConnection,
    account: Record,
    subscriber_id: int,
    data: SubscriberInput,
    options: NormalizeOptions = DEFAULT_OPTIONS,
    *,
    actor: str | None = None,
    label: str | None = None,
) -> SaveResult:
    """Change a subscriber by id (`label`: the id as the caller wrote it, for messages).
    Its number changes only when a number is given."""
    try:
        row, warnings = _prepare_update(account, data, options)
        found = await repository.update_subscriber(
            conn, account.id, subscriber_id, row, by_api(actor)
        )
        if found is None:
            raise not_found(label or subscriber_id)
    except SubstoreError as error:
        return SaveResult(user_errors=[_input_path(error.user_error)])
    warnings += kept_opted_out(row, found.status, found.e164_number)
    return SaveResult(found, False, under(warnings, "input"))


def _prepare_update(
    account: Record, data: SubscriberInput, options: NormalizeOptions
) -> tuple[SubscriberWrite, list[UserError]]:
    if data.number is None and data.e164_number is None:
        return SubscriberWrite(key={}, profile=validate_profile(data.profile)), []
    return prepare(data, home_region(account, options), options.strict_country_code)


def _input_path(error: UserError) -> UserError:
    return error if error.field[:1] in (("input",), ("id",)) else error.under("input")


MAX_DELETE = 1000


async def delete_subscribers(
    conn: AsyncConnection,
    account: Record,
    ids: Sequence[int | None],
    forget_opt_out: bool = False,
    actor: str | None = None,
) -> list[bool]:
    """Delete subscribers by id (None: an id that could not be read); whether each was.

    One statement for them all. An opted-out subscriber stays as a suppression entry
    unless `forget_opt_out` (an erasure request): see repository.delete_subscribers.
    """
    if len(ids) > MAX_DELETE:
        raise ValidationError(
            f"{len(ids)} ids is more than {MAX_DELETE} a call: split them.",
            field=("ids",),
            code=ErrorCode.PARAMETER_TOO_LONG,
        )
    known = [i for i in ids if i is not None]
    found = await repository.delete_subscribers(
        conn, account.id, known, forget_opt_out, by_api(actor)
    )
    return [i is not None and i in found for i in ids]


async def delete_subscriber(
    conn: AsyncConnection,
    account: Record,
    subscriber_id: int | None,
    label: str | None = None,
    forget_opt_out: bool = False,
    actor: str | None = None,
) -> None:
    [deleted] = await delete_subscribers(conn, account, [subscriber_id], forget_opt_out, actor)
    if not deleted:
        raise not_found(label or subscriber_id or 0)


def not_found(label: str | int) -> NotFoundError:
    shown = repr(label) if isinstance(label, str) else label
    return NotFoundError(f"no subscriber with id {shown} in this account.", field=("id",))


_E164 = re.compile(r"\+[1-9][0-9]{1,14}")  # the form every stored key has


# Reads one subscriber by its key: repository.get_subscriber_by_e164's signature.
ByE164 = Callable[[AsyncConnection, int, str], Awaitable[Record | None]]


async def find_subscriber(
    conn: AsyncConnection, account: Record, number: str | int, by_e164: ByE164 | None = None
) -> Record | None:
    """The subscriber whose number this is, written in any format; None if it is a valid
    number the account has not stored; PhoneNumberError if it cannot be a number.
    `by_e164` reads the row (default: a statement of its own on `conn`)."""
    get = by_e164 or repository.get_subscriber_by_e164
    # Stored keys are canonical E.164: a number written that way is looked up as it is.
    # That spares a sender who checks the number on file the normalising (70 us a lookup),
    # and finds a key stored by an older phonenumbers that no longer reads it as valid.
    written = number.strip() if isinstance(number, str) else None
    if written is not None and _E164.fullmatch(written):
        found = await get(conn, account.id, written)
        if found is not None:
            return found
    key = phone.normalize(number, default_region=account.default_region)
    if key.e164_number == written:
        return None  # looked up above
    return await get(conn, account.id, key.e164_number)


# --- reading -------------------------------------------------------------------------


async def get_subscriber(
    conn: AsyncConnection, account: Record, subscriber_id: int
) -> Record | None:
    return await repository.get_subscriber(conn, account.id, subscriber_id)


async def get_subscribers(
    conn: AsyncConnection, account: Record, ids: Sequence[int]
) -> dict[int, Record]:
    return await repository.get_subscribers(conn, account.id, ids)


# --- many subscribers ----------------------------------------------------------------


async def save_subscribers(
    conn: AsyncConnection,
    account: Record,
    inputs: Sequence[SubscriberInput],
    options: NormalizeOptions = DEFAULT_OPTIONS,
    *,
    all_or_nothing: bool = False,
    dry_run: bool = False,
    run_cpu: CpuRunner | None = None,
    actor: str | None = None,
) -> list[RowResult]:
    """Create or update many subscribers; one result per input, in input order.

    Rows sharing an E.164 are merged in input order (later fields win): the first is
    reported CREATED or UPDATED, the later ones MERGED. With `all_or_nothing`, any
    failed row means nothing is written and every other row is SKIPPED. Normalising is
    CPU work: `run_cpu` decides where it runs (a server passes a process pool). The rows
    get there by pickle, which recurses once a level of their attributes: a caller bounds
    that nesting first (the HTTP edge reads a body to MAX_JSON_DEPTH + 5 levels).
    """
    region = home_region(account, options)
    run_cpu = run_cpu or run_inline
    results, groups, asking = unpack(
        await run_cpu(
            prepare_packed,
            inputs,
            region,
            options.strict_country_code,
            options.drop_invalid_fields,
        )
    )
    failed = any(r.status is RowStatus.FAILED for r in results)
    if all_or_nothing and failed:
        return [skipped(r) for r in results]
    provenance = Provenance(datetime.now(UTC), "import", actor)
    # A dry run writes inside a savepoint and rolls it back: the same statements, so the
    # same results (created or updated, opt-outs kept), and nothing stored.
    savepoint = await conn.begin_nested() if dry_run else None
    try:
        stored = await repository.upsert_columns(conn, account.id, groups, provenance)
    finally:
        if savepoint is not None:
            await savepoint.rollback()
    for result in results:
        if result.status is RowStatus.FAILED:
            continue
        assert result.e164_number is not None  # every row but a FAILED one has its key
        saved = stored[result.e164_number]
        result.subscriber_id = saved.id
        # Merged rows: only where the merged row (later fields win) still asks for it.
        if (
            result.asks_subscribed
            and saved.status == "UNSUBSCRIBED"
            and saved.e164_number in asking
        ):
            result.warnings += under([opted_out(saved.e164_number)], "input", str(result.index))
        if result.status is not RowStatus.MERGED:
            result.status = RowStatus.CREATED if saved.created else RowStatus.UPDATED
    return results
