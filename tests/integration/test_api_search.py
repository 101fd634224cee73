"""The subscribers search filter, over HTTP, and the indexes that serve it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from tests.support import new_database

from substore import db, repository
from substore.repository import SubscriberFilter
from substore.search import parse_search

CREATE = """mutation($input: SubscriberInput!) {
  createSubscriber(input: $input) { subscriber { id } userErrors { code } }
}"""
SEARCH = """query($q: String, $first: Int, $after: String) {
  subscribers(first: $first, after: $after, filter: {search: $q}) {
    totalCount edges { node { e164Number } } pageInfo { hasNextPage endCursor }
  }
}"""

PEOPLE = [
    dict(e164Number="+14155550100", firstName="Jane", lastName="Smith", email="jane@example.com"),
    dict(e164Number="+14155550199", firstName="John", lastName="Smithers", email="js@corp.example"),
    dict(e164Number="+442079460000", firstName="Ana", lastName="Müller", email="ANA@EXAMPLE.ORG"),
    dict(e164Number="+390612345678", firstName="Luca", lastName="Rossi"),  # stored as 0612...
    dict(e164Number="+14155559999"),  # no name, no email
]


async def create(api, **fields) -> dict:
    return (await api.data(CREATE, input=fields))["createSubscriber"]


@pytest.fixture
async def people(api):
    for person in PEOPLE:
        assert (await create(api, **person))["subscriber"]


async def found(api, q: str) -> list[str]:
    body = (await api.data(SEARCH, q=q, first=50))["subscribers"]
    numbers = [edge["node"]["e164Number"] for edge in body["edges"]]
    assert body["totalCount"] == len(numbers)
    return numbers


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("smi", ["+14155550100", "+14155550199"]),  # last name, any case below
        ("SMITHE", ["+14155550199"]),
        ("jane", ["+14155550100"]),  # first name and email: found once
        ("jane smi", ["+14155550100"]),  # every word must begin some field
        ("js@corp", ["+14155550199"]),
        ("ana@example.o", ["+442079460000"]),
        ("Mü", ["+442079460000"]),
        ("mith", []),  # a prefix, not a substring
        ("example", []),
    ],
)
async def test_words_begin_a_name_or_the_email(api, people, q, expected):
    assert await found(api, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("415 555", ["+14155550100", "+14155550199", "+14155559999"]),
        ("(415) 555-01", ["+14155550100", "+14155550199"]),
        ("+1 415-555-0199", ["+14155550199"]),
        ("14155550100", ["+14155550100"]),  # an E.164 number without its +
        ("020 7946", ["+442079460000"]),  # the UK trunk 0 is not stored
        ("+44 20", ["+442079460000"]),
        ("0044 207", ["+442079460000"]),
        ("06 1234", ["+390612345678"]),  # the Italian 0 is stored
        ("+39 0612", ["+390612345678"]),
        ("+49", []),
        ("999", []),
    ],
)
async def test_digits_match_the_number_in_any_spelling(api, people, q, expected):
    assert await found(api, q) == expected


async def test_search_pages_like_any_filter(api, people):
    first = (await api.data(SEARCH, q="415", first=2))["subscribers"]
    assert first["pageInfo"]["hasNextPage"] and first["totalCount"] == 3
    rest = await api.data(SEARCH, q="415", first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["e164Number"] for e in rest["subscribers"]["edges"]] == ["+14155559999"]


async def test_blank_search_is_no_search(api, people):
    assert len(await found(api, "  ")) == len(PEOPLE)


async def test_never_finds_another_accounts_subscribers(api, other_api, people):
    await create(other_api, e164Number="+14155550142", firstName="Jane")
    assert await found(other_api, "jane") == ["+14155550142"]
    assert await found(other_api, "415") == ["+14155550142"]
    assert "+14155550142" not in await found(api, "415")


async def test_a_search_too_long_is_a_specific_error(api):
    body = await api.gql(SEARCH, q="x" * 101)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "PARAMETER_TOO_LONG"
    assert error["extensions"]["field"] == ["filter", "search"]
    assert body["data"] is None


FILL = """INSERT INTO subscribers (account_id, e164_number, number, raw_number, country_code,
  number_type, country_code_source, normalizer_version, first_name, last_name, email)
SELECT a.id, '+1201' || lpad(n::text, 7, '0'), '201' || lpad(n::text, 7, '0'), 'x', 1,
  'MOBILE', 'FROM_NUMBER_WITH_PLUS_SIGN', 'test', md5(n::text), md5(n::text || 'l'),
  md5(n::text || 'e') || '@example.com'
FROM accounts a, generate_series(1, 20000) AS n"""


@pytest.fixture(scope="module")
async def populated(server_url):
    """Two accounts of 20,000 rows in a database of their own (so that the planner's
    statistics are theirs alone), stored before the search migration ran."""
    async with new_database(server_url, "substore_search") as url:
        engine = db.create_engine(url, pool_size=1)
        await db.migrate(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO accounts (name, default_region) VALUES ('a', 'US'), ('b', 'US')"
                )
            )
            await conn.execute(sa.text(FILL))
        await db.migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE subscribers"))
        yield engine
        await engine.dispose()


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("c4ca", 1),
        ("C4CA4238A0B923820DCC509A6F75849B", 1),
        ("201 000 123", 10),
        ("+1 (201) 000-123", 10),
        ("0044 79", 0),
    ],
)
async def test_the_search_indexes_serve_it(populated, q, found):
    """Rows stored before the migration are found; the plan reads the search indexes, within
    the account."""
    statement = repository.select_page(1, SubscriberFilter(search=parse_search(q)), 51)
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with populated.connect() as conn:
        assert len((await conn.exec_driver_sql(str(sql))).all()) == found
        plan = "\n".join(row[0] for row in await conn.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_subscribers_search_" in plan, plan
    assert "Index Cond: ((account_id = 1)" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("q", ["jane\x00", "\x00"])
async def test_unstorable_text_is_refused_with_the_variable_named(api, q):
    body = await api.gql(SEARCH, status=400, q=q)
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "variables.q" in body["errors"][0]["message"]


@pytest.mark.parametrize("q", ["a\U0010ffff", "%", "_", "\\", "'; --", "\u0130", "+", "()"])
async def test_odd_searches_find_nothing_and_fail_nothing(api, people, q):
    assert await found(api, q) == []
