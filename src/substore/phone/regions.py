"""A country as a CRM writes it: an ISO 3166-1 alpha-2 or alpha-3 code, its English name
("United Kingdom"), or a name people write (country_names.py: "England", "Deutschland",
"日本"). A name read through the last is worth a look, so it comes back with a warning
that says which country the row was read in."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pycountry

from substore.errors import ErrorCode, PhoneNumberError, PhoneReason, UserError
from substore.phone.country_names import english_code, other_code

# ISO 3166-1 keeps "UK" exceptionally reserved for the United Kingdom (pycountry lists
# only assigned codes), and CRMs write it everywhere.
_RESERVED = {"UK": "GB"}


def region_code(text: str) -> str:
    """The alpha-2 code phonenumbers knows for `text`; PhoneNumberError otherwise."""
    return read_region(text)[0]


@lru_cache(maxsize=1024)
def read_region(text: str) -> tuple[str, UserError | None]:
    """The alpha-2 code for `text`, and a warning when it was read from a name that is
    not ISO's; PhoneNumberError when it names no country phonenumbers knows."""
    name = text.strip() if isinstance(text, str) else ""
    code = _iso_code(name)
    if code is not None:
        return code, None
    code = other_code(name) if name else None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(
            f"{text!r} is not a country phonenumbers knows: give an ISO 3166-1 code "
            "(GB, GBR) or the country's name (United Kingdom, Deutschland).",
            field=("defaultRegion",),
            code=ErrorCode.INVALID_COUNTRYCODE_FORMAT,
        )
    return code, _read_as(name, code)


def _iso_code(name: str) -> str | None:
    """A code, a reserved code or an ISO English name; None for anything else."""
    upper = name.upper()
    if upper in phonenumbers.SUPPORTED_REGIONS:
        return upper
    code = _RESERVED.get(upper) or (english_code(name) if name else None)
    if code is None and name:
        try:
            code = pycountry.countries.lookup(name).alpha_2  # alpha-3 and numeric codes
        except LookupError:
            return None
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _read_as(name: str, code: str) -> UserError:
    country = pycountry.countries.get(alpha_2=code)
    return UserError(
        ErrorCode.INVALID_COUNTRYCODE_FORMAT,
        f"Country {name!r} was read as {code} ({country.name if country else code}): the "
        "number was read in that country. Write the ISO code to be sure.",
        ("defaultRegion",),
        PhoneReason.COUNTRY_NAME_READ,
    )
