"""Output types of the contract, separate from the tables, with explicit converters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from substore import errors, phone, services
from substore.graphql import consent
from substore.models import SubscriberStatus as StatusValue
from substore.services import Record

# Enums of the contract. strawberry.enum marks a class in place (and returns it), so each
# name is the class itself: an alias, which mypy reads as a type.
ErrorCode = errors.ErrorCode
CountryCodeSource = phone.CountryCodeSource
SubscriberStatus = StatusValue
ImportRowStatus = services.RowStatus
# NumberType's members come from phonenumbers: mypy reads an Enum() only of literal ones.
NumberType = Enum(  # type: ignore[misc]
    "NumberType", {name: name for name in sorted(phone.NUMBER_TYPES.values())}
)
strawberry.enum(ErrorCode, name="ErrorCode")
strawberry.enum(CountryCodeSource, name="CountryCodeSource")
strawberry.enum(SubscriberStatus, name="SubscriberStatus")
strawberry.enum(ImportRowStatus, name="ImportRowStatus")
strawberry.enum(
    NumberType,
    name="NumberType",
    description="What kind of line a number is, from phonenumbers' metadata.",
)


# --- global ids ----------------------------------------------------------------------


def encode_id(kind: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode())


MAX_PK = 2**63 - 1  # bigint: a larger key cannot exist, and would not fit a query


def decode_id(value: str) -> tuple[str, int] | None:
    """(kind, primary key) of an id made by encode_id; None for anything else."""
    try:
        kind, _, digits = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
        pk = int(digits) if digits.isascii() and digits.isdigit() else 0
    except (binascii.Error, UnicodeError, ValueError):
        return None
    return (kind, pk) if kind and 0 < pk <= MAX_PK else None


@strawberry.interface(description="An object with a global, opaque id.")
class Node:
    id: strawberry.ID


# --- errors --------------------------------------------------------------------------


@strawberry.type(description="An expected problem with the input: fix it and send again.")
class UserError:
    code: ErrorCode
    field: list[str] | None
    message: str
    reason: str | None

    @classmethod
    def of(cls, error: errors.UserError) -> UserError:
        return cls(
            code=error.code,
            field=list(error.field) or None,
            message=error.message,
            reason=str(error.reason) if error.reason else None,
        )


def user_errors(items: list[errors.UserError]) -> list[UserError]:
    return [UserError.of(item) for item in items]


# --- subscribers and accounts --------------------------------------------------------


# Stored text to enum members by dict: cheaper than Enum's own lookups, row after row.
_NUMBER_TYPES = {member.name: member for member in NumberType}
_SOURCES = {member.value: member for member in phone.CountryCodeSource}
_STATUSES = {member.value: member for member in StatusValue}


def status_of(value: str) -> StatusValue:
    """A stored status as the GraphQL enum's member."""
    return _STATUSES[value]


@strawberry.type
class Subscriber(Node):
    e164_number: str
    number: str
    raw_number: str
    country_code: int
    region_code: str | None
    number_type: NumberType
    country_code_source: CountryCodeSource
    default_region: str | None = strawberry.field(
        description="The country a number without a country code was read in (the row's, "
        "the import's or the account's): with rawNumber it says how the key was made."
    )
    first_name: str | None
    last_name: str | None
    email: str | None
    attributes: JSON
    status: SubscriberStatus
    created_at: datetime
    updated_at: datetime
    consented_at: datetime | None = strawberry.field(
        description="When the person gave the consent on file (never invented: only as given)."
    )
    consent_source: str | None
    unsubscribed_at: datetime | None = strawberry.field(
        description="When the current opt-out began: only consent given after it undoes it."
    )
    unsubscribe_source: str | None
    time_zones: list[str] = strawberry.field(
        description="The number's time zones (its country's when the number says no more)."
    )
    consent_events: consent.ConsentEventConnection = strawberry.field(
        resolver=consent.consent_events, description="Every consent change, oldest first."
    )
    can_message: consent.MessagePermission = strawberry.field(
        resolver=consent.can_message,
        description="Whether a message may go out at `at` (default now): subscribed, and "
        "outside the account's quiet hours in every one of the number's time zones.",
    )
    row: strawberry.Private[Record]

    @property
    def pk(self) -> int:
        return self.row.id

    @classmethod
    def of(cls, row: Record) -> Subscriber:
        return cls(
            id=encode_id("Subscriber", row.id),
            e164_number=row.e164_number,
            number=row.number,
            raw_number=row.raw_number,
            country_code=row.country_code,
            region_code=row.region_code,
            number_type=_NUMBER_TYPES[row.number_type],
            country_code_source=_SOURCES[row.country_code_source],
            default_region=row.default_region,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            attributes=row.attributes,
            status=_STATUSES[row.status],
            created_at=row.created_at,
            updated_at=row.updated_at,
            consented_at=row.consented_at,
            consent_source=row.consent_source,
            unsubscribed_at=row.unsubscribed_at,
            unsubscribe_source=row.unsubscribe_source,
            time_zones=row.time_zones.split(),
            row=row,
        )


@strawberry.type(description="The caller's account.")
class Account(Node):
    name: str
    default_region: str
    subscriber_count: int
    created_at: datetime
    quiet_hours: consent.QuietHours

    @classmethod
    def of(cls, row: Record, subscriber_count: int) -> Account:
        return cls(
            id=encode_id("Account", row.id),
            name=row.name,
            default_region=row.default_region,
            subscriber_count=subscriber_count,
            created_at=row.created_at,
            quiet_hours=consent.quiet_hours(row),
        )


@strawberry.type
class SubscriberEdge:
    node: Subscriber
    # Made when asked for: most pages read only pageInfo.endCursor.
    make_cursor: strawberry.Private[Callable[[], str]]

    @strawberry.field
    def cursor(self) -> str:
        return self.make_cursor()


@strawberry.type(description="What substore would store for a number; stores nothing.")
class PhoneNumberCheck:
    valid: bool
    e164_number: str | None = None
    number: str | None = None
    country_code: int | None = None
    region_code: str | None = None
    number_type: NumberType | None = None
    country_code_source: CountryCodeSource | None = None
    error: UserError | None = None
    warnings: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, key: phone.NormalizedNumber) -> PhoneNumberCheck:
        return cls(
            valid=True,
            e164_number=key.e164_number,
            number=key.number,
            country_code=key.country_code,
            region_code=key.region_code,
            number_type=NumberType[key.number_type],
            country_code_source=key.country_code_source,
            warnings=user_errors(list(key.warnings)),
        )


# --- payloads ------------------------------------------------------------------------


@strawberry.type
class CreateSubscriberPayload:
    subscriber: Subscriber | None
    created: bool
    user_errors: list[UserError]
    warnings: list[UserError]


@strawberry.type
class UpdateSubscriberPayload:
    subscriber: Subscriber | None
    user_errors: list[UserError]
    warnings: list[UserError]


@strawberry.type
class DeleteSubscriberPayload:
    deleted_subscriber_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class DeleteSubscriberResult:
    id: strawberry.ID
    deleted: bool
    user_errors: list[UserError]


@strawberry.type
class DeleteSubscribersPayload:
    deleted_count: int
    results: list[DeleteSubscriberResult] = strawberry.field(
        description="One result per id, in the order given."
    )


@strawberry.type
class UpdateAccountPayload:
    account: Account | None
    user_errors: list[UserError]
