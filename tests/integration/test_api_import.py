"""importSubscribers over HTTP: per-row results in order, merges, limits, options."""

from __future__ import annotations

IMPORT = """mutation($rows: [SubscriberInput!]!, $options: ImportOptions) {
  importSubscribers(input: $rows, options: $options) {
    createdCount updatedCount mergedCount failedCount skippedCount
    userErrors { code field message }
    results { index status e164Number userErrors { code field reason } warnings { reason field }
              subscriber { id firstName lastName } }
  }
}"""


async def run_import(api, rows, **options) -> dict:
    return (await api.data(IMPORT, rows=rows, options=options or None))["importSubscribers"]


async def count(api) -> int:
    return (await api.data("{ account { subscriberCount } }"))["account"]["subscriberCount"]


async def test_one_result_per_row_in_order(api):
    await api.data('mutation { createSubscriber(input: {number: "2015550300"}) { created } }')
    rows = [
        {"number": "2015550301", "firstName": "A"},  # new
        {"number": "12"},  # too short
        {"number": 12015550300, "lastName": "Existing"},  # existing, integer form
        {"number": "+1 (201) 555-0301", "lastName": "Later"},  # same as row 0
        {"e164Number": "+447400123456", "number": "2015550399"},  # e164 wins, warns
    ]
    payload = await run_import(api, rows)
    assert [r["status"] for r in payload["results"]] == [
        "CREATED",
        "FAILED",
        "UPDATED",
        "MERGED",
        "CREATED",
    ]
    assert [r["index"] for r in payload["results"]] == [0, 1, 2, 3, 4]
    assert (payload["createdCount"], payload["updatedCount"]) == (2, 1)
    assert (payload["mergedCount"], payload["failedCount"], payload["skippedCount"]) == (1, 1, 0)
    failed = payload["results"][1]
    assert failed["userErrors"] == [
        {
            "code": "INVALID_PHONENUMBER_FORMAT",
            "field": ["input", "1", "number"],
            "reason": "TOO_SHORT",
        }
    ]
    assert failed["subscriber"] is None and failed["e164Number"] is None
    merged = payload["results"][3]["subscriber"]
    assert merged == {
        "id": payload["results"][0]["subscriber"]["id"],
        "firstName": "A",
        "lastName": "Later",
    }
    assert payload["results"][4]["warnings"] == [
        {"reason": "NUMBER_MISMATCH", "field": ["input", "4", "number"]}
    ]
    assert await count(api) == 3


async def test_importing_again_creates_nothing(api):
    rows = [{"number": f"20155503{n:02d}"} for n in range(10, 30)]
    first = await run_import(api, rows)
    again = await run_import(api, rows)
    assert (first["createdCount"], again["createdCount"], again["updatedCount"]) == (20, 0, 20)
    assert await count(api) == 20


async def test_more_than_1000_rows_writes_nothing(api):
    rows = [{"number": f"+1201555{n:04d}"} for n in range(1001)]
    payload = await run_import(api, rows)
    assert payload["results"] == []
    assert payload["userErrors"][0]["code"] == "PARAMETER_TOO_LONG"
    assert payload["userErrors"][0]["field"] == ["input"]
    assert await count(api) == 0


async def test_1000_rows_is_allowed(api):
    rows = [{"number": f"+1201555{n:04d}"} for n in range(1000)]
    payload = await run_import(api, rows)
    assert payload["createdCount"] == 1000
    assert await count(api) == 1000


async def test_all_or_nothing(api):
    rows = [{"number": "2015550340"}, {"number": "nope"}, {"number": "2015550341"}]
    payload = await run_import(api, rows, allOrNothing=True)
    assert [r["status"] for r in payload["results"]] == ["SKIPPED", "FAILED", "SKIPPED"]
    assert payload["skippedCount"] == 2
    assert await count(api) == 0


async def test_default_region_and_strict_country_code_options(api):
    gb = await run_import(api, [{"number": "07400 123456"}], defaultRegion="GB")
    assert gb["results"][0]["e164Number"] == "+447400123456"
    strict = await run_import(api, [{"number": "447400123457"}], strictCountryCode=True)
    assert strict["results"][0]["status"] == "FAILED"
    inferred = await run_import(api, [{"number": "447400123457"}])
    assert inferred["results"][0]["e164Number"] == "+447400123457"


async def test_bad_default_region_fails_the_batch_and_writes_nothing(api):
    payload = await run_import(api, [{"number": "2015550350"}], defaultRegion="Mars")
    assert payload["userErrors"][0]["code"] == "INVALID_COUNTRYCODE_FORMAT"
    assert payload["userErrors"][0]["field"] == ["options", "defaultRegion"]
    assert await count(api) == 0


async def test_read_key_cannot_import(read_api):
    body = await read_api.gql(IMPORT, status=403, rows=[{"number": "2015550360"}])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_results_can_be_narrowed_to_some_statuses(api):
    rows = [{"number": "2015550370"}, {"number": "12"}, {"number": "2015550370"}]
    query = """mutation($rows: [SubscriberInput!]!) { importSubscribers(input: $rows) {
        failedCount mergedCount results(status: [FAILED, MERGED]) { index status } } }"""
    payload = (await api.data(query, rows=rows))["importSubscribers"]
    assert payload["results"] == [
        {"index": 1, "status": "FAILED"},
        {"index": 2, "status": "MERGED"},
    ]
    assert (payload["failedCount"], payload["mergedCount"]) == (1, 1)


# --- real CRM files: per-row country, dropped fields, dry runs --------------------------


async def test_each_row_can_say_its_own_country(api):
    rows = [
        {"number": "07911 123456", "defaultRegion": "GB"},
        {"number": "030 1234567", "defaultRegion": "Germany"},
        {"number": "02 1234 5678", "defaultRegion": "ITA"},
        {"number": "(201) 555-0123"},  # the account's US
        {"number": "+33 1 23 45 67 89", "defaultRegion": "GB"},  # + wins over the region
        {"e164Number": "+14155552671", "number": "07911 123456", "defaultRegion": "GB"},
        {"number": "07911 123457", "defaultRegion": "Atlantis"},
    ]
    payload = await run_import(api, rows)
    keys = [r["e164Number"] for r in payload["results"]]
    assert keys == [
        "+447911123456",
        "+49301234567",
        "+390212345678",
        "+12015550123",
        "+33123456789",
        "+14155552671",
        None,
    ]
    assert payload["results"][6]["userErrors"] == [
        {
            "code": "INVALID_COUNTRYCODE_FORMAT",
            "field": ["input", "6", "defaultRegion"],
            "reason": None,
        }
    ]


async def test_spreadsheet_numbers_and_inferred_codes_are_stored_with_warnings(api):
    rows = [{"number": "4155552671.0"}, {"number": "4.155552671E9"}, {"number": "00447400123456"}]
    payload = await run_import(api, rows)
    assert [r["e164Number"] for r in payload["results"]] == [
        "+14155552671",
        "+14155552671",
        "+447400123456",
    ]
    reasons = [[w["reason"] for w in r["warnings"]] for r in payload["results"]]
    assert reasons == [["SPREADSHEET_NUMBER"], ["SPREADSHEET_NUMBER"], ["COUNTRY_CODE_INFERRED"]]
    rounded = await run_import(api, [{"number": "1.41555527E10"}])
    assert rounded["results"][0]["userErrors"][0]["reason"] == "NOT_A_NUMBER"


async def test_drop_field_stores_the_row_without_its_bad_field(api):
    rows = [
        {"number": "2015550401", "email": "not-an-email", "firstName": "Ada"},
        {"number": "2015550402", "lastName": "x" * 300, "email": "b@example.com"},
        {"number": "12", "email": "c@example.com"},  # a bad number still fails the row
    ]
    rejected = await run_import(api, rows)
    assert [r["status"] for r in rejected["results"]] == ["FAILED"] * 3
    payload = await run_import(api, rows, invalidFields="DROP_FIELD")
    assert [r["status"] for r in payload["results"]] == ["CREATED", "CREATED", "FAILED"]
    assert payload["results"][0]["warnings"] == [
        {"reason": "FIELD_DROPPED", "field": ["input", "0", "email"]}
    ]
    assert payload["results"][1]["warnings"] == [
        {"reason": "FIELD_DROPPED", "field": ["input", "1", "lastName"]}
    ]
    assert payload["results"][0]["subscriber"]["firstName"] == "Ada"
    assert payload["results"][1]["subscriber"]["lastName"] is None


async def test_a_dry_run_gives_the_real_results_and_stores_nothing(api):
    await api.data('mutation { createSubscriber(input: {number: "2015550500"}) { created } }')
    rows = [
        {"number": "2015550500", "firstName": "Changed"},
        {"number": "2015550501"},
        {"number": "+1 201 555 0501"},
        {"number": "911"},
    ]
    dry = await run_import(api, rows, dryRun=True)
    assert [r["status"] for r in dry["results"]] == ["UPDATED", "CREATED", "MERGED", "FAILED"]
    assert await count(api) == 1
    query = '{ subscriber(number: "2015550500") { firstName } }'
    assert (await api.data(query))["subscriber"]["firstName"] is None
    real = await run_import(api, rows)
    strip = [(r["status"], r["e164Number"], r["userErrors"]) for r in real["results"]]
    assert strip == [(r["status"], r["e164Number"], r["userErrors"]) for r in dry["results"]]
    assert await count(api) == 2
