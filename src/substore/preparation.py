"""Preparing input: normalise numbers, validate fields, merge a batch. Pure: no I/O.

This is the CPU-bound half of saving subscribers; a server runs `prepare_batch` in a
worker process, so everything here must pickle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, overload

from substore import phone
from substore.consent.zones import time_zones
from substore.errors import ErrorCode, SubstoreError, UserError, ValidationError
from substore.models import SubscriberStatus
from substore.phone.regions import read_region
from substore.repository import Columns, SubscriberWrite, as_columns
from substore.text import json_problem, text_problem

MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254
MAX_ATTRIBUTES_BYTES = 16_384
MAX_SOURCE_LENGTH = 200
CLOCK_SKEW = timedelta(minutes=1)  # a caller's clock a little ahead is not the future
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True, slots=True)
class SubscriberInput:
    """What a caller submitted. `profile` holds only the fields the caller gave."""

    number: str | int | None = None
    e164_number: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    default_region: str | None = None  # the row's own country: a code or an English name

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        # An import's rows cross to the normaliser processes: as plain arguments they
        # pickle in a third of the time a slotted dataclass takes (both ends).
        return SubscriberInput, (self.number, self.e164_number, self.profile, self.default_region)


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    default_region: str | None = None
    strict_country_code: bool = False
    # A row whose number is good but an optional field is not: stored without that field.
    drop_invalid_fields: bool = False


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


def prepare(
    data: SubscriberInput, region: str, strict: bool, drop_invalid: bool = False
) -> tuple[SubscriberWrite, list[UserError]]:
    """Normalise and validate one input: the row to write and its warnings, or raise.

    The number is read in the row's own country when it gives one, else in `region`
    (the options' or the account's); e164Number wins over both. A country read from a name
    that is not ISO's ("England") warns which country that was.
    """
    read_as = None
    if data.default_region:
        region, read_as = read_region(data.default_region)
    key = phone.normalize(
        data.number, data.e164_number, default_region=region, strict_country_code=strict
    )
    profile, dropped = _valid_profile(data.profile, drop_invalid)
    warnings = [*key.warnings, *dropped, *([read_as] if read_as else [])]
    if _asked_subscribed(data.profile) and profile.get("status") == "UNSUBSCRIBED":
        warnings.append(opted_out(key.e164_number))  # its own unsubscribedAt says so
    return SubscriberWrite(key=key_columns(key), profile=profile), warnings


def _asked_subscribed(profile: dict[str, Any]) -> bool:
    return "status" in profile and profile["status"] in (None, "SUBSCRIBED")


def _valid_profile(
    profile: dict[str, Any], drop_invalid: bool
) -> tuple[dict[str, Any], list[UserError]]:
    """The validated profile; with `drop_invalid`, without the fields that are not valid."""
    if not drop_invalid:  # nearly every row: no copy, no loop
        return validate_profile(profile), []
    given = dict(profile)
    dropped: list[UserError] = []
    while True:
        try:
            return validate_profile(given), dropped
        except ValidationError as error:
            problem = error.user_error
            name = _snake(problem.field[0]) if problem.field else ""
            if name not in given:
                raise
            del given[name]
            message = f"{problem.message} The row was stored without {problem.field[0]}."
            dropped.append(UserError(problem.code, message, problem.field, "FIELD_DROPPED"))


def key_columns(key: phone.NormalizedNumber) -> dict[str, Any]:
    zones = time_zones(key.e164_number, key.number_type, key.country_code)
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
        "time_zones": " ".join(zones),
    }


def validate_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Check the given profile fields; blanks become None (which clears)."""
    clean = dict(profile)
    for name in ("first_name", "last_name", "email"):
        if name in clean:
            clean[name] = _text(clean[name], name)
    for name in ("first_name", "last_name"):
        if clean.get(name) and len(clean[name]) > MAX_NAME_LENGTH:
            raise _too_long(name, MAX_NAME_LENGTH)
    if clean.get("email"):
        _check_email(clean["email"])
    if "attributes" in clean:
        check_attributes(clean["attributes"])
    if clean.get("status") is not None and clean["status"] not in set(SubscriberStatus):
        raise ValidationError("status must be SUBSCRIBED or UNSUBSCRIBED.", field=("status",))
    _check_consent(clean)
    return clean


def _check_consent(clean: dict[str, Any]) -> None:
    """consentedAt and unsubscribedAt are evidence: never in the future, never cleared
    (null is "not given")."""
    for source in ("consent_source", "unsubscribe_source"):
        if source in clean:
            clean[source] = _text(clean[source], source)
            if clean[source] and len(clean[source]) > MAX_SOURCE_LENGTH:
                raise _too_long(source, MAX_SOURCE_LENGTH)
    if clean.get("unsubscribe_source") is None:
        clean.pop("unsubscribe_source", None)  # only beside its time: see _opt_out_evidence
    for moment, advice in _EVIDENCE.items():
        if clean.get(moment) is None:
            clean.pop(moment, None)
        else:
            clean[moment] = not_in_future(clean[moment], _camel(moment), advice)
    _opt_out_evidence(clean)


_EVIDENCE = {
    "consented_at": "give the time consent was given",
    "unsubscribed_at": "give the time the person opted out",
}


def _opt_out_evidence(clean: dict[str, Any]) -> None:
    """An opt-out's own time is the opt-out: the subscriber is UNSUBSCRIBED unless the row
    shows consent given after it (a resubscribed subscriber, as an export writes one).
    Opt-outs stick, so SUBSCRIBED beside an unanswered opt-out becomes UNSUBSCRIBED
    (prepare warns OPTED_OUT)."""
    opted_out_at = clean.get("unsubscribed_at")
    if opted_out_at is None:
        return
    consented_at = clean.get("consented_at")
    if consented_at is None or consented_at <= opted_out_at:
        clean["status"] = "UNSUBSCRIBED"


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...


def as_utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC (as PostGraphile and Hasura read it), so that
    it compares with zoned times instead of failing."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def not_in_future(moment: datetime, field_name: str, advice: str) -> datetime:
    """`moment` (in UTC if it has no zone), unless it is later than now: evidence of
    something that happened. A clock a minute ahead is not the future."""
    moment = as_utc(moment)
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValidationError(
            f"{field_name} {moment.isoformat()} is in the future: {advice} "
            "(a time without a zone is read as UTC).",
            field=(field_name,),
        )
    return moment


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if problem := text_problem(text):
        raise ValidationError(f"{_camel(name)} {problem}: remove it.", field=(_camel(name),))
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


def check_attributes(attributes: Any) -> None:
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        raise ValidationError(
            'attributes must be a JSON object, e.g. {"plan": "gold"}.',
            field=("attributes",),
        )
    if found := json_problem(attributes):
        path, problem = found
        where = "attributes" + "".join(f"[{key!r}]" for key in path)
        raise ValidationError(f"{where} {problem}.", field=("attributes",))
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise _too_long("attributes", MAX_ATTRIBUTES_BYTES)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def prepare_batch(
    inputs: Sequence[SubscriberInput], region: str, strict: bool, drop_invalid: bool = False
) -> tuple[list[RowResult], dict[str, SubscriberWrite]]:
    """Normalise every row and merge rows that share an E.164. Pure: no I/O."""
    results: list[RowResult] = []
    rows: dict[str, SubscriberWrite] = {}
    for index, data in enumerate(inputs):
        try:
            row, warnings = prepare(data, region, strict, drop_invalid)
        except SubstoreError as error:
            error_ = error.user_error.under("input", str(index))
            results.append(RowResult(index, RowStatus.FAILED, user_errors=[error_]))
            continue
        e164 = row.key["e164_number"]
        earlier = rows.get(e164)
        status = RowStatus.MERGED if earlier else RowStatus.CREATED
        asks = asks_subscribed(row)
        if earlier and asks and earlier.profile.get("status") == "UNSUBSCRIBED":
            # An opt-out earlier in the batch sticks, as it would from an earlier batch:
            # how rows fall into batches must not decide consent.
            row = SubscriberWrite(row.key, {**row.profile, "status": "UNSUBSCRIBED"})
            warnings, asks = [*warnings, opted_out(e164)], False
        rows[e164] = _merge(earlier, row) if earlier else row
        if warnings:
            warnings = under(warnings, "input", str(index))
        results.append(RowResult(index, status, e164, None, [], warnings, asks))
    return results, rows


# A prepared batch as it crosses from the normaliser process back to the server: each
# row's result as a plain tuple (half the pickling time of the dataclass), the rows to
# store already as their statements' arrays, and which stored E.164s ask to be subscribed.
Packed = tuple[list[tuple[Any, ...]], list[Columns], set[str]]


def prepare_packed(
    inputs: Sequence[SubscriberInput], region: str, strict: bool, drop_invalid: bool = False
) -> Packed:
    """prepare_batch, packed for the trip back (see unpack)."""
    results, rows = prepare_batch(inputs, region, strict, drop_invalid)
    return (
        [
            (r.index, r.status.value, r.e164_number, r.user_errors, r.warnings, r.asks_subscribed)
            for r in results
        ],
        as_columns(list(rows.values())),
        {e164 for e164, row in rows.items() if asks_subscribed(row)},
    )


# A status by its value: a dictionary lookup, where RowStatus(value) cost ~1 us a row.
_STATUSES = {status.value: status for status in RowStatus}


def unpack(packed: Packed) -> tuple[list[RowResult], list[Columns], set[str]]:
    results, groups, asking = packed
    statuses = _STATUSES
    return (
        [
            RowResult(index, statuses[status], e164, None, errors, warnings, asks)
            for index, status, e164, errors, warnings, asks in results
        ],
        groups,
        asking,
    )


def warm_up() -> None:
    """What a normaliser process loads once: the modules and every region's metadata
    (else each region's loads in the middle of the first batch that has one)."""
    phone.load_metadata()
    prepare_packed([SubscriberInput(number="+12015550123")], "US", False)


def asks_subscribed(row: SubscriberWrite) -> bool:
    return "status" in row.profile and row.profile["status"] in (None, "SUBSCRIBED")


def opted_out(e164: str) -> UserError:
    return UserError(
        ErrorCode.CONFLICTING_PARAMETERS,
        f"{e164} opted out, so it stays UNSUBSCRIBED (its other fields were saved). To "
        "subscribe it again, send status SUBSCRIBED with consentedAt: when the person gave "
        "consent again, after the opt-out (unsubscribedAt); or the person texts START.",
        ("status",),
        "OPTED_OUT",
    )


def _merge(earlier: SubscriberWrite, later: SubscriberWrite) -> SubscriberWrite:
    return SubscriberWrite(key=later.key, profile={**earlier.profile, **later.profile})


def skipped(result: RowResult) -> RowResult:
    if result.status is RowStatus.FAILED:
        return result
    return RowResult(result.index, RowStatus.SKIPPED, result.e164_number, warnings=result.warnings)


def under(errors: list[UserError], *prefix: str) -> list[UserError]:
    return [error.under(*prefix) for error in errors]
