"""Enums of the contract that are defined outside the GraphQL layer, with their values
described. Imports nothing of the package, so every graphql module may use it (types.py
imports consent.py, which could not import a helper from types.py)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

import strawberry
from strawberry.types.enum import has_enum_definition


def described_enum(
    enum: type[Enum], name: str, description: str, values: Mapping[str, str]
) -> None:
    """strawberry.enum (which marks `enum` in place) for an enum defined outside the
    GraphQL layer, each value described by `values` (member name -> description).

    strawberry.enum_value describes only members written in a strawberry class body; these
    enums belong to other modules (or, NumberType, to phonenumbers), so the descriptions
    are set on the definition strawberry.enum made. A name that is not a member is a
    mistake and raises; a member left out stays undescribed, and the schema's description
    test (tests/unit/test_schema_descriptions.py) names it.
    """
    strawberry.enum(enum, name=name, description=description)
    unknown = sorted(set(values) - set(enum.__members__))
    if unknown:
        raise ValueError(f"{name} has no member {', '.join(unknown)}")
    assert has_enum_definition(enum)
    for value in enum.__strawberry_definition__.values:
        value.description = values.get(value.name)
