"""phone.numbering gives phonenumbers' own region and type for every number."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc
from phonenumbers.phonenumberutil import _number_type_helper

from substore.phone.numbering import number_type, region_and_type

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


def test_every_region_and_type_with_other_last_digits():
    """Each example with its last three digits varied: every type's pattern is met by
    numbers it does not quite match as well as by ones it does."""
    rng = random.Random(164)
    checked = 0
    for example in EXAMPLES:
        digits = str(example.national_number)
        for _ in range(5):
            tail = "".join(rng.choice("0123456789") for _ in range(3))
            try:
                parsed = phonenumbers.parse(f"+{example.country_code}{digits[:-3]}{tail}")
            except phonenumbers.NumberParseException:
                continue
            assert ours(parsed) == phonenumbers_answer(parsed), parsed
            checked += 1
    assert checked > 5000


def desc(pattern: str, *lengths: int) -> PhoneNumberDesc:
    return PhoneNumberDesc(national_number_pattern=pattern, possible_length=lengths)


# The mobile pattern: its own, or the fixed line's (phonenumbers then calls the two the same
# and does not check the mobile lengths).
@pytest.mark.parametrize("mobile", [r"[7-9]\d{6,7}", r"[2-9]\d{5,8}"])
def test_overlapping_descriptions_keep_phonenumbers_order_and_lengths(mobile):
    """Metadata made to overlap, as the real metadata rarely does: premium rate before
    toll free, lengths before patterns, fixed line and mobile together."""
    metadata = PhoneMetadata(
        "ZZ",
        general_desc=desc(r"\d{4,9}", 4, 5, 6, 7, 8, 9),
        premium_rate=desc(r"9\d{5,6}", 6),
        toll_free=desc(r"9\d{4,8}", 6, 7, 8),
        voip=desc(r"5\d+"),  # no lengths of its own: any length
        fixed_line=desc(r"[2-9]\d{5,8}", 6, 7, 8),
        mobile=desc(mobile, 7, 8, 9),
        register=False,
    )
    rng = random.Random(164)
    numbers = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 10))) for _ in range(3000)
    ]
    differ = [n for n in numbers if number_type(n, metadata) != _number_type_helper(n, metadata)]
    assert differ == []
    kinds = {number_type(n, metadata) for n in numbers}
    assert {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP} <= kinds
