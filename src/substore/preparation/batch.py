"""A batch of input rows: each prepared, rows that share an E.164 merged in input order,
and the whole packed for the trip from a normaliser process back to the server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from substore import phone
from substore.errors import SubstoreError, UserError
from substore.preparation.rows import (
    SubscriberInput,
    asks_subscribed,
    opted_out,
    prepare,
)
from substore.repository import Columns, SubscriberWrite, as_columns


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
    asks_subscribed: bool = False  # its status is SUBSCRIBED: warn if an opt-out holds


# A row's result as it crosses from the normaliser process back to the server: a plain
# tuple (index, status value, E.164, errors, warnings, asks to be subscribed), half the
# pickling time of the dataclass. A batch's rows to store go as their statements' arrays,
# with the E.164s whose stored row asks to be subscribed.
Packed = tuple[list[tuple[Any, ...]], list[Columns], set[str]]


def prepare_batch(
    inputs: Sequence[SubscriberInput], region: str, strict: bool, drop_invalid: bool = False
) -> tuple[list[RowResult], dict[str, SubscriberWrite]]:
    """Normalise every row and merge rows that share an E.164. Pure: no I/O."""
    results, rows = _prepare_all(inputs, region, strict, drop_invalid)
    return _results(results), rows


def prepare_packed(
    inputs: Sequence[SubscriberInput], region: str, strict: bool, drop_invalid: bool = False
) -> Packed:
    """prepare_batch, packed for the trip back (see unpack)."""
    results, rows = _prepare_all(inputs, region, strict, drop_invalid)
    asking = {e164 for e164, row in rows.items() if asks_subscribed(row)}
    return results, as_columns(list(rows.values())), asking


def _prepare_all(
    inputs: Sequence[SubscriberInput], region: str, strict: bool, drop_invalid: bool
) -> tuple[list[tuple[Any, ...]], dict[str, SubscriberWrite]]:
    results: list[tuple[Any, ...]] = []
    rows: dict[str, SubscriberWrite] = {}
    for index, data in enumerate(inputs):
        try:
            row, warnings = prepare(data, region, strict, drop_invalid)
        except SubstoreError as error:
            error_ = error.user_error.under("input", str(index))
            results.append((index, _FAILED, None, [error_], [], False))
            continue
        e164 = row.key["e164_number"]
        earlier = rows.get(e164)
        asks = asks_subscribed(row)
        if earlier is None:
            rows[e164] = row
            status = _CREATED
        else:
            if asks and earlier.profile.get("status") == "UNSUBSCRIBED":
                # An opt-out earlier in the batch sticks, as it would from an earlier
                # batch: how rows fall into batches must not decide consent.
                row = SubscriberWrite(row.key, {**row.profile, "status": "UNSUBSCRIBED"})
                warnings, asks = [*warnings, opted_out(e164)], False
            rows[e164] = SubscriberWrite(row.key, {**earlier.profile, **row.profile})
            status = _MERGED
        if warnings:
            warnings = under(warnings, "input", str(index))
        results.append((index, status, e164, [], warnings, asks))
    return results, rows


_CREATED, _MERGED, _FAILED = (
    s.value for s in (RowStatus.CREATED, RowStatus.MERGED, RowStatus.FAILED)
)


# A status by its value: a dictionary lookup, where RowStatus(value) cost ~1 us a row.
_STATUSES = {status.value: status for status in RowStatus}


def unpack(packed: Packed) -> tuple[list[RowResult], list[Columns], set[str]]:
    results, groups, asking = packed
    return _results(results), groups, asking


def _results(packed: list[tuple[Any, ...]]) -> list[RowResult]:
    statuses = _STATUSES
    return [
        RowResult(index, statuses[status], e164, None, errors, warnings, asks)
        for index, status, e164, errors, warnings, asks in packed
    ]


def warm_up() -> None:
    """What a normaliser process loads once: the modules and every region's metadata
    (else each region's loads in the middle of the first batch that has one)."""
    phone.load_metadata()
    prepare_packed([SubscriberInput(number="+12015550123")], "US", False)


def skipped(result: RowResult) -> RowResult:
    if result.status is RowStatus.FAILED:
        return result
    return RowResult(result.index, RowStatus.SKIPPED, result.e164_number, warnings=result.warnings)


def under(errors: list[UserError], *prefix: str) -> list[UserError]:
    return [error.under(*prefix) for error in errors]
