"""The prepared batch packed for the trip back from the normaliser is the same batch."""

from __future__ import annotations

from substore.preparation import SubscriberInput, prepare_batch, prepare_packed, unpack

ROWS = [
    SubscriberInput(number="(201) 555-0100", profile={"first_name": "Ada"}),
    SubscriberInput(number="+1 201 555 0100", profile={"email": "ada@example.com"}),  # merged
    SubscriberInput(number="not a number"),  # failed
    SubscriberInput(number="4155552671.0", profile={"status": "UNSUBSCRIBED"}),  # a warning
    SubscriberInput(number="4155552671", profile={"status": "SUBSCRIBED"}),  # opt-out kept
    SubscriberInput(e164_number="+447400123456", default_region="GB"),
]


def test_unpacked_is_what_prepare_batch_returns():
    expected = prepare_batch(ROWS, "US", False)
    assert unpack(prepare_packed(ROWS, "US", False)) == expected
    results, rows = expected
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
