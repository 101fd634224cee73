"""Validation: off the event loop, cached by document, plus the rule for string literals.

graphql-core's OverlappingFieldsCanBeMerged is quadratic in the fields of a selection
set: a few hundred copies of one field take a second of CPU even within the limits.
A document seen before is answered from the cache on the loop; a new one is validated
in a thread, so the loop keeps serving other requests (the GIL is handed back every
few milliseconds) while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from graphql import (
    ArgumentNode,
    GraphQLError,
    StringValueNode,
    ValidationRule,
    get_named_type,
)
from graphql.language.visitor import SKIP
from strawberry.extensions import SchemaExtension

from substore.graphql.documents import DocumentCache
from substore.text import text_problem

# Input types whose values are subscriber rows: their fields are checked by the services
# and refused as that row's userErrors, so that the other rows are still stored.
ROW_INPUTS = frozenset({"SubscriberInput"})


class StorableStrings(ValidationRule):
    """String literals outside subscriber rows must be text the store can hold."""

    def enter_argument(self, node: ArgumentNode, *_args: object) -> object:
        argument = self.context.get_argument()
        if argument is not None and get_named_type(argument.type).name in ROW_INPUTS:
            return SKIP
        return None

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if problem := text_problem(node.value):
            self.report_error(GraphQLError(f"A string argument {problem}.", node))


_cache: DocumentCache[list[GraphQLError]] = DocumentCache()


class ThreadedValidation(SchemaExtension):
    """Replaces strawberry's validation step (and its ValidationCache)."""

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        query, rules = context.query, tuple(context.validation_rules)
        assert query is not None  # every execution here is of a query's text (execution.py)
        errors = _cache.get(query, rules)
        if errors is None:
            # strawberry's own step (it adds its oneOf and Maybe rules); imported here
            # because strawberry.schema imports the extensions.
            from strawberry.schema.schema import validate_document

            schema, document = context.schema._schema, context.graphql_document
            assert document is not None  # the parse step before this one set it
            errors = await asyncio.to_thread(validate_document, schema, document, rules)
            _cache.put(query, rules, errors)
        context.pre_execution_errors = errors
        yield
