"""A plan's root field arguments as strawberry's convert_arguments makes them, faster.

strawberry returns a scalar's or an enum's value as graphql-core coerced it, after
walking its type each time; here each field's arguments are sorted once into those
(copied) and the rest (input objects, lists, GlobalID, Maybe), which strawberry converts.
"""

from __future__ import annotations

from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.schema.compat import is_scalar
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryContainer, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

# An argument: its Python and GraphQL names, and the type strawberry converts it to
# (None where strawberry passes the value on unchanged).
Argument = tuple[str, str, Any]


class RootArguments:
    def __init__(self, schema: Any) -> None:
        self.schema = schema
        # Keyed by a field's own argument list, which lives as long as the schema.
        self._fields: dict[int, tuple[Argument, ...]] = {}

    def convert(self, raw: dict[str, Any], arguments: list[Any]) -> dict[str, Any]:
        """The resolver's keyword arguments from graphql-core's argument values."""
        found = self._fields.get(id(arguments))
        if found is None:
            found = self._fields[id(arguments)] = self._sorted(arguments)
        registry, config = self.schema.schema_converter.scalar_registry, self.schema.config
        kwargs = {}
        for python, name, kind in found:
            if name in raw:
                value = raw[name]
                if kind is not None:
                    value = convert_argument(value, kind, registry, config, path=(name,))
                kwargs[python] = value
        return kwargs

    def _sorted(self, arguments: list[Any]) -> tuple[Argument, ...]:
        names = self.schema.config.name_converter
        return tuple(
            (a.python_name, names.from_argument(a), self._conversion(a.type)) for a in arguments
        )

    def _conversion(self, kind: Any) -> Any:
        """None for a scalar or an enum, optional or not; the type itself otherwise."""
        leaf = kind.of_type if type(kind) is StrawberryOptional else kind  # not a Maybe
        if leaf is GlobalID or isinstance(leaf, StrawberryContainer):
            return kind
        enum = has_enum_definition(leaf) or isinstance(leaf, StrawberryEnumDefinition)
        registry = self.schema.schema_converter.scalar_registry
        return None if enum or is_scalar(leaf, registry) else kind
