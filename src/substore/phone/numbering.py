"""A number's region and type in one pass over its country code's regions.

phonenumbers' region_code_for_number decides between the regions that share a country
code (+1: the US, Canada and 23 others) by finding the number's type in each region's
metadata until one knows it; normalising then asked for the number's type again, in the
region just found. Here the type found is kept, and each region's number descriptions
are read once into (lengths, compiled pattern) pairs: phonenumbers' _number_type_helper
makes five calls a description, and a number meets up to ten. The same answers (tests/unit/
test_phone_numbering.py compares them with phonenumbers' own), two fifths less work.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc
from phonenumbers.re_util import re_compile

UNKNOWN = PhoneNumberType.UNKNOWN
# _number_type_helper's order: the first of these a number matches is its type.
_SPECIAL = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)

# A description as its possible lengths (None: any) and its pattern; None matches nothing.
Desc = tuple[frozenset[int] | None, re.Pattern[str]] | None


class _Types(NamedTuple):
    general: Desc
    special: tuple[tuple[Desc, int], ...]
    fixed_line: Desc
    mobile: Desc
    same_mobile_and_fixed_line: bool


# By id(metadata): PhoneMetadata defines __eq__ and so cannot be a cache key itself, and
# phonenumbers keeps one object a region for the life of the process.
_TYPES: dict[int, _Types] = {}


def region_and_type(country_code: int, national_number: str) -> tuple[str | None, int]:
    """phonenumbers.region_code_for_number, and the number's type in that region's
    metadata (UNKNOWN without one)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions is None:
        return None, UNKNOWN
    if len(regions) == 1:
        region = regions[0]
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        return region, UNKNOWN if metadata is None else number_type(national_number, metadata)
    for region in regions:  # as phonenumbers' _region_code_for_number_from_list
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(national_number):
                return region, number_type(national_number, metadata)
        elif (kind := number_type(national_number, metadata)) != UNKNOWN:
            return region, kind
    return None, UNKNOWN


def number_type(national_number: str, metadata: PhoneMetadata) -> int:
    """phonenumbers' _number_type_helper: the same order, the same answers."""
    types = _TYPES.get(id(metadata)) or _read(metadata)
    if not _matches(types.general, national_number):
        return UNKNOWN
    for desc, kind in types.special:
        if _matches(desc, national_number):
            return kind
    if _matches(types.fixed_line, national_number):
        if types.same_mobile_and_fixed_line or _matches(types.mobile, national_number):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not types.same_mobile_and_fixed_line and _matches(types.mobile, national_number):
        return PhoneNumberType.MOBILE
    return UNKNOWN


def _matches(desc: Desc, national_number: str) -> bool:
    # As _is_number_matching_desc: the lengths first, then the whole number must match.
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths is not None and len(national_number) not in lengths:
        return False
    return pattern.fullmatch(national_number) is not None


def _read(metadata: PhoneMetadata) -> _Types:
    special = tuple((d, kind) for name, kind in _SPECIAL if (d := _desc(getattr(metadata, name))))
    types = _Types(
        _desc(metadata.general_desc),
        special,
        _desc(metadata.fixed_line),
        _desc(metadata.mobile),
        bool(metadata.same_mobile_and_fixed_line_pattern),
    )
    _TYPES[id(metadata)] = types
    return types


def _desc(desc: PhoneNumberDesc | None) -> Desc:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if desc.possible_length else None
    return lengths, re_compile(desc.national_number_pattern)
