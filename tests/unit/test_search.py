"""Reading the search filter: numbers in any spelling, words otherwise."""

from __future__ import annotations

import pytest

from substore.errors import ErrorCode, ValidationError
from substore.search import MAX_LENGTH, Search, parse_search


@pytest.mark.parametrize("text", [None, "", "   \t "])
def test_blank_is_no_search(text):
    assert parse_search(text) is None


@pytest.mark.parametrize("text", ["415 555", "(415) 555-", "415.555", "415-555"])
def test_a_partial_national_number_in_any_spelling(text):
    search = parse_search(text)
    assert search.national == ("415555",)
    assert not search.words


def test_a_plus_means_a_country_code_and_nothing_national():
    assert parse_search("+1 (415) 555") == Search(international=((1, "415555"),))
    assert parse_search("+44") == Search(international=((44, ""),))


def test_a_trunk_prefix_may_or_may_not_be_stored():
    # UK numbers are stored without their 0, Italian ones with it.
    assert parse_search("020 7946").national == ("0207946", "207946")


def test_an_exit_code_instead_of_a_plus():
    assert (44, "207946") in parse_search("0044 20 7946").international
    assert (44, "20") in parse_search("011 44 20").international


def test_digits_that_begin_with_no_country_code_have_no_international_reading():
    # 0 begins no country code: "020" is not Egypt's 20.
    assert parse_search("020").international == ()
    assert parse_search("+0") == Search()


def test_words_are_kept_as_typed_and_deduplicated():
    assert parse_search("  Jane  jane@ex  Jane ") == Search(words=("Jane", "jane@ex"))


def test_a_word_with_digits_is_a_word():
    assert parse_search("jane 415") == Search(words=("jane", "415"))


def test_too_long():
    with pytest.raises(ValidationError) as raised:
        parse_search("a" * (MAX_LENGTH + 1))
    error = raised.value.user_error
    assert (error.code, error.field) == (ErrorCode.PARAMETER_TOO_LONG, ("filter", "search"))


def test_too_many_words():
    with pytest.raises(ValidationError) as raised:
        parse_search("a b c d e f")
    assert raised.value.user_error.code == ErrorCode.PARAMETER_INVALID
