"""Every operation of the contract, over HTTP against create_app on a real PostgreSQL."""

from __future__ import annotations

SUBSCRIBER = "id e164Number number rawNumber countryCode regionCode numberType countryCodeSource firstName lastName email attributes status createdAt updatedAt"
CREATE = f"""
mutation($input: SubscriberInput!) {{
  createSubscriber(input: $input) {{
    created subscriber {{ {SUBSCRIBER} }}
    userErrors {{ code field message reason }} warnings {{ code field message reason }}
  }}
}}"""


async def create(api, **fields) -> dict:
    return (await api.data(CREATE, input=fields))["createSubscriber"]


async def test_seed_example_integer_number(api):
    body = await api.data(
        "mutation { createSubscriber(input: {number: 18002223333}) { subscriber { number e164Number rawNumber } } }"
    )
    assert body["createSubscriber"]["subscriber"] == {
        "number": "8002223333",
        "e164Number": "+18002223333",
        "rawNumber": "18002223333",
    }


async def test_integer_variable_beyond_32_bits(api):
    result = await create(api, number=14155550123)
    assert result["subscriber"]["e164Number"] == "+14155550123"


async def test_e164_number_takes_precedence_with_a_warning(api):
    result = await create(api, number="(201) 555-0123", e164Number="+447400123456")
    assert result["subscriber"]["e164Number"] == "+447400123456"
    assert result["subscriber"]["rawNumber"] == "(201) 555-0123"
    assert [(w["reason"], w["field"]) for w in result["warnings"]] == [
        ("NUMBER_MISMATCH", ["input", "number"])
    ]


async def test_string_keeps_leading_zero_integer_loses_it(api, engine, account):
    async with engine.begin() as conn:
        from substore import services

        await services.update_account(conn, account, services.AccountChanges("IT"))
    text = await create(api, number="0212345678")
    assert text["subscriber"]["e164Number"] == "+390212345678"
    assert text["subscriber"]["number"] == "0212345678"
    integer = await create(api, number=212345678)
    assert integer["subscriber"] is None
    [error] = integer["userErrors"]
    assert error["code"] == "INVALID_PHONENUMBER_FORMAT"
    assert "send the number as a string" in error["message"]


async def test_existing_number_in_another_format_updates(api):
    first = await create(api, number="(201) 555-0142", firstName="Ada")
    again = await create(api, number="+1 201-555-0142", lastName="Lovelace")
    assert (first["created"], again["created"]) == (True, False)
    assert again["subscriber"]["id"] == first["subscriber"]["id"]
    assert again["subscriber"]["firstName"] == "Ada"
    assert again["subscriber"]["lastName"] == "Lovelace"
    count = await api.data("{ account { subscriberCount } }")
    assert count["account"]["subscriberCount"] == 1


async def test_explicit_null_clears_omitted_keeps(api):
    await create(api, number="2015550143", firstName="Ada", email="ada@example.com")
    result = await create(api, number="2015550143", email=None)
    assert result["subscriber"]["firstName"] == "Ada"
    assert result["subscriber"]["email"] is None


async def test_subscriber_by_number_in_any_format_and_by_id(api):
    made = (await create(api, number="2015550144"))["subscriber"]
    for written in ['"(201) 555-0144"', "12015550144", '"+12015550144"']:
        found = await api.data(f"{{ subscriber(number: {written}) {{ id }} }}")
        assert found["subscriber"] == {"id": made["id"]}
    by_id = await api.data("query($id: ID!) { subscriber(id: $id) { e164Number } }", id=made["id"])
    assert by_id["subscriber"]["e164Number"] == "+12015550144"
    node = await api.data(
        "query($id: ID!) { node(id: $id) { __typename ... on Subscriber { e164Number } } }",
        id=made["id"],
    )
    assert node["node"] == {"__typename": "Subscriber", "e164Number": "+12015550144"}
    missing = await api.data('{ subscriber(number: "2015550999") { id } }')
    assert missing["subscriber"] is None


async def test_subscribers_pages_with_cursors_and_total(api):
    for n in range(7):
        await create(api, number=f"20155502{n:02d}")
    query = """query($after: String) { subscribers(first: 3, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { e164Number } } } }"""
    seen, after, pages = [], None, 0
    while True:
        page = (await api.data(query, after=after))["subscribers"]
        assert page["totalCount"] == 7
        seen += [edge["node"]["e164Number"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"+120155502{n:02d}" for n in range(7)]


async def test_subscribers_filters(api):
    await create(api, number="2015550150")
    await create(api, e164Number="+447400123456", status="UNSUBSCRIBED")
    query = "query($f: SubscriberFilter) { subscribers(filter: $f) { totalCount edges { node { e164Number } } } }"
    gb = (await api.data(query, f={"regionCode": "gb"}))["subscribers"]
    assert [e["node"]["e164Number"] for e in gb["edges"]] == ["+447400123456"]
    assert (await api.data(query, f={"status": "UNSUBSCRIBED"}))["subscribers"]["totalCount"] == 1
    assert (await api.data(query, f={"countryCode": 1}))["subscribers"]["totalCount"] == 1
    assert (await api.data(query, f={"numberType": "MOBILE"}))["subscribers"]["totalCount"] == 1
    future = {"createdAfter": "2999-01-01T00:00:00+00:00"}
    assert (await api.data(query, f=future))["subscribers"]["totalCount"] == 0


async def test_normalize_phone_number_stores_nothing(api):
    check = await api.data(
        '{ normalizePhoneNumber(number: "020 7946 0018", defaultRegion: "GB") { valid e164Number countryCodeSource } }'
    )
    assert check["normalizePhoneNumber"] == {
        "valid": True,
        "e164Number": "+442079460018",
        "countryCodeSource": "DEFAULT_REGION",
    }
    bad = await api.data('{ normalizePhoneNumber(number: "911") { valid error { code reason } } }')
    assert bad["normalizePhoneNumber"] == {
        "valid": False,
        "error": {"code": "INVALID_PHONENUMBER_FORMAT", "reason": "SHORT_CODE"},
    }
    assert (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"] == 0


async def test_update_subscriber_by_id(api):
    made = (await create(api, number="2015550160"))["subscriber"]
    query = """mutation($id: ID!, $input: SubscriberInput!) { updateSubscriber(id: $id, input: $input) {
        subscriber { e164Number firstName } userErrors { code field } } }"""
    moved = await api.data(query, id=made["id"], input={"number": "2015550161", "firstName": "Bo"})
    assert moved["updateSubscriber"]["subscriber"] == {
        "e164Number": "+12015550161",
        "firstName": "Bo",
    }


async def test_delete_subscriber(api):
    made = (await create(api, number="2015550170"))["subscriber"]
    query = "mutation($id: ID!) { deleteSubscriber(id: $id) { deletedSubscriberId userErrors { code } } }"
    first = await api.data(query, id=made["id"])
    assert first["deleteSubscriber"] == {"deletedSubscriberId": made["id"], "userErrors": []}
    again = await api.data(query, id=made["id"])
    assert again["deleteSubscriber"]["userErrors"] == [{"code": "RECORD_NOT_FOUND"}]


async def test_account_and_update_account(api):
    account = await api.data("{ account { id name defaultRegion subscriberCount } }")
    assert account["account"]["defaultRegion"] == "US"
    query = "mutation($r: String!) { updateAccount(input: {defaultRegion: $r}) { account { defaultRegion } userErrors { code field } } }"
    assert (await api.data(query, r="de"))["updateAccount"]["account"] == {"defaultRegion": "DE"}
    # The new home region now reads national numbers.
    result = await create(api, number="030 123456")
    assert result["subscriber"]["e164Number"] == "+4930123456"
    node = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Account { defaultRegion } } }",
        id=account["account"]["id"],
    )
    assert node["node"] == {"defaultRegion": "DE"}


async def test_typenames(api):
    body = await api.data("{ account { __typename } subscribers { __typename } }")
    assert body == {
        "account": {"__typename": "Account"},
        "subscribers": {"__typename": "SubscriberConnection"},
    }


# --- a sync by change time ------------------------------------------------------------

SYNC = """query($after: String, $since: DateTime) {
  subscribers(first: 2, after: $after, orderBy: UPDATED_AT, filter: {updatedAfter: $since}) {
    pageInfo { hasNextPage endCursor } edges { node { e164Number updatedAt } } } }"""


async def _rename(api, number: str, name: str) -> None:
    mutation = """mutation($n: PhoneNumber, $name: String) {
      createSubscriber(input: {number: $n, firstName: $name}) { created } }"""
    await api.data(mutation, n=number, name=name)


async def test_a_sync_by_change_time_sees_every_change_once(api):
    from datetime import UTC, datetime

    since = datetime.now(UTC).isoformat()
    numbers = [f"+1201555{n:04d}" for n in range(600, 605)]
    for number in numbers:
        await _rename(api, number, "v1")
    seen, after = [], None
    while True:
        page = (await api.data(SYNC, after=after, since=since))["subscribers"]
        seen += [e["node"]["e164Number"] for e in page["edges"]]
        if len(seen) == 2:  # while the sync pages: a row it saw, and one it has not
            await _rename(api, numbers[0], "v2")
            await _rename(api, numbers[3], "v2")
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [*numbers[:3], numbers[4], numbers[0], numbers[3]]


async def test_each_ordering_has_its_own_cursors_and_ranges(api):
    await _rename(api, "+12015550610", "a")
    await _rename(api, "+12015550611", "b")
    query = "query($o: SubscriberOrder!) { subscribers(first: 1, orderBy: $o) { pageInfo { endCursor } } }"
    created = (await api.data(query, o="CREATED_AT"))["subscribers"]["pageInfo"]["endCursor"]
    body = await api.gql(SYNC, after=created)
    assert body["errors"][0]["extensions"]["code"] == "PARAMETER_INVALID"
    assert body["errors"][0]["extensions"]["field"] == ["after"]
    bad_range = """{ subscribers(filter: {updatedAfter: "2026-02-01T00:00:00Z",
      updatedBefore: "2026-01-01T00:00:00Z"}) { totalCount } }"""
    body = await api.gql(bad_range)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_DATE_RANGE"
