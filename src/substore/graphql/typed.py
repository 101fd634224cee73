"""strawberry's field, mutation and subscription decorators, with types.

Given options only, strawberry's own return Any, and mypy takes every method they
decorate for untyped. These return strawberry's decorator as it is; their type keeps the
method's own signature, which is what the class holds once @strawberry.type has run
(schema.py calls Query.account itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import strawberry
from strawberry.permission import BasePermission

F = TypeVar("F", bound=Callable[..., Any])


def field(*, description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.field(description=description))


def mutation(
    *, description: str, permission_classes: list[type[BasePermission]] | None = None
) -> Callable[[F], F]:
    decorator = strawberry.mutation(description=description, permission_classes=permission_classes)
    return cast(Callable[[F], F], decorator)


def subscription(*, description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.subscription(description=description))
