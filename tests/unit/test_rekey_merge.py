"""Two rows of one person merged (rekey/merge.py): the import's rules, consent conservative."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from substore.rekey.merge import decide_consent, merge

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def row(id_: int, days: int = 0, **fields) -> dict:
    base = {
        "id": id_,
        "updated_at": T0 + timedelta(days=days),
        "first_name": None,
        "last_name": None,
        "email": None,
        "attributes": {},
        "status": "SUBSCRIBED",
        "consented_at": None,
        "consent_source": None,
        "unsubscribed_at": None,
        "unsubscribe_source": None,
    }
    return base | fields


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def test_an_opt_out_on_either_row_wins_over_older_consent():
    subscribed = row(1, consented_at=at(1), consent_source="import")
    opted_out = row(
        2, status="UNSUBSCRIBED", unsubscribed_at=at(5), unsubscribe_source="keyword:STOP"
    )
    for survivor, absorbed in ((subscribed, opted_out), (opted_out, subscribed)):
        merged = merge(survivor, absorbed)
        assert merged.values["status"] == "UNSUBSCRIBED"
        assert merged.values["unsubscribed_at"] == at(5)
        assert merged.values["unsubscribe_source"] == "keyword:STOP"
        assert "holds" in merged.why
    assert merge(subscribed, opted_out).status_changed
    assert not merge(opted_out, subscribed).status_changed


def test_consent_given_after_the_opt_out_resubscribes_as_an_import_would():
    opted_out = row(1, status="UNSUBSCRIBED", unsubscribed_at=at(5))
    later = row(2, consented_at=at(9), consent_source="form")
    values, why = decide_consent(opted_out, later)
    assert values["status"] == "SUBSCRIBED" and values["consented_at"] == at(9)
    assert values["unsubscribed_at"] == at(5)  # the opt-out stays on record, answered
    assert "later than the opt-out" in why
    # Consent given at the very moment of the opt-out is not later: it does not undo it.
    same_time = row(2, consented_at=at(5))
    assert decide_consent(opted_out, same_time)[0]["status"] == "UNSUBSCRIBED"
    # An opt-out with no time is beaten by any consent (an import compares with -infinity).
    untimed = row(1, status="UNSUBSCRIBED")
    assert decide_consent(untimed, later)[0]["status"] == "SUBSCRIBED"


def test_of_two_opt_outs_the_later_one_counts_and_older_consent_is_not_recorded():
    first = row(1, status="UNSUBSCRIBED", unsubscribed_at=at(3), consented_at=at(1))
    second = row(2, status="UNSUBSCRIBED", unsubscribed_at=at(7), unsubscribe_source="api")
    values, _ = decide_consent(first, second)
    assert values["status"] == "UNSUBSCRIBED"
    assert (values["unsubscribed_at"], values["unsubscribe_source"]) == (at(7), "api")
    assert values["consented_at"] is None  # the winning opt-out's own (none)


def test_two_subscribed_rows_keep_the_latest_consent_evidence():
    values, _ = decide_consent(row(1, consented_at=at(2)), row(2, consented_at=at(4)))
    assert values["status"] == "SUBSCRIBED" and values["consented_at"] == at(4)


def test_profile_fields_of_the_row_written_later_win_and_blanks_take_the_other():
    older = row(1, days=1, first_name="Ana", email="ana@old.example", attributes={"a": 1, "b": 1})
    newer = row(2, days=9, email="ana@new.example", attributes={"b": 2})
    merged = merge(older, newer).values
    assert merged["first_name"] == "Ana"  # the newer row had none
    assert merged["email"] == "ana@new.example"
    assert merged["attributes"] == {"a": 1, "b": 2}
    assert merge(newer, older).values["email"] == "ana@new.example"  # whichever survives
