"""Which strings and JSON values can be stored and answered. Imports nothing of the package.

PostgreSQL's text and jsonb cannot hold NUL, UTF-8 cannot encode a lone surrogate
(JSON's "\\ud800" decodes to one), and JSON has no NaN or Infinity although Python's
decoder accepts them. Each of these used to reach the database and come back as a 500.

JSON text is measured before it is decoded: json.loads, pickle and json.dumps recurse
once a level, so a value nested a few hundred levels deep was a RecursionError (a 500)
wherever it went, at a depth that depended on the interpreter's recursion limit.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_JSON_DEPTH = 32  # levels of objects and arrays inside one value (attributes, a variable)

_OPENERS = frozenset(b"[{")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
# A string (possessive: an unterminated one cannot backtrack), or a bracket.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*+"|[\[\]{}]', re.DOTALL)


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
                return path, f"is nested more than {max_depth} levels deep: flatten it"
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


def nested_deeper(raw: bytes | str, max_depth: int) -> bool:
    """Whether the arrays and objects of JSON text (a str, or UTF-8) nest more than
    `max_depth` levels: to ask before json.loads, which recurses once a level."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= max_depth:  # nearly every line of a file
        return False
    return json_nesting(raw) > max_depth


def json_nesting(raw: bytes) -> int:
    """How many levels the arrays and objects of UTF-8 JSON text nest, without decoding it.

    Exact for valid JSON; of invalid JSON, at least as deep as a decoder gets before it
    fails (every step reads the text left to right, as a decoder does). Bytes-level
    operations: a 200 KB import body is measured in a quarter of its json.loads time.
    """
    if b"\\" in raw:  # escapes first (\\ before \"), so every quote left is a string's end
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes and brackets only; then the strings without brackets in them (nearly all).
    skeleton = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])  # what is between strings
    depth = deepest = 0
    for byte in skeleton:
        if byte in _OPENERS:
            depth += 1
            if depth > deepest:  # not max(): a call per bracket doubled the time
                deepest = depth
        else:
            depth -= 1
    return deepest


def shallow_json(raw: bytes, max_depth: int) -> bytes:
    """UTF-8 JSON text with every array and object at depth `max_depth` emptied.

    Decoding the result recurses at most `max_depth` levels, and a value nested too deep
    is still too deep (its levels past the limit are read as empty, which a check of the
    limit refuses as it would have refused them). Text inside the emptied containers is
    not read, nor checked. A Python loop over the brackets: for text that needs it only.
    """
    kept, start, depth = [], 0, 0
    for token in _TOKENS.finditer(raw):
        byte = raw[token.start()]
        if byte in _OPENERS:
            depth += 1
            if depth == max_depth:
                kept.append(raw[start : token.end()])
        elif byte != ord('"'):
            if depth == max_depth:
                start = token.start()
            depth -= 1
    if depth < max_depth:  # else the text ends inside an emptied container: invalid JSON
        kept.append(raw[start:])
    return b"".join(kept)
