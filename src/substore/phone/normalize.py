"""Normalisation of whatever a CRM calls a phone number to canonical E.164.

Pure functions over phonenumbers; no I/O. The rules are DESIGN.md's "Phone
normalisation" (numbered 1-7 below); phonenumbers' exceptions never leave this
module: every refusal is a `PhoneNumberError` with a `reason`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple, NoReturn

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType, re_util, shortnumberinfo
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.phonenumberutil import (
    NumberParseException,
    ValidationResult,
)

from substore.errors import ErrorCode, PhoneNumberError, PhoneReason, UserError
from substore.phone import spreadsheet
from substore.phone.numbering import region_and_type
from substore.text import text_problem

NORMALIZER_VERSION = phonenumbers.__version__
MAX_E164_DIGITS = 15

# phonenumbers' own switch: keep every metadata pattern it compiles in a dict (the same
# patterns; ~1,700 for every region's metadata, 3 MiB). Without it each match called
# re.compile, whose own cache lookup costs more than a dict's and holds only 512.
re_util.enable_pattern_cache()

_E164 = re.compile(r"\+[0-9]{1,15}")
_PLUS_SIGNS = ("+", "\uff0b")  # ASCII and full-width plus
_INT_HINT = " Integers lose leading zeros: send the number as a string, or as e164Number."


class CountryCodeSource(StrEnum):
    PLUS_SIGN = "PLUS_SIGN"
    IDD = "IDD"
    NUMBER_WITHOUT_PLUS = "NUMBER_WITHOUT_PLUS"
    DEFAULT_REGION = "DEFAULT_REGION"
    INFERRED = "INFERRED"


_SOURCES = {
    phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN: CountryCodeSource.PLUS_SIGN,
    phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD: CountryCodeSource.IDD,
    phonenumbers.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN: (
        CountryCodeSource.NUMBER_WITHOUT_PLUS
    ),
    phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY: CountryCodeSource.DEFAULT_REGION,
}

NUMBER_TYPES: dict[int, str] = {
    value: name
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}

_POSSIBILITY = {
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (PhoneReason.LOCAL_ONLY, "is a local number"),
    ValidationResult.INVALID_COUNTRY_CODE: (PhoneReason.INVALID_COUNTRY_CODE, "has no country"),
    ValidationResult.TOO_SHORT: (PhoneReason.TOO_SHORT, "is too short"),
    ValidationResult.TOO_LONG: (PhoneReason.TOO_LONG, "is too long"),
    ValidationResult.INVALID_LENGTH: (PhoneReason.INVALID_LENGTH, "has an impossible length"),
}

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: PhoneReason.INVALID_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: PhoneReason.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: PhoneReason.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: PhoneReason.TOO_SHORT,
    NumberParseException.TOO_LONG: PhoneReason.TOO_LONG,
}


class NormalizedNumber(NamedTuple):
    """Rule 7: everything that says what the key is and how it was made.

    A NamedTuple rather than a frozen dataclass: it is built once per imported row,
    and a frozen dataclass costs about 10% of the whole normalisation there."""

    e164_number: str
    number: str  # national significant number; Italian numbers keep their leading 0
    raw_number: str
    country_code: int
    region_code: str | None
    number_type: str
    country_code_source: CountryCodeSource
    default_region: str | None
    normalizer_version: str = NORMALIZER_VERSION
    warnings: tuple[UserError, ...] = ()


def normalize(
    number: str | int | None = None,
    e164_number: str | None = None,
    *,
    default_region: str | None = None,
    strict_country_code: bool = False,
) -> NormalizedNumber:
    """Return the canonical E.164 reading of `number` / `e164_number`, or raise."""
    region = check_region(default_region) if default_region else None
    number = None if _blank(number) else number
    if type(number) is str and (problem := text_problem(number)):
        # Kept as rawNumber even when e164Number wins, so it must be storable text.
        raise PhoneNumberError(
            f"number {problem}: send the number as plain text.",
            field=("number",),
            reason=PhoneReason.NOT_A_NUMBER,
        )
    if not _blank(e164_number):
        return _from_e164(e164_number, number, region, strict_country_code)
    if number is None:
        raise PhoneNumberError(
            "Give the subscriber's phone number in number or e164Number.",
            field=("number",),
            code=ErrorCode.PARAMETER_REQUIRED,
        )
    return _from_number(number, region, strict_country_code)


def load_metadata() -> None:
    """Load every region's metadata now (phonenumbers loads a region's on first use)."""
    PhoneMetadata.load_all()


@lru_cache(maxsize=512)
def check_region(code: str) -> str:
    """An ISO 3166-1 alpha-2 code phonenumbers knows, upper-cased; else raise."""
    upper = code.strip().upper() if isinstance(code, str) else ""
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneNumberError(
            f"{code!r} is not a supported ISO 3166-1 alpha-2 region code (e.g. US, GB, DE).",
            field=("defaultRegion",),
            code=ErrorCode.INVALID_COUNTRYCODE_FORMAT,
        )
    return upper


def _blank(value: object) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _from_e164(
    e164_number: object, number: object, region: str | None, strict: bool
) -> NormalizedNumber:
    """Rule 2: e164Number wins over number; a disagreeing number is a warning."""
    text = e164_number.strip() if isinstance(e164_number, str) else None
    if text is None or not _E164.fullmatch(text):
        raise PhoneNumberError(
            f"e164Number {e164_number!r} is not E.164: write '+' then the country code "
            "and number, digits only, at most 15 digits (e.g. +14155550123).",
            field=("e164Number",),
            reason=PhoneReason.NOT_E164,
        )
    parsed = _parse(text, None, field_name="e164Number")
    raw = text if number is None else _raw(number)
    result = _accept(parsed, raw, region, CountryCodeSource.PLUS_SIGN, "e164Number")
    if number is None:
        return result
    reading, detail = _agreeing(number, result, region, strict)
    if reading is not None:
        return reading
    return result._replace(warnings=(_mismatch(number, result.e164_number, detail),))


def _agreeing(
    number: object, key: NormalizedNumber, region: str | None, strict: bool
) -> tuple[NormalizedNumber | None, str]:
    """The number's own reading where it is the same key as e164Number (else why not).

    Read in `region`, else in the e164Number's own country: a national number written
    for that country ("07911 123456" beside +447911123456) is that key, not a mismatch,
    whatever region the importing account has. The agreeing reading says how the key was
    made (rawNumber, countryCodeSource, defaultRegion), as an export carries it; its
    warnings (a spreadsheet's ".0", an inferred country code) are dropped: e164Number
    confirms the reading, so nothing was guessed."""
    detail = ""
    for where in dict.fromkeys((region, key.region_code)):
        try:
            other = _from_number(number, where, strict)
        except PhoneNumberError as error:
            detail = detail or f"could not be read ({error.reason})"
            continue
        if other.e164_number == key.e164_number:
            return other._replace(warnings=()), ""
        detail = detail or f"reads as {other.e164_number}"
    return None, detail


def _mismatch(number: object, e164: str, detail: str) -> UserError:
    return UserError(
        ErrorCode.CONFLICTING_PARAMETERS,
        f"number {_raw(number)!r} {detail}, but e164Number is {e164}; e164Number was used.",
        ("number",),
        PhoneReason.NUMBER_MISMATCH,
    )


def _from_number(number: object, region: str | None, strict: bool) -> NormalizedNumber:
    """Rules 3-6: read `number` in the default region, else by the documented fallback."""
    # Strings are nearly every row: keep their path free of extra calls.
    text, hint = (number, "") if type(number) is str else _number_text(number)
    digits, artefact = spreadsheet.read(text)
    try:
        parsed = _parse(digits, region, field_name="number", hint=hint)
        result = _accept(parsed, text, region, None, "number", hint=hint)
    except PhoneNumberError as error:
        if strict or error.reason not in _FALLBACK_REASONS:
            raise
        inferred = _infer_country_code(digits, text, region)
        if inferred is None:
            raise
        result = inferred
    if artefact is None:
        return result
    return result._replace(warnings=(artefact, *result.warnings))


def _number_text(number: object) -> tuple[str, str]:
    """Rule 3: an integer is its decimal digits; its message hints at lost zeros."""
    if isinstance(number, bool) or not isinstance(number, (str, int)):
        raise PhoneNumberError(
            f"number must be a string or an integer, not {type(number).__name__}.",
            field=("number",),
            reason=PhoneReason.NOT_A_NUMBER,
        )
    if isinstance(number, str):
        return number, ""
    if number < 0:
        raise PhoneNumberError(
            f"number {number} is negative; a phone number has only digits.",
            field=("number",),
            reason=PhoneReason.NOT_A_NUMBER,
        )
    return str(number), _INT_HINT


_FALLBACK_REASONS = frozenset(
    {
        PhoneReason.INVALID_COUNTRY_CODE,
        PhoneReason.TOO_LONG,
        PhoneReason.INVALID_LENGTH,
        PhoneReason.INVALID_NUMBER,
    }
)


def _infer_country_code(text: str, raw: str, region: str | None) -> NormalizedNumber | None:
    """Rule 5: more digits than a national number means they start with a country code.

    Always with a warning: a key made this way is a guess a person should be able to see.
    """
    # Without a home region "more digits than a national number" has no meaning.
    if region is None or any(sign in text for sign in _PLUS_SIGNS):
        return None
    digits = phonenumbers.normalize_digits_only(text)
    if len(digits) <= _max_national_length(region):
        return None
    candidate = "+" + (digits[2:] if digits.startswith("00") else digits)
    try:
        parsed = phonenumbers.parse(candidate, None)
        result = _accept(parsed, raw, region, CountryCodeSource.INFERRED, "number")
    except (NumberParseException, PhoneNumberError):
        return None
    warning = UserError(
        ErrorCode.INVALID_PHONENUMBER_FORMAT,
        f"{raw!r} is not a {region} number and has more digits than one, so it was read "
        f"as {result.e164_number} ({result.region_code or 'no country'}). Check it; "
        "strictCountryCode: true refuses such numbers instead.",
        ("number",),
        PhoneReason.COUNTRY_CODE_INFERRED,
    )
    return result._replace(warnings=(warning,))


def _max_national_length(region: str) -> int:
    metadata = PhoneMetadata.metadata_for_region(region)
    # check_region lets through only regions phonenumbers has metadata for
    assert metadata is not None and metadata.general_desc is not None
    return max(metadata.general_desc.possible_length)


def _parse(text: str, region: str | None, *, field_name: str, hint: str = "") -> PhoneNumber:
    try:
        return phonenumbers.parse(text, region, keep_raw_input=True)
    except NumberParseException as error:
        reason = _PARSE_ERRORS.get(error.error_type, PhoneReason.NOT_A_NUMBER)
        raise PhoneNumberError(
            _explain(text, reason, region) + hint, field=(field_name,), reason=reason
        ) from None


def _explain(text: str, reason: PhoneReason, region: str | None) -> str:
    if reason is PhoneReason.INVALID_COUNTRY_CODE:
        if any(sign in text for sign in _PLUS_SIGNS):
            return f"{text!r} does not start with a country code that exists."
        if region is None:
            return f"{text!r} has no country code: start it with + or give a defaultRegion."
        return f"{text!r} is not a {region} number and has no country code: start it with +."
    if reason is PhoneReason.NOT_A_NUMBER:
        return f"{text!r} does not look like a phone number."
    return f"{text!r} is {reason.lower().replace('_', ' ')} to be a phone number."


def _accept(
    parsed: PhoneNumber,
    raw: str,
    region: str | None,
    source: CountryCodeSource | None,
    field_name: str,
    *,
    hint: str = "",
) -> NormalizedNumber:
    """Rule 6 and 7: refuse what cannot be a reachable E.164 number, describe the rest."""
    country_code = parsed.country_code
    assert country_code is not None  # parse() sets it or raises
    nsn = phonenumbers.national_significant_number(parsed)
    e164 = f"+{country_code}{nsn}"
    number_region, number_type = region_and_type(country_code, nsn)
    if parsed.extension or number_type == PhoneNumberType.UNKNOWN or len(e164) > 16:
        _refuse(parsed, e164, region, field_name, hint)
    return NormalizedNumber(
        e164_number=e164,
        number=nsn,
        raw_number=raw,
        country_code=country_code,
        region_code=number_region,
        number_type=NUMBER_TYPES[number_type],
        country_code_source=source or _SOURCES[parsed.country_code_source],
        default_region=region,
    )


def _refuse(
    parsed: PhoneNumber, e164: str, region: str | None, field_name: str, hint: str
) -> NoReturn:
    """Say precisely why a parsed number is not acceptable. Always raises."""
    reason, what = _refusal(parsed, e164, region)
    raise PhoneNumberError(
        f"{parsed.raw_input or e164!r} {what}." + hint, field=(field_name,), reason=reason
    )


def _refusal(parsed: PhoneNumber, e164: str, region: str | None) -> tuple[PhoneReason, str]:
    if parsed.extension:
        return PhoneReason.HAS_EXTENSION, (
            f"has extension {parsed.extension}; E.164 has no extensions, remove it"
        )
    if len(e164) - 1 > MAX_E164_DIGITS:
        return PhoneReason.TOO_LONG, f"has more than {MAX_E164_DIGITS} digits with its country code"
    if _is_short_code(parsed, region):
        return PhoneReason.SHORT_CODE, "is a short or emergency code, not a subscriber number"
    possibility = phonenumbers.is_possible_number_with_reason(parsed)
    if possibility in _POSSIBILITY:
        reason, what = _POSSIBILITY[possibility]
        if reason is PhoneReason.LOCAL_ONLY:
            what += ": add its area code"
        return reason, what
    return PhoneReason.INVALID_NUMBER, f"is not a number in use in the +{parsed.country_code} plan"


def _is_short_code(parsed: PhoneNumber, region: str | None) -> bool:
    if shortnumberinfo.is_valid_short_number(parsed):
        return True
    digits = phonenumbers.national_significant_number(parsed)
    return region is not None and shortnumberinfo.is_emergency_number(digits, region)


def _raw(number: object) -> str:
    return number if isinstance(number, str) else str(number)
