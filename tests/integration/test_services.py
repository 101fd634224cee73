"""substore.services on a real PostgreSQL: what a caller gets back, and what is stored."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from substore import repository, services
from substore.errors import ErrorCode, PhoneNumberError, ValidationError
from substore.services import AccountChanges, NormalizeOptions, RowStatus, SubscriberInput


def given(number=None, e164=None, **profile) -> SubscriberInput:
    return SubscriberInput(number=number, e164_number=e164, profile=profile)


async def test_seed_example_integer_number(conn, account):
    result = await services.save_subscriber(conn, account, given(18002223333))
    assert result.created and not result.user_errors
    assert (result.subscriber.number, result.subscriber.e164_number) == (
        "8002223333",
        "+18002223333",
    )
    assert result.subscriber.raw_number == "18002223333"


async def test_existing_number_in_another_format_updates(conn, account):
    first = await services.save_subscriber(conn, account, given("(201) 555-0199", first_name="Ada"))
    again = await services.save_subscriber(conn, account, given("+1.201.555.0199"))
    assert (first.created, again.created) == (True, False)
    assert again.subscriber.id == first.subscriber.id
    assert again.subscriber.first_name == "Ada"
    assert await repository.count_subscribers(conn, account.id) == 1


async def test_e164_precedence_and_mismatch_warning(conn, account):
    result = await services.save_subscriber(conn, account, given("2015550198", "+447400123456"))
    assert result.subscriber.e164_number == "+447400123456"
    assert result.subscriber.raw_number == "2015550198"
    [warning] = result.warnings
    assert (warning.reason, warning.field) == ("NUMBER_MISMATCH", ("input", "number"))


async def test_bad_input_is_user_errors_and_stores_nothing(conn, account):
    for data, code, path in [
        (given("555-0123"), ErrorCode.INVALID_PHONENUMBER_FORMAT, ("input", "number")),
        (given(), ErrorCode.PARAMETER_REQUIRED, ("input", "number")),
        (given("2015550197", email="nope"), ErrorCode.INVALID_EMAIL_FORMAT, ("input", "email")),
        (
            given("2015550197", first_name="x" * 256),
            ErrorCode.PARAMETER_TOO_LONG,
            ("input", "firstName"),
        ),
        (given("2015550197", attributes=[1]), ErrorCode.PARAMETER_INVALID, ("input", "attributes")),
    ]:
        result = await services.save_subscriber(conn, account, data)
        assert result.subscriber is None
        assert [(e.code, e.field) for e in result.user_errors] == [(code, path)]
    assert await repository.count_subscribers(conn, account.id) == 0


async def test_request_default_region_overrides_the_account(conn, account):
    options = NormalizeOptions(default_region="GB")
    result = await services.save_subscriber(conn, account, given("07400 123456"), options)
    assert result.subscriber.e164_number == "+447400123456"
    assert result.subscriber.default_region == "GB"


async def test_batch_results_in_order_with_merge_and_failure(conn, account):
    await services.save_subscriber(conn, account, given("2015550180"))
    inputs = [
        given("2015550181", first_name="A"),
        given("not a phone"),
        given("+1 201 555 0180", last_name="Existing"),
        given("(201) 555-0181", last_name="Later"),
    ]
    results = await services.save_subscribers(conn, account, inputs)
    assert [r.status for r in results] == [
        RowStatus.CREATED,
        RowStatus.FAILED,
        RowStatus.UPDATED,
        RowStatus.MERGED,
    ]
    assert results[1].user_errors[0].field == ("input", "1", "number")
    assert results[1].subscriber_id is None
    assert results[3].subscriber_id == results[0].subscriber_id
    stored = await repository.get_subscribers(conn, account.id, [results[3].subscriber_id])
    merged = stored[results[3].subscriber_id]
    assert (merged.first_name, merged.last_name) == ("A", "Later")


async def test_all_or_nothing_writes_nothing_when_a_row_fails(conn, account):
    inputs = [given("2015550185"), given("12")]
    results = await services.save_subscribers(conn, account, inputs, all_or_nothing=True)
    assert [r.status for r in results] == [RowStatus.SKIPPED, RowStatus.FAILED]
    assert await repository.count_subscribers(conn, account.id) == 0


async def test_update_by_id_keeps_number_unless_given(conn, account):
    saved = (await services.save_subscriber(conn, account, given("2015550186"))).subscriber
    result = await services.update_subscriber(conn, account, saved.id, given(first_name="Bo"))
    assert (result.subscriber.e164_number, result.subscriber.first_name) == ("+12015550186", "Bo")
    moved = await services.update_subscriber(conn, account, saved.id, given("2015550187"))
    assert moved.subscriber.e164_number == "+12015550187"


async def test_update_to_a_taken_number_is_duplicate_resource(conn, account):
    a = (await services.save_subscriber(conn, account, given("2015550188"))).subscriber
    await services.save_subscriber(conn, account, given("2015550189"))
    result = await services.update_subscriber(conn, account, a.id, given("2015550189"))
    assert [e.code for e in result.user_errors] == [ErrorCode.DUPLICATE_RESOURCE]


async def test_another_accounts_subscriber_is_not_found(conn, account, other_account):
    a = (await services.save_subscriber(conn, account, given("2015550190"))).subscriber
    result = await services.update_subscriber(conn, other_account, a.id, given(first_name="X"))
    assert [e.code for e in result.user_errors] == [ErrorCode.RECORD_NOT_FOUND]


async def test_find_by_number_in_any_format(conn, account):
    await services.save_subscriber(conn, account, given("2015550191"))
    for written in ("(201) 555-0191", "+12015550191", 12015550191, "1 201 555 0191"):
        assert (
            await services.find_subscriber(conn, account, written)
        ).e164_number == "+12015550191"
    assert await services.find_subscriber(conn, account, "2015550192") is None
    # The canonical form read straight from the store, absent or present; anything that is
    # not a number is still refused, whatever it looks like.
    assert await services.find_subscriber(conn, account, "+12015550192") is None
    for not_a_number in ("+1999", "+012015550191"):
        with pytest.raises(PhoneNumberError):
            await services.find_subscriber(conn, account, not_a_number)
    spaced = await services.find_subscriber(conn, account, " +12015550191 ")
    assert spaced.e164_number == "+12015550191"


async def test_update_account_region_is_validated(conn, account):
    assert (
        await services.update_account(conn, account, AccountChanges("de"))
    ).default_region == "DE"
    with pytest.raises(ValidationError) as caught:
        await services.update_account(conn, account, AccountChanges("Germany"))
    assert caught.value.code is ErrorCode.INVALID_COUNTRYCODE_FORMAT
    assert caught.value.user_error.field == ("input", "defaultRegion")


async def test_a_stored_key_phonenumbers_no_longer_validates_is_still_found(conn, account):
    """Metadata changes: a key stored under an older phonenumbers stays reachable."""
    await conn.execute(
        sa.text(
            """INSERT INTO subscribers (account_id, e164_number, number, raw_number, country_code,
            number_type, country_code_source, normalizer_version)
            VALUES (:a, '+19995550100', '9995550100', 'x', 1, 'MOBILE', 'FROM_NUMBER_WITH_PLUS_SIGN', 'old')"""
        ),
        {"a": account.id},
    )
    found = await services.find_subscriber(conn, account, " +19995550100 ")
    assert found.e164_number == "+19995550100"
    with pytest.raises(PhoneNumberError):
        await services.find_subscriber(conn, account, "+19995550101")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"a": "nul \x00"}, "filter.attributes['a'] contains a NUL"),
        ({"n": float("inf")}, "filter.attributes['n'] is inf"),
        ("gold", "filter.attributes must be a JSON object"),
    ],
)
async def test_a_filter_on_attributes_jsonb_cannot_hold_is_refused(
    conn, account, attributes, message
):
    """The HTTP edge refuses such variables first; other callers meet the same rule here."""
    where = services.SubscriberFilter(attributes=attributes)
    with pytest.raises(ValidationError) as refused:
        await services.page_subscribers(conn, account, where)
    assert refused.value.user_error.field == ("filter", "attributes")
    assert str(refused.value.args[0]).startswith(message)
