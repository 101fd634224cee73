"""Output types of the contract, separate from the tables, with explicit converters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from substore import errors, phone, services
from substore.graphql import consent, typed
from substore.graphql.enums import described_enum
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


described_enum(
    ErrorCode,
    "ErrorCode",
    "What kind of expected problem a UserError reports (also a query error's extensions.code).",
    {code.name: meaning for code, meaning in errors.ERROR_CODE_MEANINGS.items()},
)
described_enum(
    CountryCodeSource,
    "CountryCodeSource",
    "How the country calling code of a number was found.",
    {
        "PLUS_SIGN": "Written after a +, e.g. +44 20 7946 0018.",
        "IDD": "Written after an international prefix dialled from the home region, e.g. "
        "011 44 20 7946 0018 read in the US.",
        "NUMBER_WITHOUT_PLUS": "Written without a + or a prefix: the digits begin with the "
        "home region's own country code, e.g. 18002223333 read in the US.",
        "DEFAULT_REGION": "Not written: the number was read as a national number of its "
        "default region (the row's, the import's or the account's).",
        "INFERRED": "Guessed from the digits by the documented fallback, when the home "
        "region's reading was not valid (with a COUNTRY_CODE_INFERRED warning; "
        "strictCountryCode: true turns it off).",
    },
)
described_enum(
    SubscriberStatus,
    "SubscriberStatus",
    "Whether a subscriber may be texted, as far as consent goes.",
    {
        "SUBSCRIBED": "May be messaged (outside the account's quiet hours); a new subscriber "
        "without a status is SUBSCRIBED.",
        "UNSUBSCRIBED": "Opted out: nothing may be sent until the person consents again "
        "(a consentedAt later than unsubscribedAt).",
    },
)
described_enum(
    ImportRowStatus,
    "ImportRowStatus",
    "What importSubscribers did with one row (with dryRun: what it would have done).",
    {
        "CREATED": "The row stored a new subscriber.",
        "UPDATED": "The row updated the subscriber that already had its number.",
        "MERGED": "An earlier row of the same call has the same number: this row's fields "
        "were merged into it, later fields winning.",
        "FAILED": "The row was refused (its userErrors say why); nothing of it was stored.",
        "SKIPPED": "Not stored because another row failed and allOrNothing was true.",
    },
)
described_enum(
    NumberType,
    "NumberType",
    "What kind of line a number is, from phonenumbers' metadata.",
    {
        "FIXED_LINE": "A landline.",
        "FIXED_LINE_OR_MOBILE": "A landline or a mobile: the numbering plan does not tell "
        "them apart (as in the US and Canada).",
        "MOBILE": "A mobile phone.",
        "PAGER": "A pager.",
        "PERSONAL_NUMBER": "A personal number, forwarded to wherever its owner is (UK 070).",
        "PREMIUM_RATE": "A premium-rate service, charged above the normal rate.",
        "SHARED_COST": "A shared-cost service: the caller pays part of the call, the "
        "receiver the rest.",
        "TOLL_FREE": "Free to call, e.g. +1 800.",
        "UAN": "A universal access number: one number a company routes to its offices.",
        "UNKNOWN": "Not a number in use: such numbers are refused (INVALID_PHONENUMBER_FORMAT), "
        "so a subscriber never has this type.",
        "VOICEMAIL": "A voicemail access number.",
        "VOIP": "An internet telephony (VoIP) number.",
    },
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
    id: strawberry.ID = strawberry.field(
        description="A global, opaque id: pass it to node(id:) or to the mutations that take an id.",
    )


# --- errors --------------------------------------------------------------------------


@strawberry.type(description="An expected problem with the input: fix it and send again.")
class UserError:
    code: ErrorCode = strawberry.field(description="What kind of problem (see the error codes).")
    field: list[str] | None = strawberry.field(
        description='The path of the input at fault, e.g. ["input", "3", "number"]; null for the call as '
        "a whole.",
    )
    message: str = strawberry.field(description="What went wrong and how to fix it, for a person.")
    reason: str | None = strawberry.field(
        description="A finer reason where there is one, e.g. LOCAL_ONLY for a number.",
    )

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


@strawberry.type(
    description="A person who may be texted, keyed in the account by the E.164 form of their number."
)
class Subscriber(Node):
    e164_number: str = strawberry.field(
        description="The key: the canonical E.164 form of the number, e.g. +12015550123.",
    )
    number: str = strawberry.field(
        description="The national significant number, digits only (Italian numbers keep their leading 0).",
    )
    raw_number: str = strawberry.field(
        description="The number exactly as last submitted (an integer as its digits; e164Number when only "
        "it was given).",
    )
    country_code: int = strawberry.field(description="The country calling code, e.g. 44.")
    region_code: str | None = strawberry.field(
        description="The ISO 3166-1 region of the number; null for non-geographic numbers (+800).",
    )
    number_type: NumberType = strawberry.field(description="What kind of line the number is.")
    country_code_source: CountryCodeSource = strawberry.field(
        description="How the country code was found when the key was made.",
    )
    default_region: str | None = strawberry.field(
        description="The country a number without a country code was read in (the row's, "
        "the import's or the account's): with rawNumber it says how the key was made."
    )
    first_name: str | None = strawberry.field(description="First name, as given.")
    last_name: str | None = strawberry.field(description="Last name, as given.")
    email: str | None = strawberry.field(description="Email address, checked for its form.")
    attributes: JSON = strawberry.field(
        description="Any JSON object the caller stores with the subscriber (filter with attributes:).",
    )
    status: SubscriberStatus = strawberry.field(
        description="SUBSCRIBED or UNSUBSCRIBED; an opt-out sticks (see consentedAt).",
    )
    created_at: datetime = strawberry.field(description="When the subscriber was first stored.")
    updated_at: datetime = strawberry.field(
        description="When the writing transaction of the last change began (syncs page by it).",
    )
    consented_at: datetime | None = strawberry.field(
        description="When the person gave the consent on file (never invented: only as given)."
    )
    consent_source: str | None = strawberry.field(
        description="Where the consent on file was given: the input's consentSource, else api "
        "or import.",
    )
    unsubscribed_at: datetime | None = strawberry.field(
        description="When the current opt-out began: only consent given after it undoes it."
    )
    unsubscribe_source: str | None = strawberry.field(
        description='What opted the number out: "api", "import", "keyword:STOP" ...',
    )
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
        return cast(int, self.row.id)  # a Row's attributes are Any; id is the int primary key

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
    name: str = strawberry.field(description="The account's name.")
    default_region: str = strawberry.field(
        description="The home region: numbers written without a country code are read there.",
    )
    subscriber_count: int = strawberry.field(
        description="Subscribers stored in the account, suppression entries included.",
    )
    created_at: datetime = strawberry.field(description="When the account was created.")
    quiet_hours: consent.QuietHours = strawberry.field(
        description="Local times between which no message may go out (canMessage).",
    )

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


@strawberry.type(description="A subscriber and its cursor.")
class SubscriberEdge:
    node: Subscriber = strawberry.field(description="The subscriber.")
    # Made when asked for: most pages read only pageInfo.endCursor.
    make_cursor: strawberry.Private[Callable[[], str]]

    @typed.field(
        description="This row's place in the list: pass it as after (or before) to read the "
        "rows after (or before) it, with the same orderBy."
    )
    def cursor(self) -> str:
        return self.make_cursor()


@strawberry.type(description="What substore would store for a number; stores nothing.")
class PhoneNumberCheck:
    valid: bool = strawberry.field(
        description="Whether the number would be stored; if not, error says why.",
    )
    e164_number: str | None = strawberry.field(
        default=None,
        description="The key it would be stored under.",
    )
    number: str | None = strawberry.field(
        default=None,
        description="The national significant number.",
    )
    country_code: int | None = strawberry.field(
        default=None,
        description="The country calling code.",
    )
    region_code: str | None = strawberry.field(
        default=None,
        description="The ISO 3166-1 region, null for non-geographic numbers.",
    )
    number_type: NumberType | None = strawberry.field(
        default=None,
        description="What kind of line it is.",
    )
    country_code_source: CountryCodeSource | None = strawberry.field(
        default=None,
        description="How the country code was found.",
    )
    error: UserError | None = strawberry.field(
        default=None,
        description="Why the number is refused (INVALID_PHONENUMBER_FORMAT with a reason).",
    )
    warnings: list[UserError] = strawberry.field(
        default_factory=list,
        description="What is worth checking in how it was read (SPREADSHEET_NUMBER ...).",
    )

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


@strawberry.type(description="What createSubscriber stored, or why it did not.")
class CreateSubscriberPayload:
    subscriber: Subscriber | None = strawberry.field(
        description="The subscriber as stored; null when the input was refused.",
    )
    created: bool = strawberry.field(
        description="True when the number was new; false when an existing subscriber was updated.",
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the input was refused; nothing was stored.",
    )
    warnings: list[UserError] = strawberry.field(
        description="Stored, with something worth checking (an opt-out kept, an inferred country code).",
    )


@strawberry.type(description="What updateSubscriber stored, or why it did not.")
class UpdateSubscriberPayload:
    subscriber: Subscriber | None = strawberry.field(
        description="The subscriber as stored; null when the change was refused.",
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the change was refused; nothing was stored.",
    )
    warnings: list[UserError] = strawberry.field(
        description="Stored, with something worth checking (an opt-out kept).",
    )


@strawberry.type(description="What deleteSubscriber did.")
class DeleteSubscriberPayload:
    deleted_subscriber_id: strawberry.ID | None = strawberry.field(
        description="The id deleted (or kept as a suppression entry); null when refused.",
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was deleted (RECORD_NOT_FOUND).",
    )


@strawberry.type(description="What deleteSubscribers did with one id.")
class DeleteSubscriberResult:
    id: strawberry.ID = strawberry.field(description="The id as given.")
    deleted: bool = strawberry.field(
        description="Whether it was deleted (or kept as a suppression entry).",
    )
    user_errors: list[UserError] = strawberry.field(description="Why this one was not deleted.")


@strawberry.type(description="What deleteSubscribers did.")
class DeleteSubscribersPayload:
    deleted_count: int = strawberry.field(description="How many were deleted.")
    results: list[DeleteSubscriberResult] = strawberry.field(
        description="One result per id, in the order given."
    )


@strawberry.type(description="What updateAccount stored, or why it did not.")
class UpdateAccountPayload:
    account: Account | None = strawberry.field(
        description="The account as stored; null when refused.",
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the change was refused; nothing was stored.",
    )
