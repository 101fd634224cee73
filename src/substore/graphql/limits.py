"""How much a document may ask for, measured in time linear in its size.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every fragment spread anew,
so fragments that each spread the previous one twice cost 2^n (a 1 KB document froze
the server), and the depth limiter skipped inline fragments and introspection. Here
each fragment is measured once and its figures reused wherever it is spread; the
figures are plain sums and maxima, so an exponential expansion is refused by its
size without ever being walked. Nothing here recurses: a chain of 500 fragments, each
spreading the next, used to exhaust Python's stack (a 500) before any limit was checked.
Within one definition the parser stops at 200 levels (graphql-core's MAX_NESTING_DEPTH).

The operation is also chosen here, as the GraphQL spec says (an operationName that
names one, or the only operation of the document), so that what is checked, what the
HTTP method allows and what runs are the same operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from substore.text import MAX_JSON_DEPTH

MAX_DEPTH = 15  # GraphiQL's own introspection query is 13 levels deep
MAX_FRAGMENT_DEPTH = 10  # fragments inside fragments, named or inline; GraphiQL's nest 3
MAX_ALIASES = 30
MAX_FIELDS = 500  # with every fragment spread out; GraphiQL's introspection has 220
MAX_TOKENS = 20_000  # a 1000-row import with every field set stays well under this
# Lists and objects written in a document: a row's attributes inside a row in a list.
MAX_LITERAL_DEPTH = MAX_JSON_DEPTH + 2


class OperationError(ValueError):
    """The document has no operation to run under the given name."""


class TooComplex(ValueError):
    """The operation asks for more than the limits allow."""


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int  # levels of nested fields
    aliases: int
    fields: int  # with every fragment spread out as many times as it is spread
    fragments: int = 0  # levels of fragments inside fragments

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.fields + other.fields,
            max(self.fragments, other.fragments),
        )

    def nested(self) -> Cost:
        """The cost of a fragment, where it is spread or written inline."""
        return Cost(self.depth, self.aliases, self.fields, self.fragments + 1)


_NOTHING = Cost(0, 0, 0)


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        for operation in operations:
            if operation.name and operation.name.value == name:
                return operation
        raise OperationError(f"The document has no operation named {name!r}.")
    if len(operations) == 1:
        return operations[0]
    if not operations:
        raise OperationError("The document has no operation to run.")
    raise OperationError(
        "The document has several operations: say which to run with operationName."
    )


def check(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    """The operation's cost; raises TooComplex past a limit (of any fragment's too)."""
    measured = _Measure(document)
    cost = measured.cost(operation.selection_set)
    # Unused fragments count too: validation walks them all.
    deepest = sum((known.nested() for known in measured.known.values()), cost)
    if deepest.depth > MAX_DEPTH:
        raise TooComplex(f"The query is {deepest.depth} levels deep; the limit is {MAX_DEPTH}.")
    if cost.aliases > MAX_ALIASES:
        raise TooComplex(f"The query has {cost.aliases} aliases; the limit is {MAX_ALIASES}.")
    if cost.fields > MAX_FIELDS:
        raise TooComplex(
            f"The query selects {cost.fields} fields once its fragments are spread out; "
            f"the limit is {MAX_FIELDS}."
        )
    if deepest.fragments > MAX_FRAGMENT_DEPTH:
        raise TooComplex(
            f"The query nests fragments {deepest.fragments} levels deep (a fragment spread "
            f"or written inside another); the limit is {MAX_FRAGMENT_DEPTH}."
        )
    if (values := literal_depth(document)) > MAX_LITERAL_DEPTH:
        raise TooComplex(
            f"A value written in the query nests lists and objects {values} levels deep; "
            f"the limit is {MAX_LITERAL_DEPTH} (attributes may nest {MAX_JSON_DEPTH})."
        )
    return cost


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    return _Measure(document).cost(operation.selection_set)


class _Measure:
    """Every fragment measured once, each after the fragments it spreads; no recursion."""

    def __init__(self, document: DocumentNode) -> None:
        definitions = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
        self.fragments = {d.name.value: d for d in definitions}
        self.known: dict[str, Cost] = {}
        for name in _spread_order(self.fragments):
            self.known[name] = self.cost(self.fragments[name].selection_set)

    def cost(self, top: SelectionSetNode) -> Cost:
        """The cost of one definition's selections; its spreads' figures are known."""
        below: dict[int, Cost] = {}  # by id: each selection set once its children are known
        stack: list[tuple[SelectionSetNode, bool]] = [(top, False)]
        while stack:
            selection_set, children_known = stack.pop()
            if children_known:
                below[id(selection_set)] = self._sum(selection_set, below)
                continue
            stack.append((selection_set, True))
            stack.extend((child, False) for child in _children(selection_set))
        return below[id(top)]

    def _sum(self, selection_set: SelectionSetNode, below: dict[int, Cost]) -> Cost:
        cost = _NOTHING
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                inner = below[id(node.selection_set)] if node.selection_set else _NOTHING
                depth = inner.depth + 1 if node.selection_set else 0
                aliases, fields = inner.aliases + (node.alias is not None), inner.fields + 1
                cost += Cost(depth, aliases, fields, inner.fragments)
            elif isinstance(node, InlineFragmentNode):
                cost += below[id(node.selection_set)].nested()
            elif isinstance(node, FragmentSpreadNode):
                # Unknown, or closing a cycle: validation reports it; it costs nothing here.
                spread = self.known.get(node.name.value)
                cost += spread.nested() if spread else _NOTHING
        return cost


def _children(selection_set: SelectionSetNode) -> Iterator[SelectionSetNode]:
    for node in selection_set.selections:
        if isinstance(node, (FieldNode, InlineFragmentNode)) and node.selection_set:
            yield node.selection_set


def _spreads(definition: FragmentDefinitionNode) -> list[str]:
    """The fragments a fragment spreads, at any depth of its own selections."""
    names, stack = [], [definition.selection_set]
    while stack:
        selection_set = stack.pop()
        stack.extend(_children(selection_set))
        names += [
            n.name.value for n in selection_set.selections if isinstance(n, FragmentSpreadNode)
        ]
    return names


def _spread_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Every fragment after the fragments it spreads (a spread closing a cycle aside):
    depth first, with a stack of its own."""
    spreads = {name: _spreads(definition) for name, definition in fragments.items()}
    order: list[str] = []
    done: set[str] = set()
    for root in fragments:
        path = [] if root in done else [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            following = next(
                (s for s in pending if s in spreads and s not in done and s not in on_path), None
            )
            if following is None:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(name)
            else:
                path.append((following, iter(spreads[following])))
                on_path.add(following)
    return order


def literal_depth(document: DocumentNode) -> int:
    """How deep the lists and objects written in the document's operations and fragments
    nest (in arguments, directives and variables' defaults). No recursion."""
    values: list[tuple[Any, int]] = []
    nodes: list[Any] = [d for d in document.definitions if isinstance(d, ExecutableDefinitionNode)]
    while nodes:
        node = nodes.pop()
        values += [(argument.value, 0) for argument in getattr(node, "arguments", None) or ()]
        if (default := getattr(node, "default_value", None)) is not None:
            values.append((default, 0))
        nodes += getattr(node, "directives", None) or ()
        nodes += getattr(node, "variable_definitions", None) or ()
        if (selection_set := getattr(node, "selection_set", None)) is not None:
            nodes += selection_set.selections
    deepest = 0
    while values:
        value, above = values.pop()
        if isinstance(value, ListValueNode):
            items = list(value.values)
        elif isinstance(value, ObjectValueNode):
            items = [field.value for field in value.fields]
        else:
            continue
        deepest = max(deepest, above + 1)
        values += [(item, above + 1) for item in items]
    return deepest
