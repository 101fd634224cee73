"""phone/spreadsheet.py and phone/regions.py: numbers a spreadsheet rendered, countries
as CRMs write them, and the warning on every inferred country code."""

from __future__ import annotations

import pytest

from substore.errors import PhoneNumberError
from substore.phone import normalize
from substore.phone.regions import region_code


@pytest.mark.parametrize(
    "text",
    ["4155552671.0", "4155552671.00", "4.155552671E9", "4.155552671E+09", "1.4155552671E10"],
)
def test_spreadsheet_renderings_are_read_as_their_digits_with_a_warning(text):
    key = normalize(text, default_region="US")
    assert key.e164_number == "+14155552671"  # not +41 55 552 67 10, a Swiss number
    assert key.raw_number == text
    assert [w.reason for w in key.warnings] == ["SPREADSHEET_NUMBER"]


@pytest.mark.parametrize("text", ["1.41555527E10", "4.15555267E9", "1.5E10"])
def test_a_rounded_rendering_is_refused(text):
    with pytest.raises(PhoneNumberError, match="spreadsheet rounded") as refused:
        normalize(text, default_region="US")
    assert refused.value.reason == "NOT_A_NUMBER"


@pytest.mark.parametrize("text", ["(415) 555-2671", "415.555.2671", "+44 20 7946 0018"])
def test_ordinary_numbers_carry_no_spreadsheet_warning(text):
    assert normalize(text, default_region="US").warnings == ()


def test_every_inferred_key_says_so():
    key = normalize("00447400123456", default_region="US")
    assert (key.e164_number, key.country_code_source) == ("+447400123456", "INFERRED")
    [warning] = key.warnings
    assert warning.reason == "COUNTRY_CODE_INFERRED"
    assert "+447400123456" in warning.message and "strictCountryCode" in warning.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("GB", "GB"),
        ("gb", "GB"),
        ("GBR", "GB"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        (" germany ", "DE"),
        ("DEU", "DE"),
        ("United States", "US"),
        ("Viet Nam", "VN"),
    ],
)
def test_countries_as_codes_and_english_names(text, code):
    assert region_code(text) == code


@pytest.mark.parametrize("text", ["XX", "", "Atlantis", "Antarctica", "Narnia"])
def test_unknown_countries_are_refused(text):
    with pytest.raises(PhoneNumberError) as refused:
        region_code(text)
    assert refused.value.code == "INVALID_COUNTRYCODE_FORMAT"
    assert refused.value.user_error.field == ("defaultRegion",)
