"""When a subscriber may be messaged: not opted out, and outside the account's quiet
hours in every one of the number's time zones (its country's when the number says no
more; UTC for numbers with no country). repository/pages.py asks the same
question in SQL for `subscribers(filter: {canMessageAt})`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from substore.consent.zones import FALLBACK_ZONE

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class BlockReason(StrEnum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    QUIET_HOURS = "QUIET_HOURS"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times between which no message may go out; start == end: none."""

    start: time
    end: time

    def covers(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight, as 21:00-08:00


@dataclass(frozen=True, slots=True)
class Permission:
    allowed: bool
    reason: BlockReason | None = None
    next_allowed_at: datetime | None = None


def parse_hhmm(text: str) -> time:
    """A local time written "HH:MM" (24-hour); ValueError otherwise."""
    found = _HHMM.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"{text!r} is not a time of day written HH:MM, e.g. 21:00")
    return time(int(found[1]), int(found[2]))


def permission(status: str, zones: Sequence[str], hours: QuietHours, at: datetime) -> Permission:
    if status == "UNSUBSCRIBED":
        return Permission(False, BlockReason.UNSUBSCRIBED)
    known = _zones(tuple(zones))
    if not _quiet_anywhere(known, hours, at):
        return Permission(True)
    return Permission(False, BlockReason.QUIET_HOURS, _next_allowed(known, hours, at))


@lru_cache(maxsize=4096)
def _zones(names: tuple[str, ...]) -> tuple[ZoneInfo, ...]:
    found = []
    for name in names:
        try:
            found.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a zone this machine's tz database does not know
    return tuple(found) or (ZoneInfo(FALLBACK_ZONE),)


def _quiet_anywhere(zones: Sequence[ZoneInfo], hours: QuietHours, at: datetime) -> bool:
    return any(hours.covers(at.astimezone(zone).time()) for zone in zones)


def _next_allowed(zones: Sequence[ZoneInfo], hours: QuietHours, at: datetime) -> datetime | None:
    """The first moment after `at` outside quiet hours everywhere: each zone's quiet
    hours end in turn; None if the windows never all open at once (zones far apart)."""
    ends = sorted(
        {
            end
            for zone in zones
            for day in _days(at.astimezone(zone).date())
            if (end := datetime.combine(day, hours.end, zone).astimezone(UTC)) > at
        }
    )
    return next((end for end in ends if not _quiet_anywhere(zones, hours, end)), None)


def _days(first: date) -> list[date]:
    return [first + timedelta(days=n) for n in range(3)]
