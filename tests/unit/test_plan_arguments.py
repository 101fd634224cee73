"""A plan's root arguments are what strawberry's own conversion makes of them: the
same keyword arguments, input objects converted, scalars and enums passed on."""

from __future__ import annotations

from graphql import parse
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments

from substore.graphql.arguments import RootArguments
from substore.graphql.schema import build_schema

QUERIES = [
    '{ subscriber(number: "+12015550123") { id } }',
    "{ subscriber { id } }",
    "{ subscribers(first: 5, orderBy: UPDATED_AT_DESC) { totalCount } }",
    '{ subscribers(last: 2, before: "x", filter: {status: SUBSCRIBED, regionCode: "US",'
    ' createdAfter: "2026-01-01T00:00:00Z", search: "ann"}) { totalCount } }',
    "{ subscribers(filter: {}) { totalCount } }",
]


def test_the_same_keyword_arguments_as_strawberry_makes():
    schema = build_schema()
    arguments = RootArguments(schema)
    for query in QUERIES:
        operation = parse(query).definitions[0]
        node = operation.selection_set.selections[0]  # type: ignore[attr-defined]
        definition = schema._schema.query_type.fields[node.name.value]
        field = definition.extensions["strawberry-definition"]
        variables = get_variable_values(schema._schema, (), {})
        raw = get_argument_values(definition, node, variables)
        registry = schema.schema_converter.scalar_registry
        expected = convert_arguments(raw, field.arguments, registry, schema.config)
        assert arguments.convert(raw, field.arguments) == expected, query
        assert arguments.convert(raw, field.arguments) == expected  # from the cache too
