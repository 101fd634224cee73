"""A country as a CRM writes it: an ISO 3166-1 alpha-2 or alpha-3 code, or its English
name ("United Kingdom", "Germany"), from pycountry's ISO 3166 data."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pycountry

from substore.errors import ErrorCode, PhoneNumberError

# ISO 3166-1 keeps "UK" exceptionally reserved for the United Kingdom (pycountry lists
# only assigned codes), and CRMs write it everywhere.
_RESERVED = {"UK": "GB"}


@lru_cache(maxsize=1024)
def region_code(text: str) -> str:
    """The alpha-2 code phonenumbers knows for `text`; PhoneNumberError otherwise."""
    name = text.strip() if isinstance(text, str) else ""
    upper = name.upper()
    if upper in phonenumbers.SUPPORTED_REGIONS:
        return upper
    code = _RESERVED.get(upper)
    if code is None and name:
        try:
            code = pycountry.countries.lookup(name).alpha_2
        except LookupError:
            code = None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(
            f"{text!r} is not a country phonenumbers knows: give an ISO 3166-1 code "
            "(GB, GBR) or the country's English name (United Kingdom).",
            field=("defaultRegion",),
            code=ErrorCode.INVALID_COUNTRYCODE_FORMAT,
        )
    return code
