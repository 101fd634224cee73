"""A plan cache for the reads a frontend repeats: `subscriber(...)` and `subscribers` pages.

graphql-core spends about 5 us on each field of each row, most of a 50-row page's CPU.
A query document that the plain executor has answered once without errors, and that
selects only fields without resolvers below its root fields, gets a plan: its variables
and arguments are coerced by graphql-core's own functions, the root field's own resolver
runs, and the objects it returns are read field by field with the schema's own
serializers. Anything the plan does not cover (fragments, directives, a resolver below
the root, an error of any kind) is answered by the plain executor instead, so the plan
returns the same data or nothing (tests/integration/test_plans.py compares the two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.types.field import StrawberryField

from substore.graphql.arguments import RootArguments
from substore.graphql.documents import DocumentCache, cacheable, parse_document

# Root fields whose resolvers are plain reads (no permission classes, no side effects).
ROOTS = frozenset({"subscriber", "subscribers"})


class Unplannable(Exception):
    """This document, or this run of it, is for the plain executor."""


@dataclass(frozen=True, slots=True)
class Selected:
    key: str  # the response key (alias or name)
    node: FieldNode
    definition: GraphQLField | None  # None for __typename
    python_name: str
    complete: Callable[[Any], Any]  # the field's value as the response holds it
    method: Callable[[Any], Any] | None = None  # a self-only resolver, called for the value


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[Selected, ...]


@dataclass(frozen=True, slots=True)
class _Info:
    """What the root resolvers read of strawberry's Info: the context."""

    context: Any


class Plans:
    """Plans by (query, operationName), made from documents that ran cleanly."""

    def __init__(self, schema: Any) -> None:
        self.strawberry = schema
        self.schema = schema._schema
        self.plans: DocumentCache[Plan | None] = DocumentCache()
        self.arguments = RootArguments(schema)

    def get(self, query: str, name: str | None) -> Plan | None:
        return self.plans.get(query, name)

    def learn(self, query: str, name: str | None) -> None:
        """After a clean plain run: remember whether the document can have a plan."""
        if not cacheable(query) or self.plans.knows(query, name):
            return  # too long to keep, or known: a plan, or None for one that cannot have one
        try:
            plan = self._compile(query, name)
        except Unplannable:
            plan = None
        self.plans.put(query, name, plan)

    async def run(
        self, plan: Plan, variables: dict[str, Any] | None, context: Any
    ) -> dict[str, Any]:
        """The operation's data; Unplannable where the plain executor must answer."""
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):  # the caller's mistake: reported by the plain run
            raise Unplannable
        data: dict[str, Any] = {}
        for root in plan.roots:
            data[root.key] = await self._root(root, coerced, context)
        return data

    async def _root(self, root: Selected, variables: VariableValues, context: Any) -> Any:
        if root.definition is None:
            return root.complete(None)
        field = root.definition.extensions["strawberry-definition"]
        try:
            raw = get_argument_values(root.definition, root.node, variables)
            kwargs = self.arguments.convert(raw, field.arguments)
            value = await field.base_resolver.wrapped_func(None, _Info(context), **kwargs)
        except Exception:  # expected or not, the plain run answers it as it always does
            raise Unplannable from None
        return root.complete(value)

    def _compile(self, query: str, name: str | None) -> Plan:
        document = parse_document(query)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(document.definitions) != len(operations):
            raise Unplannable  # fragments
        chosen = [o for o in operations if name is None or (o.name and o.name.value == name)]
        if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
            raise Unplannable
        operation = chosen[0]
        if operation.directives:
            raise Unplannable
        query_type = self.schema.query_type
        roots = _selections(operation.selection_set, query_type, root=True)
        return Plan(operation, roots)


def _selections(
    selection_set: SelectionSetNode | None, parent: GraphQLObjectType, root: bool = False
) -> tuple[Selected, ...]:
    if selection_set is None:
        raise Unplannable
    out, keys = [], set()
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives:
            raise Unplannable
        key = node.alias.value if node.alias else node.name.value
        if key in keys:
            raise Unplannable  # merged fields: left to graphql-core
        keys.add(key)
        out.append(_selected(node, key, parent, root))
    return tuple(out)


def _selected(node: FieldNode, key: str, parent: GraphQLObjectType, root: bool) -> Selected:
    name = node.name.value
    if name == "__typename":
        return Selected(key, node, None, "__typename", lambda _: parent.name)
    definition = parent.fields.get(name)
    if definition is None:
        raise Unplannable
    field = definition.extensions["strawberry-definition"]
    method = None
    if root:
        if name not in ROOTS or field.permission_classes:
            raise Unplannable
    else:
        method = _method(field)
        if node.arguments or (field.base_resolver is not None and method is None):
            raise Unplannable
    complete = _completer(definition.type, node.selection_set)
    return Selected(key, node, definition, field.python_name, complete, method)


def _method(field: StrawberryField) -> Callable[[Any], Any] | None:
    """A resolver that is a plain method of its object (self only: no arguments, no info,
    not async), which a plan may call itself; None for any other."""
    resolver = field.base_resolver
    if (
        resolver is None
        or resolver.is_async
        or resolver.arguments
        or resolver.info_parameter
        or resolver.root_parameter
        or resolver.parent_parameter
        or resolver.self_parameter is None
        or isinstance(resolver.wrapped_func, staticmethod | classmethod)  # (have no self)
        or field.permission_classes
        or field.extensions
    ):
        return None
    return resolver.wrapped_func


def _completer(kind: GraphQLOutputType, selection_set: SelectionSetNode | None) -> Any:
    """graphql-core's completion of a value of `kind`, for the cases a plan admits, made
    once per document; a null where none may be is left to the plain executor."""
    nullable = not isinstance(kind, GraphQLNonNull)
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if isinstance(kind, GraphQLEnumType):
        return _enum(kind, nullable)
    if isinstance(kind, GraphQLLeafType):
        return _leaf(kind, nullable)
    if isinstance(kind, GraphQLList):
        item = _completer(kind.of_type, selection_set)
        return _required(lambda value: [item(v) for v in value], nullable)
    if not isinstance(kind, GraphQLObjectType):
        raise Unplannable  # interfaces, unions
    return _required(_object(_selections(selection_set, kind)), nullable)


def _object(selected: tuple[Selected, ...]) -> Callable[[Any], Any]:
    """The response object for a value: a function written for this selection (each
    field read and completed inline, strings and small ints kept as they are), since a
    page completes it for every row; the generic loop for a value it does not fit."""
    fields = [(c.key, c.python_name, c.method, c.complete) for c in selected]

    def generic(value: Any) -> Any:
        return {
            key: complete(getattr(value, name, None) if method is None else method(value))
            for key, name, method, complete in fields
        }

    names: dict[str, Any] = {"generic": generic}
    lines, items = [], []
    for i, (key, name, method, complete) in enumerate(fields):
        names[f"c{i}"], names[f"m{i}"] = complete, method
        read = f"m{i}(value)" if method is not None else f"value.{name}"
        lines.append(f"    v{i} = {read}")
        kept = getattr(complete, "kept_as_is", None)  # see _leaf
        value = f"(v{i} if v{i}.__class__ is {kept} else c{i}(v{i}))" if kept else f"c{i}(v{i})"
        items.append(f"{key!r}: {value}")
    source = "def obj(value):\n    try:\n    " + "\n    ".join(lines)
    source += "\n    except AttributeError:\n        return generic(value)\n"
    source += f"    return {{{', '.join(items)}}}\n"
    names["str"], names["bool"] = str, bool
    # Keys are GraphQL names (the parser admits only [_A-Za-z][_0-9A-Za-z]*) written as
    # literals, attribute names the schema's own: nothing from a request becomes code.
    exec(compile(source, "<plan>", "exec"), names)
    return names["obj"]  # type: ignore[no-any-return]


def _required(complete: Callable[[Any], Any], nullable: bool) -> Callable[[Any], Any]:
    """`complete` for values that are not None; None stays None, or goes to the plain run."""

    def maybe(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Unplannable
        return complete(value)

    return maybe


def _enum(kind: GraphQLEnumType, nullable: bool) -> Callable[[Any], Any]:
    """An enum's serializer, remembered per member (there are few, and it is pure)."""
    serialized: dict[Any, Any] = {}
    leaf = _leaf(kind, nullable)

    def enum(value: Any) -> Any:
        found = serialized.get(value)
        if found is None:
            found = serialized[value] = leaf(value)
        return found

    return enum


# Values of these Python types are their own serialization in these scalars (as
# graphql-core's serialize_string, serialize_boolean and serialize_id return them).
_ITSELF = {"String": str, "Boolean": bool, "ID": str}
_INT = range(-(2**31), 2**31)  # serialize_int's bounds


def _leaf(kind: GraphQLLeafType, nullable: bool) -> Callable[[Any], Any]:
    serialize = kind.serialize
    itself = _ITSELF.get(kind.name)
    small_int = kind.name == "Int"

    def leaf(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise Unplannable
        if type(value) is itself or (small_int and type(value) is int and value in _INT):
            return value
        serialized = serialize(value)
        if serialized is None:
            raise Unplannable
        return serialized

    # An object's plan keeps a value of this class as it is without calling the leaf.
    leaf.kept_as_is = itself.__name__ if itself else None  # type: ignore[attr-defined]
    return leaf
