"""Phone numbers to canonical E.164: normalize.py (the rules), spreadsheet.py (numbers a
spreadsheet rendered as floats), regions.py (a country as a code or a name).

Pure functions over phonenumbers and pycountry; imports only errors and text.
"""

from substore.phone.normalize import (
    MAX_E164_DIGITS,
    NORMALIZER_VERSION,
    NUMBER_TYPES,
    CountryCodeSource,
    NormalizedNumber,
    check_region,
    load_metadata,
    normalize,
)

__all__ = [
    "MAX_E164_DIGITS",
    "NORMALIZER_VERSION",
    "NUMBER_TYPES",
    "CountryCodeSource",
    "NormalizedNumber",
    "check_region",
    "load_metadata",
    "normalize",
]
