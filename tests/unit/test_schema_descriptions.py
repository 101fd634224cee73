"""Every part of the committed contract says what it is: each type, field, argument,
input field and enum value of schema/schema.graphql has a description.

The descriptions are written in the code (strawberry's description=, enum values through
graphql/enums.py); `substore schema export` writes them into the file, and
tests/integration/test_cli.py fails when the file is stale.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import graphql
import pytest

from substore.graphql.enums import described_enum

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def undescribed(sdl: str) -> list[str]:
    """Each item of the schema without a description: `Type`, `Type.field`,
    `Type.field(argument:)`, `Input.field`, `Enum.VALUE`. Introspection types and the
    built-in scalars (String, Int, ...) are the spec's, not ours."""
    schema = graphql.build_schema(sdl)
    missing: list[str] = []
    for named in schema.type_map.values():
        if graphql.is_introspection_type(named) or graphql.is_specified_scalar_type(named):
            continue
        if not named.description:
            missing.append(named.name)
        if isinstance(
            named,
            graphql.GraphQLObjectType
            | graphql.GraphQLInterfaceType
            | graphql.GraphQLInputObjectType,
        ):
            for field_name, field in named.fields.items():
                if not field.description:
                    missing.append(f"{named.name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{named.name}.{field_name}({arg_name}:)")
        if isinstance(named, graphql.GraphQLEnumType):
            missing += [
                f"{named.name}.{value_name}"
                for value_name, value in named.values.items()
                if not value.description
            ]
    return sorted(missing)


def test_every_type_field_argument_and_enum_value_of_the_schema_is_described() -> None:
    missing = undescribed(SCHEMA.read_text())
    assert not missing, (
        f"{len(missing)} items of schema/schema.graphql have no description (write one in "
        "the code, then run `substore schema export`):\n  " + "\n  ".join(missing)
    )


def test_the_check_names_each_kind_of_undescribed_item() -> None:
    sdl = '''
        """Described."""
        type Query {
          """Described."""
          ok(
            """Described."""
            a: Int
          ): String
          bare(b: Int): Order
          list(filter: Filter): [String!]!
        }
        enum Order {
          """Described."""
          UP
          DOWN
        }
        """Described."""
        input Filter {
          text: String
        }
    '''
    assert undescribed(sdl) == [
        "Filter.text",
        "Order",
        "Order.DOWN",
        "Query.bare",
        "Query.bare(b:)",
        "Query.list",
        "Query.list(filter:)",
    ]


def test_described_enum_describes_each_value_and_refuses_a_name_that_is_not_a_member() -> None:
    class Colour(Enum):
        RED = "RED"
        BLUE = "BLUE"

    described_enum(Colour, "Colour", "A colour.", {"RED": "Warm."})
    values = {value.name: value.description for value in Colour.__strawberry_definition__.values}
    assert values == {"RED": "Warm.", "BLUE": None}  # left out: the schema test names it

    class Shape(Enum):
        ROUND = "ROUND"

    with pytest.raises(ValueError, match="Shape has no member SQUARE"):
        described_enum(Shape, "Shape", "A shape.", {"ROUND": "Round.", "SQUARE": "Square."})
