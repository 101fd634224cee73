"""One input row: its number normalised to the key columns, its profile validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from substore import phone
from substore.consent.zones import time_zones
from substore.errors import ErrorCode, UserError, ValidationError
from substore.phone.regions import read_region
from substore.preparation.profile import snake_name, validate_profile
from substore.repository import SubscriberWrite


@dataclass(slots=True)
class SubscriberInput:
    """What a caller submitted. `profile` holds only the fields the caller gave.

    Not frozen, though nothing changes one: an import makes 1000 a batch, and a frozen
    dataclass's __init__ (object.__setattr__ a field) took three times as long."""

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
    warnings = [*key.warnings, *dropped] if key.warnings or dropped else []
    if read_as:
        warnings.append(read_as)
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
            name = snake_name(problem.field[0]) if problem.field else ""
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
