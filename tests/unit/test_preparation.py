"""The prepared batch packed for the trip back from the normaliser is the same batch."""

from __future__ import annotations

from substore.preparation import (
    SubscriberInput,
    asks_subscribed,
    prepare_batch,
    prepare_packed,
    unpack,
)
from substore.repository import as_columns

ROWS = [
    SubscriberInput(number="(201) 555-0100", profile={"first_name": "Ada"}),
    SubscriberInput(number="+1 201 555 0100", profile={"email": "ada@example.com"}),  # merged
    SubscriberInput(number="not a number"),  # failed
    SubscriberInput(number="4155552671.0", profile={"status": "UNSUBSCRIBED"}),  # a warning
    SubscriberInput(number="4155552671", profile={"status": "SUBSCRIBED"}),  # opt-out kept
    SubscriberInput(e164_number="+447400123456", default_region="GB"),
]


def test_unpacked_is_what_prepare_batch_returns_as_columns():
    expected = prepare_batch(ROWS, "US", False)
    results, rows = expected
    asking = {e164 for e164, row in rows.items() if asks_subscribed(row)}
    assert unpack(prepare_packed(ROWS, "US", False)) == (results, as_columns(rows.values()), asking)
    assert asking == set()  # the opt-out earlier in the batch stuck
    assert [r.status.value for r in results] == [
        "CREATED",
        "MERGED",
        "FAILED",
        "CREATED",
        "MERGED",
        "CREATED",
    ]
    assert any(r.warnings for r in results) and any(r.user_errors for r in results)
    assert rows["+12015550100"].profile == {"first_name": "Ada", "email": "ada@example.com"}


def test_rows_travel_as_one_set_of_arrays_per_set_of_given_fields_in_number_order():
    batch = [
        SubscriberInput(number="+12015550199", profile={"status": "SUBSCRIBED"}),
        SubscriberInput(number="+12015550111", profile={"status": None}),
        SubscriberInput(number="+12015550122", profile={"attributes": None, "first_name": "B"}),
    ]
    _, groups, asking = prepare_packed(batch, "US", False)
    assert asking == {"+12015550199", "+12015550111"}  # a null status asks for the default
    by_fields = {group.provided: group.arrays for group in groups}
    assert set(by_fields) == {("status",), ("first_name", "attributes")}
    assert by_fields[("status",)]["e164_number"] == '{"+12015550111","+12015550199"}'
    assert by_fields[("status",)]["status"] == '{"SUBSCRIBED","SUBSCRIBED"}'
    assert by_fields[("first_name", "attributes")]["attributes"] == '{"{}"}'
    assert by_fields[("first_name", "attributes")]["region_code"] == '{"US"}'
