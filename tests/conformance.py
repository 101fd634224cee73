"""Does a GraphQL response keep the committed schema's promises? (for generated requests)

`violations(document, status, body)` lists what a response breaks, empty when nothing:
the body is a JSON object of `data` and `errors`; every error has a message and one of
substore's codes; a refused request (not 200) carries no data; and `data` has exactly the
fields the operation selected (aliases included), each of its declared type: non-null
fields are not null unless an error names their path, lists are lists, enums are their
members, Int fits in 32 bits, DateTime is ISO 8601.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import graphql

from substore.errors import ErrorCode, RequestCode

SCHEMA_PATH = Path(__file__).parents[1] / "schema" / "schema.graphql"
CODES = {code.value for code in (*ErrorCode, *RequestCode)}
Path_ = tuple[str | int, ...]


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA_PATH.read_text())


def violations(document: str, status: int, body: Any, operation: str | None = None) -> list[str]:
    if not isinstance(body, dict) or not body.keys() <= {"data", "errors", "extensions"}:
        return [f"not a GraphQL response: {str(body)[:200]}"]
    found = _error_violations(body.get("errors"))
    data = body.get("data")
    if status != 200:
        return found + ([f"{status} with data"] if data is not None else [])
    if data is None:
        return found + ([] if body.get("errors") else ["200 without data or errors"])
    error_paths = [tuple(e.get("path") or ()) for e in body.get("errors") or []]
    checker = _Checker(graphql.parse(document), error_paths)
    selected = checker.operation(operation)
    root = schema().get_root_type(selected.operation)
    return found + checker.selection(root, selected.selection_set, data, ())


def _error_violations(errors: Any) -> list[str]:
    if errors is None:
        return []
    if not isinstance(errors, list) or not errors:
        return [f"errors is not a non-empty list: {errors!r}"]
    found = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            found.append(f"an error without a message: {error!r}")
        elif code not in CODES:
            found.append(f"an error without one of substore's codes: {error!r}")
    return found


class _Checker:
    def __init__(self, document: graphql.DocumentNode, error_paths: list[Path_]) -> None:
        self.document, self.error_paths = document, error_paths
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, graphql.FragmentDefinitionNode)
        }

    def operation(self, name: str | None) -> graphql.OperationDefinitionNode:
        operations = [
            d for d in self.document.definitions if isinstance(d, graphql.OperationDefinitionNode)
        ]
        return next(op for op in operations if name is None or (op.name and op.name.value == name))

    def selection(
        self, parent: Any, selections: graphql.SelectionSetNode, value: Any, path: Path_
    ) -> list[str]:
        if not isinstance(value, dict):
            return [f"{_at(path)}: expected an object, got {value!r}"]
        runtime = self._runtime_type(parent, value)
        fields, optional = self._collect(parent, runtime, selections, {}, set(), False)
        found = [f"{_at(path)}: unexpected field {key!r}" for key in value if key not in fields]
        for key, (owner, field) in fields.items():
            if key not in value:
                if key not in optional:
                    found.append(f"{_at(path)}: missing field {key!r}")
                continue
            if field.name.value == "__typename":
                if not isinstance(value[key], str):
                    found.append(f"{_at((*path, key))}: __typename {value[key]!r}")
                continue
            definition = owner.fields[field.name.value]
            found += self.value(definition.type, field, value[key], (*path, key))
        return found

    def _runtime_type(self, parent: Any, value: dict[str, Any]) -> Any:
        if isinstance(parent, graphql.GraphQLObjectType):
            return parent
        named = next((v for k, v in value.items() if k == "__typename"), None)
        return schema().get_type(named) if isinstance(named, str) else None

    def _collect(
        self,
        parent: Any,
        runtime: Any,
        selections: graphql.SelectionSetNode,
        fields: dict[str, tuple[Any, graphql.FieldNode]],
        optional: set[str],
        conditional: bool,
    ) -> tuple[dict[str, tuple[Any, graphql.FieldNode]], set[str]]:
        """The fields a selection asks of `runtime` (None: not known), by response key;
        `optional` collects those it may leave out (under a directive or another type)."""
        for node in selections.selections:
            maybe = conditional or bool(node.directives)
            if isinstance(node, graphql.FieldNode):
                key = (node.alias or node.name).value
                fields[key] = (parent, node)
                if maybe:
                    optional.add(key)
                continue
            fragment = (
                self.fragments[node.name.value]
                if isinstance(node, graphql.FragmentSpreadNode)
                else node
            )
            condition = fragment.type_condition
            target = schema().get_type(condition.name.value) if condition else parent
            applies = runtime is not None and _is_a(runtime, target)
            self._collect(
                runtime if applies else target,
                runtime,
                fragment.selection_set,
                fields,
                optional,
                maybe or not applies,
            )
        return fields, optional

    def value(self, type_: Any, field: graphql.FieldNode, value: Any, path: Path_) -> list[str]:
        if isinstance(type_, graphql.GraphQLNonNull):
            if value is None:
                named = any(p[: len(path)] == path for p in self.error_paths)
                return [] if named else [f"{_at(path)}: null for non-null {type_}"]
            type_ = type_.of_type
        if value is None:
            return []
        if isinstance(type_, graphql.GraphQLList):
            if not isinstance(value, list):
                return [f"{_at(path)}: expected a list, got {value!r}"]
            return [
                found
                for n, item in enumerate(value)
                for found in self.value(type_.of_type, field, item, (*path, n))
            ]
        if isinstance(type_, graphql.GraphQLEnumType):
            ok = value in type_.values
        elif isinstance(type_, graphql.GraphQLScalarType):
            ok = _scalar_ok(type_.name, value)
        else:
            return self.selection(type_, field.selection_set, value, path)
        return [] if ok else [f"{_at(path)}: {value!r} is not a {type_.name}"]


def _is_a(runtime: Any, target: Any) -> bool:
    return runtime is target or (
        isinstance(target, graphql.GraphQLAbstractType) and schema().is_sub_type(target, runtime)
    )


def _scalar_ok(name: str, value: Any) -> bool:
    if name == "Int":
        return type(value) is int and -(2**31) <= value < 2**31
    if name == "Float":
        return type(value) in (int, float)
    if name == "Boolean":
        return type(value) is bool
    if name == "DateTime":
        return isinstance(value, str) and _is_iso(value)
    if name == "JSON":
        return True
    return isinstance(value, str)  # String, ID, PhoneNumber


def _is_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _at(path: Path_) -> str:
    return ".".join(map(str, ("data", *path)))
