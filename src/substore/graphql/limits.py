"""How much a document may ask for, measured in time linear in its size.

strawberry's QueryDepthLimiter and MaxAliasesLimiter walk every fragment spread anew,
so fragments that each spread the previous one twice cost 2^n (a 1 KB document froze
the server), and the depth limiter skipped inline fragments and introspection. Here
each fragment is measured once and its figures reused wherever it is spread; the
figures are plain sums and maxima, so an exponential expansion is refused by its
size without ever being walked.

The operation is also chosen here, as the GraphQL spec says (an operationName that
names one, or the only operation of the document), so that what is checked, what the
HTTP method allows and what runs are the same operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_DEPTH = 15  # GraphiQL's own introspection query is 13 levels deep
MAX_ALIASES = 30
MAX_FIELDS = 500  # with every fragment spread out; GraphiQL's introspection has 220
MAX_TOKENS = 20_000  # a 1000-row import with every field set stays well under this


class OperationError(ValueError):
    """The document has no operation to run under the given name."""


class TooComplex(ValueError):
    """The operation asks for more than the limits allow."""


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int  # levels of nested fields
    aliases: int
    fields: int  # with every fragment spread out as many times as it is spread

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            max(self.depth, other.depth), self.aliases + other.aliases, self.fields + other.fields
        )


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
    """The operation's cost; raises TooComplex past a limit."""
    cost = measure(document, operation)
    if cost.depth > MAX_DEPTH:
        raise TooComplex(f"The query is {cost.depth} levels deep; the limit is {MAX_DEPTH}.")
    if cost.aliases > MAX_ALIASES:
        raise TooComplex(f"The query has {cost.aliases} aliases; the limit is {MAX_ALIASES}.")
    if cost.fields > MAX_FIELDS:
        raise TooComplex(
            f"The query selects {cost.fields} fields once its fragments are spread out; "
            f"the limit is {MAX_FIELDS}."
        )
    return cost


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _Measure(fragments).selections(operation.selection_set)


class _Measure:
    """Walks each selection set once; fragment figures are memoised by name."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[str, Cost] = {}
        self.open: set[str] = set()  # a cycle is validation's to report; it costs nothing here

    def selections(self, selection_set: SelectionSetNode | None) -> Cost:
        cost = _NOTHING
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                below = self.selections(node.selection_set)
                depth = below.depth + 1 if node.selection_set else 0
                cost += Cost(depth, below.aliases + (node.alias is not None), below.fields + 1)
            elif isinstance(node, InlineFragmentNode):
                cost += self.selections(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                cost += self.fragment(node.name.value)
        return cost

    def fragment(self, name: str) -> Cost:
        if name in self.known:
            return self.known[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return _NOTHING
        self.open.add(name)
        self.known[name] = self.selections(definition.selection_set)
        self.open.discard(name)
        return self.known[name]
