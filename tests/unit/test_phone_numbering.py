"""phone.numbering gives phonenumbers' own region and type for every number."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumberutil import _number_type_helper

from substore.phone.numbering import region_and_type

TYPES = [v for k, v in vars(PhoneNumberType).items() if k.isupper() and isinstance(v, int)]


def phonenumbers_answer(parsed: phonenumbers.PhoneNumber) -> tuple[str | None, int]:
    region = phonenumbers.region_code_for_number(parsed)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(parsed.country_code, region)
    nsn = phonenumbers.national_significant_number(parsed)
    kind = _number_type_helper(nsn, metadata) if metadata else PhoneNumberType.UNKNOWN
    return region, kind


def ours(parsed: phonenumbers.PhoneNumber) -> tuple[str | None, int]:
    return region_and_type(parsed.country_code, phonenumbers.national_significant_number(parsed))


EXAMPLES = [
    example
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    for kind in TYPES
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
]


def test_every_example_number_of_every_region_and_type():
    assert len(EXAMPLES) > 1000
    differ = [e for e in EXAMPLES if ours(e) != phonenumbers_answer(e)]
    assert differ == []


@pytest.mark.parametrize("text", ["+12015550123", "+15062316265", "+18092345678", "+80012345678"])
def test_shared_and_non_geographic_country_codes(text):
    parsed = phonenumbers.parse(text)
    assert ours(parsed) == phonenumbers_answer(parsed)


@settings(max_examples=500)
@given(
    code=st.sampled_from(sorted(COUNTRY_CODE_TO_REGION_CODE)),
    digits=st.text("0123456789", min_size=2, max_size=14),
)
def test_any_digits_after_any_country_code(code, digits):
    try:
        parsed = phonenumbers.parse(f"+{code}{digits}")
    except phonenumbers.NumberParseException:
        assume(False)
    assert ours(parsed) == phonenumbers_answer(parsed)
