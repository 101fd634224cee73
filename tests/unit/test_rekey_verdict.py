"""One stored row read again with the installed phonenumbers (rekey/verdict.py), and the
check's collisions (rekey/report.py), with made-up stored keys and recipes."""

from __future__ import annotations

from substore.phone import NORMALIZER_VERSION
from substore.rekey.recipes import parse
from substore.rekey.report import Finding, Kind, resolve_collisions
from substore.rekey.verdict import Outcome, Stored, decide, needs_write, only_version

RECIPES = parse(
    [
        "Old Prefix;Old Length;Country Code;Old Format;New Format;Is Final Migration;Description",
        # In the file's order, the first that matches is used.
        "2259;11;225;xxxxxxxxxxx;xxx99xxxxxxxx;true;made up: to a range not in use",
        "225[0-9];11;225;xxxxxxxxxxx;xxx07xxxxxxxx;true;made up: add 07",
    ]
)


def stored(e164: str, raw: str, source: str = "PLUS_SIGN", region: str | None = None, **more):
    columns = {
        "id": 1,
        "e164_number": e164,
        "number": e164[2:],
        "raw_number": raw,
        "country_code": 1,
        "region_code": "US",
        "number_type": "FIXED_LINE_OR_MOBILE",
        "country_code_source": source,
        "default_region": region,
        "normalizer_version": "8.10.16",
        "time_zones": "America/New_York",
    }
    return Stored(**(columns | more))


def test_a_key_read_the_same_is_unchanged_and_only_its_version_moves():
    row = stored("+12015550123", "+1 201 555 0123")
    verdict = decide(row, RECIPES)
    assert verdict.outcome is Outcome.UNCHANGED and verdict.new_e164 == "+12015550123"
    assert verdict.key["normalizer_version"] == NORMALIZER_VERSION
    assert verdict.key["raw_number"] == "+1 201 555 0123"  # what the caller sent stays
    assert only_version(row, verdict) and needs_write(row, verdict)


def test_a_national_number_is_read_again_in_the_region_its_write_read_it_in():
    # As if older metadata had read "(201) 555-0123" in the US as another key.
    row = stored("+12015550999", "(201) 555-0123", "DEFAULT_REGION", "US")
    verdict = decide(row, RECIPES)
    assert verdict.outcome is Outcome.CHANGED and verdict.new_e164 == "+12015550123"
    assert verdict.recipe is None
    assert verdict.key["default_region"] == "US"


def test_a_key_now_invalid_takes_the_number_its_recipe_gives():
    row = stored("+22501234567", "01 23 45 67", "DEFAULT_REGION", "CI", country_code=225)
    verdict = decide(row, RECIPES)
    assert verdict.outcome is Outcome.CHANGED and verdict.new_e164 == "+2250701234567"
    assert "add 07" in verdict.recipe
    assert verdict.key["number_type"] == "MOBILE" and verdict.key["region_code"] == "CI"
    # read from the E.164 alone: how the original write read the number still stands
    assert verdict.key["country_code_source"] == "DEFAULT_REGION"


def test_a_key_now_invalid_with_no_recipe_or_a_bad_one_is_invalid_and_says_why():
    none = decide(stored("+4470123", "+44 70123", country_code=44), RECIPES)
    assert none.outcome is Outcome.INVALID and none.key is None and "short" in none.reason
    bad = decide(stored("+22591234567", "+225 91 23 45 67", country_code=225), RECIPES)
    assert bad.outcome is Outcome.INVALID and "made up: to a range" in bad.recipe
    assert "not a valid number either" in bad.reason
    assert not needs_write(stored("+4470123", "x"), none)


def change(id_: int, old: str, new: str) -> Finding:
    return Finding(1, id_, Kind.CHANGE, old, new)


def test_collisions_name_both_keys_with_a_row_that_keeps_its_key_or_with_each_other():
    changes = [
        change(1, "+5215512345678", "+525512345678"),  # onto a row that keeps its key
        change(2, "+5218112345678", "+528112345678"),  # two rows onto one free key
        change(3, "+5208112345678", "+528112345678"),
        change(4, "+5210000000001", "+520000000001"),  # onto a row that moves away
        change(5, "+520000000001", "+520000000002"),
    ]
    holders = {"+525512345678": 9, "+520000000001": 5}
    keys = {c.subscriber_id: c.e164_number for c in changes}
    resolve_collisions(changes, holders, keys)
    kinds = [c.kind for c in changes]
    assert kinds == [Kind.COLLISION, Kind.CHANGE, Kind.COLLISION, Kind.CHANGE, Kind.CHANGE]
    assert (changes[0].other_subscriber_id, changes[0].other_e164_number) == (9, "+525512345678")
    assert (changes[2].other_subscriber_id, changes[2].other_e164_number) == (2, "+5218112345678")
    assert "collision" in changes[0].line() and "+5215512345678" in changes[0].line()
