"""What text and JSON the store accepts."""

from __future__ import annotations

import json

import pytest

from substore.text import MAX_JSON_DEPTH, json_problem, text_problem


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
