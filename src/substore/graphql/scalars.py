"""Custom scalars. GraphQL's Int is 32-bit: too small for 18002223333, hence PhoneNumber."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

MAX_INTEGER_DIGITS = 15  # E.164's cap; a longer integer cannot be a phone number


def _parse_phone_number(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("PhoneNumber must be a JSON string or a JSON integer")
    if isinstance(value, int) and len(str(abs(value))) > MAX_INTEGER_DIGITS:
        raise ValueError(f"a PhoneNumber integer has at most {MAX_INTEGER_DIGITS} digits")
    return value


def _parse_phone_literal(node: ValueNode, _variables: Any = None) -> str | int:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return _parse_phone_number(int(node.value))
    raise ValueError("PhoneNumber must be a string or an integer literal")


PhoneNumber = NewType("PhoneNumber", object)
Sequence = NewType("Sequence", int)
MAX_SEQUENCE = 2**63 - 1  # bigint, as stored


def _parse_sequence(value: Any) -> int:
    """An event's sequence: a JSON integer, or its cursor (the same number as a string)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQUENCE:
        raise ValueError("Sequence must be an event's sequence (0 or more) or its cursor")
    return value


def _parse_sequence_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, (StringValueNode, IntValueNode)):
        return _parse_sequence(node.value if isinstance(node, StringValueNode) else int(node.value))
    raise ValueError("Sequence must be an integer or a cursor string")


def phone_number(value: PhoneNumber | None) -> str | int | None:
    """A PhoneNumber argument as the str or int its parsing lets through."""
    if value is None or isinstance(value, (str, int)):
        return value
    raise TypeError(f"a PhoneNumber is a str or an int, not {type(value).__name__}")


# Registered in the schema's StrawberryConfig.scalar_map (strawberry's recommended way).
SCALARS: dict[object, ScalarDefinition] = {
    PhoneNumber: strawberry.scalar(
        name="PhoneNumber",
        description=(
            "A phone number as written: a string in any format, or an integer of up to 15 "
            "digits (integers lose leading zeros: prefer strings)."
        ),
        serialize=str,
        parse_value=_parse_phone_number,
        parse_literal=_parse_phone_literal,
    ),
    Sequence: strawberry.scalar(
        name="Sequence",
        description=(
            "An event's number in its account's feed, from 1 in commit order: a JSON integer "
            "(up to 2^63-1, past GraphQL Int's 32 bits); as input, the event's cursor too."
        ),
        serialize=int,
        parse_value=_parse_sequence,
        parse_literal=_parse_sequence_literal,
    ),
}
