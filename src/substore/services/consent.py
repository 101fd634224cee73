"""Use cases of consent: inbound keywords, a subscriber's consent history, canMessage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import phone, repository
from substore.consent.keywords import InboundAction, keyword
from substore.consent.quiet_hours import Permission, QuietHours, permission
from substore.errors import SubstoreError, UserError, ValidationError
from substore.preparation import as_utc, key_columns, not_in_future
from substore.repository import Provenance, Record, SubscriberWrite
from substore.services.pages import Page

MAX_EVENTS_PAGE = 500
_DETAIL_LENGTH = 200


@dataclass(slots=True)
class InboundResult:
    action: InboundAction
    keyword: str | None = None
    subscriber: Record | None = None
    user_errors: list[UserError] = field(default_factory=list)


async def record_inbound_message(
    conn: AsyncConnection,
    account: Record,
    sender: str | int,
    text: str,
    received_at: datetime | None = None,
) -> InboundResult:
    """What a message from `sender` asks, done: an opt-out (kept even for a number the
    account never stored, as a suppression entry), an opt-in, or nothing."""
    action, word = keyword(text)
    try:
        at = _received(received_at)
        key = phone.normalize(sender, default_region=account.default_region)
    except SubstoreError as error:
        where = "receivedAt" if error.user_error.field == ("receivedAt",) else "from"
        problem = UserError(error.code, str(error.args[0]), ("input", where), error.reason)
        return InboundResult(action, word, user_errors=[problem])
    found = await repository.get_subscriber_by_e164(conn, account.id, key.e164_number)
    if action in (InboundAction.HELP, InboundAction.NONE):
        return InboundResult(action, word, found)
    profile: dict[str, object] = {"status": "UNSUBSCRIBED"}
    if action is InboundAction.OPTED_IN:  # the person's own message is the evidence
        profile = {"status": "SUBSCRIBED", "consented_at": at, "consent_source": f"keyword:{word}"}
    provenance = Provenance(at, f"keyword:{word}", text.strip()[:_DETAIL_LENGTH], message=True)
    if found is not None:  # keep the number as the account stored it
        row = SubscriberWrite(key={}, profile=profile)
        stored = await repository.update_subscriber(conn, account.id, found.id, row, provenance)
    else:
        row = SubscriberWrite(key=key_columns(key), profile=profile)
        stored = (await repository.upsert_subscriber(conn, account.id, row, provenance)).subscriber
    return InboundResult(action, word, stored)


def _received(received_at: datetime | None) -> datetime:
    if received_at is None:
        return datetime.now(UTC)
    return not_in_future(received_at, "receivedAt", "give the time the message arrived")


async def consent_events(
    conn: AsyncConnection, account: Record, subscriber_id: int, *, first: int, after: int
) -> Page:
    """Up to `first` consent events after event `after`, oldest first; whether more lie
    after them, and whether any lies at or before `after`."""
    if not 0 <= first <= MAX_EVENTS_PAGE:
        raise ValidationError(f"first must be between 0 and {MAX_EVENTS_PAGE}.", field=("first",))
    rows, behind = await repository.page_events(
        conn, account.id, subscriber_id, first=first + 1, after=after
    )
    return Page(rows[:first], has_next=len(rows) > first, has_previous=behind)


def quiet_hours(account: Record) -> QuietHours:
    return QuietHours(account.quiet_hours_start, account.quiet_hours_end)


def can_message(account: Record, subscriber: Record, at: datetime | None = None) -> Permission:
    moment = as_utc(at) or datetime.now(UTC)
    zones = subscriber.time_zones.split()
    return permission(subscriber.status, zones, quiet_hours(account), moment)
