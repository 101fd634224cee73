"""substore.phone: the normalisation rules of DESIGN.md, case by case."""

from __future__ import annotations

import pytest

from substore.errors import ErrorCode, PhoneNumberError, PhoneReason
from substore.phone import NORMALIZER_VERSION, CountryCodeSource, check_region, normalize

R = PhoneReason
S = CountryCodeSource

# (number, default region, expected E.164, expected countryCodeSource)
ACCEPTED = [
    # United States: national formats, +, 1-prefixed, IDD, vanity, full-width
    ("(201) 555-0123", "US", "+12015550123", S.DEFAULT_REGION),
    ("201.555.0123", "US", "+12015550123", S.DEFAULT_REGION),
    ("201 555 0123", "US", "+12015550123", S.DEFAULT_REGION),
    ("+1 (201) 555-0123", "US", "+12015550123", S.PLUS_SIGN),
    ("1-201-555-0123", "US", "+12015550123", S.NUMBER_WITHOUT_PLUS),
    ("18002223333", "US", "+18002223333", S.NUMBER_WITHOUT_PLUS),
    (18002223333, "US", "+18002223333", S.NUMBER_WITHOUT_PLUS),
    (2015550123, "US", "+12015550123", S.DEFAULT_REGION),
    ("1-800-FLOWERS", "US", "+18003569377", S.NUMBER_WITHOUT_PLUS),
    (
        "\uff08\uff12\uff10\uff11\uff09\uff15\uff15\uff15\uff0d\uff10\uff11\uff12\uff13",
        "US",
        "+12015550123",
        S.DEFAULT_REGION,
    ),
    (
        "\uff0b\uff11\uff12\uff10\uff11\uff15\uff15\uff15\uff10\uff11\uff12\uff13",
        "US",
        "+12015550123",
        S.PLUS_SIGN,
    ),
    ("  +1 201 555 0123  ", "US", "+12015550123", S.PLUS_SIGN),
    ("011 44 20 7946 0018", "US", "+442079460018", S.IDD),
    ("011 49 30 123456", "US", "+4930123456", S.IDD),
    # Canada shares +1
    ("(506) 234-5678", "CA", "+15062345678", S.DEFAULT_REGION),
    ("506-234-5678", "US", "+15062345678", S.DEFAULT_REGION),
    # United Kingdom: trunk 0, "(0)", IDD 00
    ("07400 123456", "GB", "+447400123456", S.DEFAULT_REGION),
    ("0121 234 5678", "GB", "+441212345678", S.DEFAULT_REGION),
    ("+44 (0) 121 234 5678", "GB", "+441212345678", S.PLUS_SIGN),
    ("+44 (0)7400 123456", "US", "+447400123456", S.PLUS_SIGN),
    ("0044 7400 123456", "GB", "+447400123456", S.IDD),
    ("00 1 201 555 0123", "GB", "+12015550123", S.IDD),
    (7400123456, "GB", "+447400123456", S.DEFAULT_REGION),
    # Germany
    ("030 123456", "DE", "+4930123456", S.DEFAULT_REGION),
    ("01512 3456789", "DE", "+4915123456789", S.DEFAULT_REGION),
    ("+49 (0)30 123456", "FR", "+4930123456", S.PLUS_SIGN),
    # France
    ("06 12 34 56 78", "FR", "+33612345678", S.DEFAULT_REGION),
    ("+33 (0)6 12 34 56 78", "FR", "+33612345678", S.PLUS_SIGN),
    ("0033 1 23 45 67 89", "FR", "+33123456789", S.IDD),
    # Italy: the leading 0 of a landline is part of the number
    ("02 1234 5678", "IT", "+390212345678", S.DEFAULT_REGION),
    ("312 345 6789", "IT", "+393123456789", S.DEFAULT_REGION),
    ("+39 02 1234 5678", "US", "+390212345678", S.PLUS_SIGN),
    # Spain
    ("612 34 56 78", "ES", "+34612345678", S.DEFAULT_REGION),
    # Australia: IDD 0011, trunk 0
    ("0412 345 678", "AU", "+61412345678", S.DEFAULT_REGION),
    ("(02) 1234 5678", "AU", "+61212345678", S.DEFAULT_REGION),
    ("0011 44 7400 123456", "AU", "+447400123456", S.IDD),
    # India
    ("081234 56789", "IN", "+918123456789", S.DEFAULT_REGION),
    ("+91 81234 56789", "IN", "+918123456789", S.PLUS_SIGN),
    # Brazil
    ("(11) 96123-4567", "BR", "+5511961234567", S.DEFAULT_REGION),
    # Japan: IDD 010
    ("090-1234-5678", "JP", "+819012345678", S.DEFAULT_REGION),
    ("010 1 201 555 0123", "JP", "+12015550123", S.IDD),
    # Mexico
    ("222 123 4567", "MX", "+522221234567", S.DEFAULT_REGION),
    # Netherlands, Switzerland, Singapore, South Africa
    ("06 12345678", "NL", "+31612345678", S.DEFAULT_REGION),
    ("078 123 45 67", "CH", "+41781234567", S.DEFAULT_REGION),
    ("8123 4567", "SG", "+6581234567", S.DEFAULT_REGION),
    ("071 123 4567", "ZA", "+27711234567", S.DEFAULT_REGION),
    # United Arab Emirates and Egypt, with Arabic-Indic digits
    (
        "\u0660\u0665\u0660 \u0661\u0662\u0663 \u0664\u0665\u0666\u0667",
        "AE",
        "+971501234567",
        S.DEFAULT_REGION,
    ),
    (
        "\u0660\u0661\u0660 \u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
        "EG",
        "+201001234567",
        S.DEFAULT_REGION,
    ),
    # Non-geographic (+800 international freephone)
    ("+800 1234 5678", "US", "+80012345678", S.PLUS_SIGN),
    # Rule 5: digits beyond a national number carry a country code (INFERRED)
    ("447400123456", "US", "+447400123456", S.INFERRED),
    ("00447400123456", "US", "+447400123456", S.INFERRED),
    (447400123456, "US", "+447400123456", S.INFERRED),
    ("61 412 345 678", "US", "+61412345678", S.INFERRED),
    # The documented hazard: two stray digits on a US number read as Egypt (+20).
    ("201555012345", "US", "+201555012345", S.INFERRED),
]

# (number, default region, reason)
REFUSED = [
    ("911", "US", R.SHORT_CODE),
    ("112", "DE", R.SHORT_CODE),
    ("999", "GB", R.SHORT_CODE),
    ("000", "AU", R.SHORT_CODE),
    ("24273", "US", R.SHORT_CODE),
    ("555-0123", "US", R.LOCAL_ONLY),
    ("234 5678", "CA", R.LOCAL_ONLY),
    ("12", "US", R.TOO_SHORT),
    ("+44 12", "US", R.TOO_SHORT),
    ("2015550123456789", "US", R.TOO_LONG),
    ("+1 201 555 0123 4567", "US", R.TOO_LONG),
    ("+1234567890123456", "US", R.TOO_LONG),
    ("1" * 251, "US", R.TOO_LONG),
    ("+999 123 4567", "US", R.INVALID_COUNTRY_CODE),
    ("+0 123 4567", "US", R.INVALID_COUNTRY_CODE),
    ("(201) 555-0123", None, R.INVALID_COUNTRY_CODE),
    ("+1 201 555 0123 ext. 12", "US", R.HAS_EXTENSION),
    ("0121 234 5678 x 99", "GB", R.HAS_EXTENSION),
    ("abc", "US", R.NOT_A_NUMBER),
    ("call me maybe", "GB", R.NOT_A_NUMBER),
    (-2015550123, "US", R.NOT_A_NUMBER),
    (True, "US", R.NOT_A_NUMBER),
    (2015550123.0, "US", R.NOT_A_NUMBER),
    ("+1 100 555 0123", "US", R.INVALID_NUMBER),
    ("(099) 555-0123", "US", R.INVALID_NUMBER),
    ("+61 4123 456 7890", "US", R.INVALID_LENGTH),
    # An Italian landline sent as an integer lost its leading 0.
    (212345678, "IT", R.INVALID_NUMBER),
    # Rule 5 accepts only valid readings.
    ("999912345678", "US", R.TOO_LONG),
    # 10 digits are a national number in the US: no country code is inferred.
    ("4930123456", "US", R.INVALID_NUMBER),
]


@pytest.mark.parametrize(("number", "region", "e164", "source"), ACCEPTED)
def test_accepted_numbers(number, region, e164, source):
    result = normalize(number, default_region=region)
    assert (result.e164_number, result.country_code_source) == (e164, source)
    assert result.e164_number == f"+{result.country_code}{result.number}"
    assert result.default_region == region
    assert result.raw_number == str(number)


@pytest.mark.parametrize(("number", "region", "reason"), REFUSED)
def test_refused_numbers(number, region, reason):
    with pytest.raises(PhoneNumberError) as caught:
        normalize(number, default_region=region)
    assert caught.value.reason == reason
    assert caught.value.code is ErrorCode.INVALID_PHONENUMBER_FORMAT
    assert caught.value.user_error.field == ("number",)


def test_table_covers_at_least_twelve_regions_and_sixty_cases():
    regions = {region for _, region, *_ in ACCEPTED + REFUSED if region}
    assert len(regions) >= 12
    assert len(ACCEPTED) + len(REFUSED) >= 60


def test_seed_example_integer_with_country_code():
    result = normalize(18002223333, default_region="US")
    assert (result.number, result.e164_number, result.raw_number) == (
        "8002223333",
        "+18002223333",
        "18002223333",
    )


def test_result_carries_every_field_of_rule_7():
    result = normalize("02 1234 5678", default_region="IT")
    assert result.number == "0212345678"  # Italian leading zero kept
    assert result.country_code == 39
    assert result.region_code == "IT"
    assert result.number_type == "FIXED_LINE"
    assert result.normalizer_version == NORMALIZER_VERSION
    assert normalize("07400 123456", default_region="GB").number_type == "MOBILE"
    assert normalize("+800 1234 5678").region_code == "001"


def test_integer_that_lost_a_zero_says_to_send_a_string():
    with pytest.raises(PhoneNumberError, match="send the number as a string"):
        normalize(212345678, default_region="IT")


def test_neither_number_nor_e164_is_parameter_required():
    for blank in (None, "", "   "):
        with pytest.raises(PhoneNumberError) as caught:
            normalize(blank, blank, default_region="US")
        assert caught.value.code is ErrorCode.PARAMETER_REQUIRED
        assert caught.value.user_error.field == ("number",)


class TestE164Precedence:
    def test_e164_wins_over_number(self):
        result = normalize("(201) 555-0123", "+447400123456", default_region="US")
        assert result.e164_number == "+447400123456"
        assert result.number == "7400123456"
        assert result.raw_number == "(201) 555-0123"
        assert result.country_code_source is S.PLUS_SIGN

    def test_mismatch_is_a_warning_not_an_error(self):
        result = normalize("(201) 555-0123", "+447400123456", default_region="US")
        [warning] = result.warnings
        assert warning.reason == R.NUMBER_MISMATCH
        assert warning.field == ("number",)
        assert "+12015550123" in warning.message

    def test_unreadable_number_next_to_e164_is_a_warning(self):
        result = normalize("not a phone", "+447400123456", default_region="US")
        assert result.e164_number == "+447400123456"
        assert [w.reason for w in result.warnings] == [R.NUMBER_MISMATCH]

    def test_agreeing_number_gives_no_warning(self):
        result = normalize("(201) 555-0123", "+12015550123", default_region="US")
        assert result.warnings == ()

    def test_e164_alone_is_its_own_raw_number(self):
        result = normalize(None, " +12015550123 ", default_region="US")
        assert (result.e164_number, result.raw_number) == ("+12015550123", "+12015550123")

    @pytest.mark.parametrize(
        "e164",
        [
            "12015550123",
            "+1 201 555 0123",
            "+1-201-555-0123",
            "+1234567890123456",
            "+",
            12015550123,
        ],
    )
    def test_e164_must_be_strict(self, e164):
        with pytest.raises(PhoneNumberError) as caught:
            normalize("(201) 555-0123", e164, default_region="US")
        assert (caught.value.reason, caught.value.user_error.field) == (R.NOT_E164, ("e164Number",))

    def test_e164_must_be_valid(self):
        with pytest.raises(PhoneNumberError) as caught:
            normalize(None, "+11005550123", default_region="US")
        assert caught.value.reason == R.INVALID_NUMBER
        assert caught.value.user_error.field == ("e164Number",)


class TestInferredCountryCode:
    def test_strict_turns_the_fallback_off(self):
        with pytest.raises(PhoneNumberError) as caught:
            normalize("447400123456", default_region="US", strict_country_code=True)
        assert caught.value.reason == R.TOO_LONG

    def test_national_reading_wins_when_valid(self):
        # 10 digits are a national number in the US, even if they also read as +44...
        assert normalize("4412345678", default_region="US").country_code_source is S.DEFAULT_REGION

    def test_no_fallback_without_a_home_region(self):
        with pytest.raises(PhoneNumberError) as caught:
            normalize("447400123456")
        assert caught.value.reason == R.INVALID_COUNTRY_CODE

    def test_plus_numbers_are_never_inferred(self):
        with pytest.raises(PhoneNumberError):
            normalize("+1 447400123456", default_region="US")


class TestRegion:
    def test_region_is_case_insensitive(self):
        assert check_region(" gb ") == "GB"
        assert normalize("07400 123456", default_region="gb").default_region == "GB"

    @pytest.mark.parametrize("region", ["UK", "XX", "USA", "1", ""])
    def test_unknown_region_is_a_countrycode_format_error(self, region):
        with pytest.raises(PhoneNumberError) as caught:
            check_region(region)
        assert caught.value.code is ErrorCode.INVALID_COUNTRYCODE_FORMAT
        assert caught.value.user_error.field == ("defaultRegion",)
