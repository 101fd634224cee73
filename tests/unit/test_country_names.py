"""phone/country_names.py and phone/regions.py: the countries people write, and the
warning that says which country a row was read in."""

from __future__ import annotations

import pytest

from substore.errors import PhoneNumberError
from substore.phone.country_names import ALIASES, name_key
from substore.phone.regions import read_region, region_code
from substore.preparation import SubscriberInput, prepare


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Northern Ireland", "GB"),
        ("Great Britain", "GB"),
        ("great britain", "GB"),
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("espana", "ES"),  # accents as people type them, or not
        ("México", "MX"),
        ("Brasil", "BR"),
        ("Nippon", "JP"),
        ("日本", "JP"),
        ("Italia", "IT"),
        ("Österreich", "AT"),
        ("ÖSTERREICH", "AT"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Nederland", "NL"),
        ("Polska", "PL"),
        ("Россия", "RU"),
        ("Turkey", "TR"),
        ("Côte d'Ivoire", "CI"),
    ],
)
def test_names_people_write_are_read_with_a_warning_naming_the_country(text, code):
    found, warning = read_region(text)
    assert found == code
    if warning is not None:  # ISO's English names ("Côte d'Ivoire") need no warning
        assert warning.reason == "COUNTRY_NAME_READ"
        assert f"read as {code}" in warning.message and warning.field == ("defaultRegion",)


@pytest.mark.parametrize("text", ["GB", "gbr", "UK", "United Kingdom", "Germany", "DEU"])
def test_codes_and_iso_english_names_need_no_warning(text):
    assert read_region(text)[1] is None


def test_every_alias_is_a_country_phonenumbers_knows():
    for name, code in ALIASES.items():
        assert region_code(name) == code, name


def test_a_name_key_ignores_case_accents_and_punctuation():
    assert name_key("Côte d'Ivoire") == name_key("COTE D IVOIRE") == "cotedivoire"


@pytest.mark.parametrize("text", ["Narnia", "Europe", "Antarctica", "ZZ"])
def test_names_of_no_country_are_still_refused(text):
    with pytest.raises(PhoneNumberError) as refused:
        region_code(text)
    assert "Deutschland" in refused.value.user_error.message  # the hint names the kinds


def test_a_row_read_in_a_named_country_warns_which_one():
    data = SubscriberInput(number="07911 123456", default_region="England")
    row, warnings = prepare(data, "US", strict=False)
    assert row.key["e164_number"] == "+447911123456"
    assert [w.reason for w in warnings] == ["COUNTRY_NAME_READ"]
    assert "GB (United Kingdom)" in warnings[0].message
