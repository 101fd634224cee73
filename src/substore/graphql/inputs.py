"""Input types of the contract and their conversion to service inputs.

Omitted fields arrive as UNSET and are left out of `profile` (the stored value stays);
an explicit null arrives as None and clears the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from substore import services
from substore.graphql.scalars import PhoneNumber, phone_number
from substore.graphql.types import NumberType, SubscriberStatus


@strawberry.input(
    description="A subscriber's fields: an omitted field keeps its stored value, an "
    "explicit null clears it."
)
class SubscriberInput:
    number: PhoneNumber | None = strawberry.field(
        default=UNSET,
        description="The number in any format; one without a country code is read in "
        "defaultRegion (the row's, else the import's, else the account's).",
    )
    e164_number: str | None = strawberry.field(
        default=UNSET,
        description="The number in E.164 (+ and at most 15 digits); it wins over number "
        "(a NUMBER_MISMATCH warning when they differ).",
    )
    first_name: str | None = strawberry.field(
        default=UNSET, description="First name (at most 255 characters)."
    )
    last_name: str | None = strawberry.field(
        default=UNSET, description="Last name (at most 255 characters)."
    )
    email: str | None = strawberry.field(
        default=UNSET,
        description="Email address (at most 254 characters), checked for its form only.",
    )
    attributes: JSON | None = strawberry.field(
        default=UNSET,
        description="A JSON object kept with the subscriber (at most 16,384 characters as "
        "JSON); it replaces the stored one whole.",
    )
    status: SubscriberStatus | None = strawberry.field(
        default=UNSET,
        description="SUBSCRIBED or UNSUBSCRIBED. SUBSCRIBED does not undo an opt-out "
        "without a later consentedAt (the row stays UNSUBSCRIBED, with an OPTED_OUT warning).",
    )
    consented_at: datetime | None = strawberry.field(
        default=UNSET,
        description="When the person gave consent (evidence: never in the future). With "
        "status SUBSCRIBED and later than unsubscribedAt, it undoes an opt-out.",
    )
    consent_source: str | None = strawberry.field(
        default=UNSET, description='Where consent was given, e.g. "web-form" (200 characters).'
    )
    unsubscribed_at: datetime | None = strawberry.field(
        default=UNSET,
        description="When the person opted out (evidence, as from an export: never in the "
        "future). The subscriber is UNSUBSCRIBED unless consentedAt is later; an opt-out "
        "already on file only moves forward.",
    )
    unsubscribe_source: str | None = strawberry.field(
        default=UNSET, description='How they opted out, e.g. "keyword:STOP" (200 characters).'
    )
    default_region: str | None = strawberry.field(
        default=UNSET,
        description="This row's country, for a number written without a country code: an "
        'ISO 3166-1 code (GB, GBR) or an English name ("United Kingdom"). It wins over the '
        "import's and the account's defaultRegion; e164Number wins over all.",
    )

    def to_service(self) -> services.SubscriberInput:
        profile = {
            name: getattr(self, name)
            for name in services.PROFILE_COLUMNS
            if getattr(self, name) is not UNSET
        }
        if profile.get("status") is not None:
            profile["status"] = profile["status"].value
        return services.SubscriberInput(
            number=None if self.number is UNSET else phone_number(self.number),
            e164_number=None if self.e164_number is UNSET else self.e164_number,
            profile=profile,
            default_region=self.default_region or None,
        )


PYTHON_NAMES = {
    "number": "number",
    "e164Number": "e164_number",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "attributes": "attributes",
    "status": "status",
    "consentedAt": "consented_at",
    "consentSource": "consent_source",
    "unsubscribedAt": "unsubscribed_at",
    "unsubscribeSource": "unsubscribe_source",
    "defaultRegion": "default_region",
}


def _subscriber_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    """Build a SubscriberInput from its GraphQL value (strawberry's `from_input` hook).

    Strawberry's generic conversion looks every field name up again for every row,
    about 70 µs a row, and an import carries 1000 rows. These fields are plain values
    that graphql-core has already coerced; omitted ones are absent and stay UNSET.
    """
    kwargs = {PYTHON_NAMES[name]: item for name, item in value.items()}
    if kwargs.get("status") is not None:
        kwargs["status"] = context.convert(kwargs["status"], SubscriberStatus, "status")
    return cls(**kwargs)


get_object_definition(SubscriberInput, strict=True).from_input = _subscriber_input


@strawberry.input(
    description="Which subscribers a list holds: each field given must match; an omitted "
    "or null field sets no condition."
)
class SubscriberFilter:
    region_code: str | None = strawberry.field(
        default=None,
        description="The number's ISO 3166-1 alpha-2 region, in any case (e.g. GB).",
    )
    country_code: int | None = strawberry.field(
        default=None, description="The country calling code, 1 to 999 (e.g. 44)."
    )
    status: SubscriberStatus | None = strawberry.field(
        default=None, description="Only subscribers with this status."
    )
    number_type: NumberType | None = strawberry.field(
        default=None, description="Only numbers of this kind of line."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Only subscribers first stored after this moment (exclusive)."
    )
    created_before: datetime | None = strawberry.field(
        default=None,
        description="Only subscribers first stored before this moment (exclusive); later "
        "than createdAfter.",
    )
    updated_after: datetime | None = strawberry.field(
        default=None, description="Only subscribers last changed after this moment (exclusive)."
    )
    updated_before: datetime | None = strawberry.field(
        default=None,
        description="Only subscribers last changed before this moment (exclusive); later "
        "than updatedAfter.",
    )
    can_message_at: datetime | None = strawberry.field(
        default=None,
        description="Only subscribers that may be messaged at this moment (subscribed, "
        "outside quiet hours in all their time zones).",
    )
    search: str | None = strawberry.field(
        default=None,
        description='Words that begin the first name, last name or email ("jane smi"), '
        'or part of the number in any spelling ("415 555", "+44 20 7946"); '
        "case-insensitive.",
    )
    attributes: JSON | None = strawberry.field(
        default=None,
        description='Only subscribers whose attributes contain this object: {"plan": "gold"} '
        'keeps those whose plan is "gold", whatever else they hold; nested objects match '
        'the same way, and an array matches one holding those elements ({"tags": ["vip"]}).',
    )

    def to_service(self) -> services.SubscriberFilter:
        return services.SubscriberFilter(
            region_code=self.region_code.upper() if self.region_code else None,
            country_code=self.country_code,
            status=self.status.value if self.status else None,
            number_type=self.number_type.value if self.number_type else None,
            created_after=services.as_utc(self.created_after),
            created_before=services.as_utc(self.created_before),
            updated_after=services.as_utc(self.updated_after),
            updated_before=services.as_utc(self.updated_before),
            can_message_at=services.as_utc(self.can_message_at),
            search=services.parse_search(self.search),
            attributes=self.attributes,
        )


@strawberry.input(description="Omitted fields keep their value.")
class AccountInput:
    default_region: str | None = strawberry.field(
        default=None,
        description="The home region, for numbers written without a country code: an "
        "ISO 3166-1 alpha-2 code (e.g. US).",
    )
    quiet_hours_start: str | None = strawberry.field(
        default=None, description='Local "HH:MM" when quiet hours begin (default 21:00).'
    )
    quiet_hours_end: str | None = strawberry.field(
        default=None, description='Local "HH:MM" when they end (default 08:00).'
    )

    def to_service(self) -> services.AccountChanges:
        return services.AccountChanges(
            self.default_region, self.quiet_hours_start, self.quiet_hours_end
        )


@strawberry.enum(description="What an import does with a row whose optional field is invalid.")
class InvalidFieldPolicy(Enum):
    _value_: str  # strawberry makes each enum_value's value the member's own
    REJECT_ROW = strawberry.enum_value(
        "REJECT_ROW", description="The row fails (FAILED) and nothing of it is stored."
    )
    DROP_FIELD = strawberry.enum_value(
        "DROP_FIELD",
        description="The row is stored without the invalid field, with a FIELD_DROPPED "
        "warning for each one dropped.",
    )


@strawberry.input(description="How importSubscribers reads and stores its rows.")
class ImportOptions:
    default_region: str | None = strawberry.field(
        default=None,
        description="The region for numbers written without a country code in rows that "
        "give none of their own: an ISO 3166-1 alpha-2 code (null: the account's).",
    )
    strict_country_code: bool = strawberry.field(
        default=False,
        description="True turns the country-code fallback off: a number that is not valid "
        "in its region is refused rather than read as +<digits> (INFERRED).",
    )
    all_or_nothing: bool = strawberry.field(
        default=False,
        description="True stores nothing when any row fails; the other rows are then SKIPPED.",
    )
    invalid_fields: InvalidFieldPolicy = strawberry.field(
        default=InvalidFieldPolicy.REJECT_ROW,
        description="DROP_FIELD stores a row whose number is good without its invalid "
        "optional fields (an email, a name too long), with a FIELD_DROPPED warning each.",
    )
    dry_run: bool = strawberry.field(
        default=False,
        description="Run everything, the upsert included, and roll it back: the results a "
        "real run would give, nothing stored.",
    )
