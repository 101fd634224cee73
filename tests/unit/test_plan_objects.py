"""The function a plan writes for an object selection answers as graphql-core would:
values kept or serialized per field, a missing attribute as null, aliases as keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from graphql import (
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationDefinitionNode,
    parse,
)

from substore.graphql.plans import Unplannable, _completer


def _extensions(python_name: str) -> dict[str, object]:
    # What the plan reads of strawberry's field definition.
    field = SimpleNamespace(python_name=python_name, base_resolver=None, permission_classes=[])
    return {"strawberry-definition": field}


THING = GraphQLObjectType(
    "Thing",
    {
        "name": GraphQLField(GraphQLString, extensions=_extensions("name")),
        "count": GraphQLField(GraphQLNonNull(GraphQLInt), extensions=_extensions("count")),
    },
)


def complete(selection: str):
    operation = parse(f"{{ thing {{ {selection} }} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    root = operation.selection_set.selections[0]
    return _completer(THING, root.selection_set)  # type: ignore[union-attr]


def test_strings_kept_and_other_values_serialized_as_graphql_core_does():
    answer = complete("name count label: name")
    assert answer(SimpleNamespace(name="Ann", count=3)) == {
        "name": "Ann",
        "count": 3,
        "label": "Ann",
    }
    # graphql-core's String serializes an int as its digits.
    assert answer(SimpleNamespace(name=42, count=3)) == {"name": "42", "count": 3, "label": "42"}


def test_a_missing_attribute_is_null_and_a_missing_non_null_goes_to_the_plain_run():
    assert complete("name")(SimpleNamespace(count=1)) == {"name": None}
    with pytest.raises(Unplannable):
        complete("count")(SimpleNamespace(name="Ann"))
    assert complete("name")(None) is None  # the object itself is nullable here
