"""Depth limit for introspection, which strawberry's QueryDepthLimiter does not count.

QueryDepthLimiter skips every field starting with "__" together with its subtree, so
`{ __schema { types { ofType { ofType ... } } } }` could nest without bound. This rule
measures introspection subtrees the same way and refuses them past the same depth.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    ValidationContext,
    ValidationRule,
)
from graphql.language.visitor import SKIP

_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def introspection_depth_rule(max_depth: int) -> type[ValidationRule]:
    class IntrospectionDepth(ValidationRule):
        def enter_field(self, node: FieldNode, *_args: object) -> object:
            if node.name.value not in _INTROSPECTION_ROOTS:
                return None
            if _depth(node, self.context, max_depth + 1, frozenset()) > max_depth:
                self.report_error(
                    GraphQLError(
                        f"introspection exceeds maximum operation depth of {max_depth}", [node]
                    )
                )
            return SKIP

    return IntrospectionDepth


def _depth(node: Node, context: ValidationContext, budget: int, seen: frozenset[str]) -> int:
    """Levels of fields below and including `node`, counted no further than `budget`."""
    if budget <= 0:
        return 0
    if isinstance(node, FieldNode):
        if not node.selection_set:
            return 0
        return 1 + _deepest(node.selection_set.selections, context, budget - 1, seen)
    if isinstance(node, InlineFragmentNode):
        return _deepest(node.selection_set.selections, context, budget, seen)
    if isinstance(node, FragmentSpreadNode):
        fragment = context.get_fragment(node.name.value)
        if fragment is None or node.name.value in seen:
            return 0
        seen = seen | {node.name.value}
        return _deepest(fragment.selection_set.selections, context, budget, seen)
    return 0


def _deepest(selections, context: ValidationContext, budget: int, seen: frozenset[str]) -> int:
    return max((_depth(s, context, budget, seen) for s in selections), default=0)
