"""A number's time zones, from phonenumbers' time-zone metadata."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX, UNKNOWN_TIMEZONE

FALLBACK_ZONE = "UTC"  # for numbers with no country (+800, +882 ...): judged by UTC


def time_zones(e164: str, number_type: str, country_code: int) -> tuple[str, ...]:
    """The zones of a valid E.164 number: its area's, else its whole country's.

    The same answer as phonenumbers.timezone.time_zones_for_number, from the key's own
    parts (no second parse), without its "Etc/Unknown".
    """
    kind = getattr(PhoneNumberType, number_type, PhoneNumberType.UNKNOWN)
    found: tuple[str, ...] = ()
    if phonenumbers.is_number_type_geographical(kind, country_code):
        digits = e164[1:]
        for length in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
            if digits[:length] in TIMEZONE_DATA:
                found = TIMEZONE_DATA[digits[:length]]
                break
    else:
        found = TIMEZONE_DATA.get(str(country_code), ())
    return tuple(zone for zone in found if zone != UNKNOWN_TIMEZONE)
