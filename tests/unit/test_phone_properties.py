"""Properties of substore.phone that must hold for any input."""

from __future__ import annotations

import contextlib

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from substore.errors import PhoneNumberError
from substore.phone import normalize

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


def _examples() -> list[str]:
    out = []
    for region in REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                out.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return out


EXAMPLES = _examples()
phone_like = st.text(alphabet="0123456789 +-().#x*\uff10\u0661", max_size=30)


@given(st.sampled_from(EXAMPLES), st.text(alphabet="0123456789", min_size=1, max_size=3))
@settings(max_examples=300)
def test_normalizing_an_e164_result_again_gives_the_same_result(example, tail):
    # Vary the last digits of real numbers so many distinct valid numbers are drawn.
    candidate = example[: -len(tail)] + tail
    try:
        first = normalize(candidate, default_region="US")
    except PhoneNumberError:
        return
    for again in (
        normalize(first.e164_number, default_region="GB"),
        normalize(None, first.e164_number),
    ):
        assert again.e164_number == first.e164_number
        assert (again.number, again.number_type) == (first.number, first.number_type)
        assert again.region_code == first.region_code


@given(
    st.one_of(st.text(max_size=60), phone_like), st.sampled_from([None, *REGIONS]), st.booleans()
)
@settings(max_examples=500)
def test_arbitrary_text_raises_only_substore_errors(text, region, strict):
    try:
        result = normalize(text, default_region=region, strict_country_code=strict)
    except PhoneNumberError:
        return
    assert result.e164_number.startswith("+")
    assert len(result.e164_number) <= 16


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(REGIONS))
@settings(max_examples=300)
def test_arbitrary_integers_raise_only_substore_errors(value, region):
    try:
        result = normalize(value, default_region=region)
    except PhoneNumberError:
        return
    assert result.raw_number == str(value)


@given(phone_like, phone_like)
def test_e164_number_side_raises_only_substore_errors(number, e164):
    with contextlib.suppress(PhoneNumberError):
        normalize(number, e164, default_region="US")
