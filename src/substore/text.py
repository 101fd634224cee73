"""Which strings and JSON values can be stored and answered. Imports nothing of the package.

PostgreSQL's text and jsonb cannot hold NUL, UTF-8 cannot encode a lone surrogate
(JSON's "\\ud800" decodes to one), and JSON has no NaN or Infinity although Python's
decoder accepts them. Each of these used to reach the database and come back as a 500.
"""

from __future__ import annotations

import math
from typing import Any

MAX_JSON_DEPTH = 32  # levels of objects and arrays inside one value (attributes)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "contains a NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (an unpaired \\ud800-\\udfff escape)"
    return None


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> tuple[list[str], str] | None:
    """Where and why `value` cannot be stored as JSON, or None. Iterative: no recursion."""
    stack: list[tuple[list[str], Any, int]] = [([], value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                return path, f"is nested more than {max_depth} levels deep"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and (problem := text_problem(key)):
                    return [*path, key], f"has a key that {problem}"
                stack.append(([*path, str(key)], child, depth + 1))
        elif isinstance(item, str):
            if problem := text_problem(item):
                return path, problem
        elif isinstance(item, float) and not math.isfinite(item):
            return path, f"is {item}, which JSON cannot hold"
    return None
