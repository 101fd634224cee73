"""Complexity limits: linear in the document, fragments and inline fragments counted."""

from __future__ import annotations

import pytest
from graphql import get_introspection_query, parse

from substore.graphql import limits


def bomb(levels: int) -> str:
    """Each fragment spreads the previous one twice: 2^levels fields once spread out."""
    fragments = ["fragment F0 on Account { id }"] + [
        f"fragment F{i} on Account {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    return f"{{ account {{ ...F{levels} }} }} " + " ".join(fragments)


def cost(query: str, name: str | None = None) -> limits.Cost:
    document = parse(query)
    return limits.measure(document, limits.select_operation(document, name))


def test_a_fragment_bomb_is_measured_without_being_walked():
    # 2^60 fields: walking them would never end, so finishing at all proves the point.
    assert cost(bomb(60)).fields == 2**60 + 1
    with pytest.raises(limits.TooComplex, match="fields"):
        document = parse(bomb(60))
        limits.check(document, limits.select_operation(document, None))


def test_depth_counts_fields_inside_inline_fragments_and_named_fragments():
    nested = "id"
    for _ in range(20):
        nested = f"... on Account {{ account: __typename x: account {{ {nested} }} }}"
    assert cost(f"{{ account {{ {nested} }} }}").depth == 21
    spread = "{ account { ...A } } fragment A on Account { x: account { ...B } } "
    spread += "fragment B on Account { y: account { id } }"
    assert cost(spread) == limits.Cost(depth=3, aliases=2, fields=4, fragments=2)


def test_introspection_counts_and_graphiql_fits():
    graphiql = cost(get_introspection_query(descriptions=True))
    assert graphiql.depth <= limits.MAX_DEPTH
    assert graphiql.fields <= limits.MAX_FIELDS
    assert graphiql.fragments <= limits.MAX_FRAGMENT_DEPTH
    deep = "name"
    for _ in range(40):
        deep = f"ofType {{ {deep} }}"
    assert cost(f"{{ __schema {{ types {{ {deep} }} }} }}").depth > limits.MAX_DEPTH


def test_fragment_cycles_cost_nothing_and_are_left_to_validation():
    query = "{ account { ...A } } fragment A on Account { ...B } fragment B on Account { ...A }"
    assert cost(query).fields == 1


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("query a { x } mutation b { y }", "b", "b"),
        ("query a { x }", None, "a"),
        ("{ x }", None, None),
    ],
)
def test_the_operation_is_chosen_as_the_spec_says(query, name, expected):
    document = parse(query)
    operation = limits.select_operation(document, name)
    assert (operation.name.value if operation.name else None) == expected


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("mutation b { y } query a { x }", None, "several operations"),
        ("query a { x }", "zzz", "no operation named 'zzz'"),
        ("fragment F on Account { id }", None, "no operation"),
    ],
)
def test_no_operation_is_guessed(query, name, message):
    with pytest.raises(limits.OperationError, match=message):
        limits.select_operation(parse(query), name)


def chain(length: int, used: bool = True) -> str:
    """`length` fragments, each spreading the next."""
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length - 1))
    last = f"fragment F{length - 1} on Query {{ __typename }}"
    return f"{{ {'...F0' if used else '__typename'} }} {fragments} {last}"


def check(query: str) -> limits.Cost:
    document = parse(query)
    return limits.check(document, limits.select_operation(document, None))


@pytest.mark.parametrize("length", [limits.MAX_FRAGMENT_DEPTH + 1, 500, 5000])
@pytest.mark.parametrize("used", [True, False])
def test_a_chain_of_fragments_is_measured_without_recursion_and_refused(length, used):
    with pytest.raises(limits.TooComplex, match=f"fragments {length} levels deep"):
        check(chain(length, used))  # unused: validation would walk them all the same


def test_fragments_inside_fragments_count_named_or_inline():
    assert check(chain(limits.MAX_FRAGMENT_DEPTH)).fragments == limits.MAX_FRAGMENT_DEPTH
    inline = "__typename"
    for _ in range(limits.MAX_FRAGMENT_DEPTH):
        inline = f"... on Query {{ {inline} }}"
    assert check(f"{{ {inline} }}").fragments == limits.MAX_FRAGMENT_DEPTH
    with pytest.raises(limits.TooComplex, match="fragments"):
        check(f"{{ ... on Query {{ {inline} }} }}")


@pytest.mark.parametrize(
    ("query", "depth"),
    [
        ('{ a(x: "s", y: 1) }', 0),
        ("{ a(x: [[1], []], y: {b: {c: [2]}}) }", 3),
        ("{ a @include(if: [[[true]]]) }", 3),
        ("query($v: Int = [[[[1]]]]) { a }", 4),
        ("{ ...F } fragment F on Query { b { c(x: [{d: [[1]]}]) } }", 4),
        ("{ ... on Query @skip(if: {a: [[1]]}) { a } }", 3),
    ],
)
def test_literal_depth_finds_values_wherever_they_are_written(query, depth):
    assert limits.literal_depth(parse(query)) == depth


def test_a_literal_past_the_limit_is_too_complex():
    deepest = "{a: " * (limits.MAX_LITERAL_DEPTH - 1) + "1" + "}" * (limits.MAX_LITERAL_DEPTH - 1)
    check(f"{{ a(x: [{deepest}]) }}")
    with pytest.raises(
        limits.TooComplex, match=f"objects {limits.MAX_LITERAL_DEPTH + 1} levels deep"
    ):
        check(f"{{ a(x: [[{deepest}]]) }}")
