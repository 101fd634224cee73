"""The rows of an importSubscribers call, read straight into service inputs.

graphql-core's coercion of a 1000-element list of input objects and strawberry's
conversion of it into SubscriberInput objects were a third of a serving process's CPU in
an import. Where a mutation is importSubscribers alone with its rows in a variable of
their own, each row is read here instead, field by field with the schema's own scalar
and enum coercion, into what `SubscriberInput.to_service` would have made. A row that is
anything but plainly valid (an unknown field, a value the scalar refuses, not an
object) leaves the whole call to graphql-core, which reports it as it always has
(tests/integration/test_rows.py compares the two on generated rows).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import (
    FieldNode,
    GraphQLInputObjectType,
    GraphQLLeafType,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    visit,
)
from graphql.language import Visitor

from substore import services
from substore.graphql.documents import DocumentCache, cacheable, parse_document
from substore.graphql.inputs import PYTHON_NAMES
from substore.graphql.limits import OperationError, select_operation

ROOT = "importSubscribers"
YIELD_EVERY = 100
ROW_TYPE = "SubscriberInput"


@dataclass(frozen=True, slots=True)
class LeanImport:
    variable: str  # the variable that held the rows: sent on to graphql-core as []
    rows: list[services.SubscriberInput]


class ImportRows:
    """Which documents are a lone importSubscribers, by (query, operationName)."""

    def __init__(self, schema: Any) -> None:
        row_type = schema._schema.type_map[ROW_TYPE]
        assert isinstance(row_type, GraphQLInputObjectType)
        self.coercers = {
            name: (PYTHON_NAMES[name], _coercer(field.type))
            for name, field in row_type.fields.items()
        }
        self.variables: DocumentCache[str | None] = DocumentCache()

    async def take(
        self, query: str, name: str | None, variables: dict[str, Any] | None
    ) -> LeanImport | None:
        """The call's rows as service inputs, or None where graphql-core must read them."""
        if not cacheable(query):
            return None  # read by graphql-core: a document this long is parsed once only
        variable = self.variables.get(query, name)
        if variable is None and not self.variables.knows(query, name):
            variable = self.variables.put(query, name, _rows_variable(query, name))
        if variable is None or not variables or type(variables.get(variable)) is not list:
            return None
        rows = []
        for index, value in enumerate(variables[variable], 1):
            row = self.row(value)
            if row is None:
                return None
            rows.append(row)
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a lookup waits for 100 rows, not for the batch
        return LeanImport(variable, rows)

    def row(self, value: Any) -> services.SubscriberInput | None:
        if type(value) is not dict:
            return None
        given: dict[str, Any] = {}
        for name, item in value.items():
            found = self.coercers.get(name)
            if found is None:
                return None
            python_name, coerce = found
            if item is not None:
                try:
                    item = coerce(item)
                except Exception:  # the scalar refuses it: graphql-core says how
                    return None
            given[python_name] = item
        profile = {c: given[c] for c in services.PROFILE_COLUMNS if c in given}
        return services.SubscriberInput(
            number=given.get("number"),
            e164_number=given.get("e164_number"),
            profile=profile,
            default_region=given.get("default_region") or None,
        )


def _coercer(kind: Any) -> Callable[[Any], Any]:
    """The field's coercion of a value that is not null; every row field is nullable and
    a leaf (anything else is refused here, and the schema would have to change first)."""
    if not isinstance(kind, GraphQLLeafType):
        raise TypeError(f"{ROW_TYPE} field of type {kind} is not a nullable leaf")
    coerce = kind.coerce_input_value

    def leaf(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise ValueError("no value")  # graphql-core's Undefined, or a null it refuses
        # An enum arrives as its Python member; services take its value, as to_service.
        return coerced.value if isinstance(coerced, Enum) else coerced

    return leaf


def _rows_variable(query: str, name: str | None) -> str | None:
    """The variable holding the rows where the operation is importSubscribers alone with
    `input: $rows` of type [SubscriberInput!]!, used nowhere else; else None."""
    try:
        operation = select_operation(parse_document(query), name)
    except OperationError:
        return None  # graphql-core says why
    if operation.operation is not OperationType.MUTATION:
        return None
    selections = operation.selection_set.selections
    if operation.directives or len(selections) != 1:
        return None
    field = selections[0]
    if not isinstance(field, FieldNode) or field.name.value != ROOT or field.directives:
        return None
    given = {a.name.value: a.value for a in field.arguments or ()}
    rows = given.get("input")
    if not isinstance(rows, VariableNode):
        return None
    variable = rows.name.value
    definitions = [
        d for d in operation.variable_definitions or () if d.variable.name.value == variable
    ]
    if len(definitions) != 1 or definitions[0].default_value or definitions[0].directives:
        return None
    if not _is_row_list(definitions[0].type) or _uses(operation, variable) != 1:
        return None
    return variable


def _is_row_list(node: Any) -> bool:
    """[SubscriberInput!]!, exactly."""
    if not isinstance(node, NonNullTypeNode) or not isinstance(node.type, ListTypeNode):
        return False
    item = node.type.type
    return (
        isinstance(item, NonNullTypeNode)
        and isinstance(item.type, NamedTypeNode)
        and item.type.name.value == ROW_TYPE
    )


class _Uses(Visitor):
    def __init__(self, variable: str) -> None:
        super().__init__()
        self.variable, self.count = variable, 0

    def enter_variable(self, node: VariableNode, *_args: Any) -> None:
        self.count += node.name.value == self.variable


def _uses(operation: OperationDefinitionNode, variable: str) -> int:
    uses = _Uses(variable)
    visit(operation.selection_set, uses)
    return uses.count
