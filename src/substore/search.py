"""Reading the `search` filter: words that begin a name or an email, or part of a number.

Pure: the repository turns a `Search` into index range conditions. A search made only of
digits and the punctuation people write numbers with is a number, however it is spelled
("415 555", "(415) 555-", "+1 415 555", "0044 20 7946", "020 7946"); anything else is
words, each of which must begin the first name, the last name or the email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from substore.errors import ErrorCode, ValidationError

MAX_LENGTH = 100
MAX_WORDS = 5
_FIELD = ("filter", "search")
_NUMBER = re.compile(r"\+?[\d\s().\-/]*\d[\d\s().\-/]*")
# The international prefixes people type in front of a country code instead of "+".
_EXIT_CODES = ("00", "011")


@dataclass(frozen=True, slots=True)
class Search:
    # Each must begin (case-insensitively) first_name, last_name or email.
    words: tuple[str, ...] = ()
    # Prefixes of the national significant number (the `number` column).
    national: tuple[str, ...] = ()
    # (country code, prefix of the national number after it).
    international: tuple[tuple[int, str], ...] = ()


def parse_search(text: str | None) -> Search | None:
    """The search `text` asks for, or None for no search (absent or blank)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ValidationError(
            f"search is at most {MAX_LENGTH} characters.",
            field=_FIELD,
            code=ErrorCode.PARAMETER_TOO_LONG,
        )
    if _NUMBER.fullmatch(text):
        return _number_search(text)
    words = tuple(dict.fromkeys(text.split()))
    if len(words) > MAX_WORDS:
        raise ValidationError(
            f"search takes at most {MAX_WORDS} words (each must begin a first name, last "
            "name or email).",
            field=_FIELD,
        )
    return Search(words=words)


def _number_search(text: str) -> Search:
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        return Search(international=_splits([digits]))
    # No "+": a national number, with or without its trunk prefix ("020..." in the UK is
    # stored as "20..."; Italian numbers keep their 0), or a country code typed without
    # "+" or after an exit code ("0044...", "011 44..."; "0113..." is also Leeds).
    national = tuple(dict.fromkeys(p for p in (digits, digits.lstrip("0")) if p))
    exits = [digits[len(code) :] for code in _EXIT_CODES if digits.startswith(code)]
    return Search(national=national, international=_splits([digits, *exits]))


def _splits(candidates: list[str]) -> tuple[tuple[int, str], ...]:
    found = (_country_split(digits) for digits in candidates)
    return tuple(dict.fromkeys(split for split in found if split))


def _country_split(digits: str) -> tuple[int, str] | None:
    """(country code, rest) for digits that begin with a country code; the ITU codes are
    prefix-free, so there is at most one."""
    for length in (1, 2, 3):
        code = digits[:length]
        if len(code) == length and code[0] != "0" and int(code) in COUNTRY_CODE_TO_REGION_CODE:
            return int(code), digits[length:]
    return None
