"""What text and JSON the store accepts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from substore.text import (
    MAX_JSON_DEPTH,
    json_nesting,
    json_problem,
    nested_deeper,
    shallow_json,
    text_problem,
)


@pytest.mark.parametrize("value", ["", "Ada", "Zoë", "名前", "😀", "tab\tnew\nline"])
def test_ordinary_text_is_fine(value):
    assert text_problem(value) is None


def test_nul_and_lone_surrogates_are_named():
    assert "NUL" in text_problem("a\x00b")
    assert "surrogate" in text_problem(json.loads('"x\\ud800"'))
    assert text_problem(json.loads('"\\ud83d\\ude00"')) is None  # a pair is one emoji


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        ({"a": [1, {"b": float("nan")}]}, ["a", "1", "b"], "nan"),
        ({"a": float("inf")}, ["a"], "inf"),
        ({"k\x00": 1}, ["k\x00"], "key"),
        ({"a": ["ok", "x\x00"]}, ["a", "1"], "NUL"),
    ],
)
def test_json_problems_say_where(value, path, fragment):
    where, problem = json_problem(value)
    assert where == path
    assert fragment in problem


def test_json_depth_is_bounded_without_recursion():
    deep: dict = {}
    cursor = deep
    for _ in range(100_000):  # far past Python's recursion limit
        cursor["a"] = {}
        cursor = cursor["a"]
    where, problem = json_problem(deep)
    assert len(where) == MAX_JSON_DEPTH
    assert "nested" in problem
    assert json_problem({"plan": "gold", "tags": ["a", 1, 2.5, None, True]}) is None


# --- JSON text measured before it is decoded ------------------------------------------

# Strings full of what a scanner could take for structure: brackets, quotes, backslashes.
_tricky = st.text(alphabet='[]{}"\\,:ab\u00e9\U0001f600', max_size=8)
_values = st.recursive(
    st.none() | st.integers() | _tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky, inner, max_size=3),
    max_leaves=30,
)


def nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


def emptied(value, depth: int):
    """`value` with its lists and objects at `depth` emptied (the top is depth 1)."""
    if not isinstance(value, (dict, list)):
        return value
    if depth == 1:
        return type(value)()
    if isinstance(value, dict):
        return {key: emptied(item, depth - 1) for key, item in value.items()}
    return [emptied(item, depth - 1) for item in value]


@given(_values, st.booleans(), st.integers(1, 6))
def test_json_text_is_measured_and_cut_as_a_decoder_reads_it(value, ascii_only, depth):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert json_nesting(raw) == nesting(value)
    assert nested_deeper(raw, depth) == (nesting(value) > depth)
    assert json.loads(shallow_json(raw, depth)) == emptied(value, depth)


def test_escapes_next_to_quotes_are_read_as_json_reads_them():
    # An escaped backslash before a closing quote, an escaped quote, brackets in keys.
    raw = rb'{"a\\": [[1]], "b\"[[[": {"c": "\\\\\"}}}"}}'
    assert json_nesting(raw) == nesting(json.loads(raw)) == 3


def test_text_nested_a_million_levels_is_measured_and_cut_without_recursion():
    raw = b'{"rows": [{"attributes": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}]}"
    assert json_nesting(raw) == 1_000_003
    assert nested_deeper(raw.decode(), MAX_JSON_DEPTH)
    # Three levels above the attributes, and one past their limit: still too deep.
    cut = json.loads(shallow_json(raw, 3 + MAX_JSON_DEPTH + 1))
    assert "nested more than" in json_problem(cut["rows"][0]["attributes"])[1]
    within = json.loads(shallow_json(raw, 3 + MAX_JSON_DEPTH))
    assert json_problem(within["rows"][0]["attributes"]) is None


def test_text_that_ends_inside_an_emptied_container_stays_invalid():
    with pytest.raises(ValueError):
        json.loads(shallow_json(b"[" * 100, 5))
    assert not nested_deeper('{"a": "[[[[[[[[[[[[[[["}', 2)  # brackets in a string
