"""consent/: keywords, quiet hours and time zones, as pure rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time

import phonenumbers
import pytest
from phonenumbers import timezone

from substore import phone
from substore.consent.keywords import InboundAction, keyword
from substore.consent.quiet_hours import BlockReason, QuietHours, parse_hhmm, permission
from substore.consent.zones import time_zones
from substore.errors import PhoneNumberError

DEFAULT = QuietHours(time(21), time(8))


@pytest.mark.parametrize(
    ("text", "action", "word"),
    [
        ("STOP", InboundAction.OPTED_OUT, "STOP"),
        ("  stop  ", InboundAction.OPTED_OUT, "STOP"),
        ("Stop.", InboundAction.OPTED_OUT, "STOP"),
        ("stop all!!", InboundAction.OPTED_OUT, "STOP ALL"),
        ("StopAll", InboundAction.OPTED_OUT, "STOPALL"),
        ("unsubscribe", InboundAction.OPTED_OUT, "UNSUBSCRIBE"),
        ("cancel", InboundAction.OPTED_OUT, "CANCEL"),
        ("End", InboundAction.OPTED_OUT, "END"),
        ("quit", InboundAction.OPTED_OUT, "QUIT"),
        ("revoke", InboundAction.OPTED_OUT, "REVOKE"),
        ("optout", InboundAction.OPTED_OUT, "OPTOUT"),
        ("opt  out", InboundAction.OPTED_OUT, "OPT OUT"),
        ("start", InboundAction.OPTED_IN, "START"),
        ("Unstop!", InboundAction.OPTED_IN, "UNSTOP"),
        ("yes", InboundAction.OPTED_IN, "YES"),
        ("help", InboundAction.HELP, "HELP"),
        ("INFO", InboundAction.HELP, "INFO"),
        ("stop texting me", InboundAction.NONE, None),
        ("please stop", InboundAction.NONE, None),
        ("STOP?", InboundAction.NONE, None),
        ("", InboundAction.NONE, None),
    ],
)
def test_the_whole_message_is_one_keyword(text, action, word):
    assert keyword(text) == (action, word)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=UTC)


def test_quiet_hours_are_local_to_the_number():
    new_york = ["America/New_York"]  # UTC-5 in December
    assert permission("SUBSCRIBED", new_york, DEFAULT, at(15)).allowed  # 10:00 there
    night = permission("SUBSCRIBED", new_york, DEFAULT, at(3))  # 22:00 there
    assert (night.allowed, night.reason) == (False, BlockReason.QUIET_HOURS)
    assert night.next_allowed_at == at(13)  # 08:00 there


def test_every_zone_must_be_outside_quiet_hours():
    both = ["America/New_York", "America/Los_Angeles"]
    early = permission("SUBSCRIBED", both, DEFAULT, at(14))  # 09:00 NY, 06:00 LA
    assert not early.allowed
    assert early.next_allowed_at == at(16)  # 08:00 in Los Angeles
    far = permission("SUBSCRIBED", ["Asia/Tokyo", "America/Los_Angeles"], DEFAULT, at(12, 30))
    assert far.next_allowed_at == at(23)  # Tokyo 08:00 = Los Angeles 15:00


def test_windows_that_never_open_together_have_no_next_time():
    wide = QuietHours(time(18), time(10))  # open only 10:00-18:00 local
    apart = ["Asia/Tokyo", "America/New_York"]  # 14 hours apart
    found = permission("SUBSCRIBED", apart, wide, at(12))
    assert (found.allowed, found.next_allowed_at) == (False, None)


def test_an_opt_out_blocks_whatever_the_time_and_equal_times_mean_no_quiet_hours():
    found = permission("UNSUBSCRIBED", ["Europe/London"], DEFAULT, at(12))
    assert (found.allowed, found.reason, found.next_allowed_at) == (
        False,
        BlockReason.UNSUBSCRIBED,
        None,
    )
    assert permission("SUBSCRIBED", ["Europe/London"], QuietHours(time(9), time(9)), at(3)).allowed


def test_a_number_with_no_zone_is_judged_in_utc():
    assert not permission("SUBSCRIBED", [], DEFAULT, at(22)).allowed
    assert permission("SUBSCRIBED", [], DEFAULT, at(12)).allowed


@pytest.mark.parametrize(
    ("text", "expected"),
    [("21:00", time(21)), ("08:00", time(8)), ("00:00", time(0)), (" 23:59 ", time(23, 59))],
)
def test_hh_mm(text, expected):
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8:00", "21:60", "9pm", "", "21:00:00"])
def test_bad_hh_mm(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


def test_time_zones_of_a_number_its_country_and_none():
    assert time_zones("+12015550123", "FIXED_LINE_OR_MOBILE", 1) == ("America/New_York",)
    assert "Europe/London" in time_zones("+447911123456", "MOBILE", 44)
    assert "Europe/Moscow" in time_zones("+79123456789", "MOBILE", 7)  # the whole country
    assert time_zones("+80012345678", "TOLL_FREE", 800) == ()


def test_time_zones_agree_with_phonenumbers_for_every_region_and_type():
    """Each region's example numbers of every type, their last digits varied: the zones
    phonenumbers itself gives (without its Etc/Unknown)."""
    rng = random.Random(164)
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            digits = str(example.national_number)
            tail = "".join(rng.choice("0123456789") for _ in range(2))
            try:
                key = phone.normalize(f"+{example.country_code}{digits[:-2]}{tail}")
            except PhoneNumberError:
                continue
            parsed = phonenumbers.parse(key.e164_number)
            want = tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
            assert time_zones(key.e164_number, key.number_type, key.country_code) == want, key
            checked += 1
    assert checked > 1000
