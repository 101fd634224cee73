"""A number's time zones, from phonenumbers' time-zone metadata."""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA  # where timezone itself reads it from

FALLBACK_ZONE = "UTC"  # for numbers with no country (+800, +882 ...): judged by UTC


def time_zones(e164: str, number_type: str, country_code: int) -> tuple[str, ...]:
    """The zones of a valid E.164 number: its area's, else its whole country's.

    The same answer as phonenumbers.timezone.time_zones_for_number, from the key's own
    parts (no second parse), without its "Etc/Unknown".
    """
    kind = getattr(PhoneNumberType, number_type, PhoneNumberType.UNKNOWN)
    if not phonenumbers.is_number_type_geographical(kind, country_code):
        return _zones_at(str(country_code))
    digits = e164[1:]
    for length in _prefix_lengths(country_code):
        if length <= len(digits) and digits[:length] in TIMEZONE_DATA:
            return _zones_at(digits[:length])
    return ()


@cache
def _prefix_lengths(country_code: int) -> tuple[int, ...]:
    """The lengths, longest first, of the metadata's prefixes a number of this country
    code can start with. Every stored key looks its zones up; trying each length from
    nine down was half of that."""
    code = str(country_code)
    lengths = {len(p) for p in TIMEZONE_DATA if p.startswith(code) or code.startswith(p)}
    return tuple(sorted(lengths, reverse=True))


@cache  # as many entries at most as the metadata has prefixes
def _zones_at(prefix: str) -> tuple[str, ...]:
    return tuple(zone for zone in TIMEZONE_DATA.get(prefix, ()) if zone != UNKNOWN_TIMEZONE)
