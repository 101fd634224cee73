"""Numbers a spreadsheet rendered as floats: `4155552671.0`, `4.155552671E9`.

A phone column that passed through a spreadsheet comes back as a float. Read as
written, its digits gain a 0 (`41555526710`), which the country-code fallback then
takes for a Swiss number: the wrong person. Such text is read as the integer it
renders; scientific notation that shows fewer digits than the integer has was rounded,
and the digits it lost cannot be told, so it is refused.
"""

from __future__ import annotations

import re

from substore.errors import ErrorCode, PhoneNumberError, PhoneReason, UserError

_DECIMAL = re.compile(r"\s*([0-9]+)\.0+\s*")
_SCIENTIFIC = re.compile(r"\s*([1-9])(?:\.([0-9]+))?[eE]\+?([0-9]{1,2})\s*")


def read(text: str) -> tuple[str, UserError | None]:
    """`text`, or the digits it renders and a warning; raises if the digits were rounded."""
    if "." not in text and "e" not in text and "E" not in text:
        return text, None  # nearly every row: no regular expression
    if found := _DECIMAL.fullmatch(text):
        return found[1], _warning(text, found[1])
    found = _SCIENTIFIC.fullmatch(text)
    if found is None:
        return text, None
    lead, shown, exponent = found[1], found[2] or "", int(found[3])
    if len(shown) > exponent:
        return text, None  # not an integer: not a spreadsheet's phone number either
    if len(shown) < exponent:
        raise PhoneNumberError(
            f"{text.strip()!r} is a number a spreadsheet rounded: scientific notation shows "
            f"{len(shown) + 1} of its {exponent + 1} digits. Format the column as text in the "
            "spreadsheet and export it again.",
            field=("number",),
            reason=PhoneReason.NOT_A_NUMBER,
        )
    digits = lead + shown
    return digits, _warning(text, digits)


def _warning(text: str, digits: str) -> UserError:
    return UserError(
        ErrorCode.INVALID_PHONENUMBER_FORMAT,
        f"{text.strip()!r} is how a spreadsheet writes the number {digits}: read as those "
        "digits. Format the column as text to keep numbers as they were typed.",
        ("number",),
        PhoneReason.SPREADSHEET_NUMBER,
    )
