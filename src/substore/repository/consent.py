"""The consent rules as SQL, decided inside the statement that writes the row.

A read-then-write would leave a window in which an opt-out and a re-import race; here
the stored row (`s`) and what the caller asked for (`Incoming`) meet in one expression,
under the row lock the write takes, so an opt-out can only be undone by fresh consent
(a `consentedAt` later than `unsubscribedAt`) or an opt-in keyword, whatever runs
alongside. Every change (and every refused re-subscription) becomes a consent event
in the same statement.

Every STOP is evidence: one that reaches a subscriber already opted out moves
`unsubscribedAt` forward to its own time (never back) and is an event of its own, so
consent given before the person's latest STOP never resubscribes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.models import ConsentEvent, table
from substore.repository import keyset

consent_events = table(ConsentEvent)

CONSENT_COLUMNS = (
    "status",
    "consented_at",
    "consent_source",
    "unsubscribed_at",
    "unsubscribe_source",
)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who changes consent, how and when: it goes into the row and its events."""

    at: datetime  # when (a keyword's receivedAt, else now)
    source: str  # "api", "import", "keyword:STOP" ...
    detail: str | None = None  # the key prefix, or the keyword message
    # The person's own message (a keyword): an opt-out it restates is fresh evidence.
    message: bool = False


@dataclass(frozen=True, slots=True)
class Incoming:
    """SQL expressions for what the caller asked (None: not asked)."""

    status: str | None  # never NULL when given: an explicit null means SUBSCRIBED
    consented_at: str | None
    consent_source: str | None  # the caller's, else the statement's source
    unsubscribed_at: str | None = None  # an opt-out's own time, given as evidence
    unsubscribe_source: str | None = None


def asks(provided: tuple[str, ...]) -> bool:
    return any(c in provided for c in CONSENT_COLUMNS)


def final_status(incoming: Incoming) -> str:
    if incoming.status is None:
        return "s.status"
    fresh = (
        f"{incoming.consented_at} IS NOT NULL AND {incoming.consented_at} > "
        "COALESCE(s.unsubscribed_at, '-infinity'::timestamptz)"
        if incoming.consented_at
        else "false"
    )
    return (
        f"CASE WHEN {incoming.status} = 'SUBSCRIBED' AND s.status = 'UNSUBSCRIBED' "
        f"AND NOT ({fresh}) THEN 'UNSUBSCRIBED' ELSE {incoming.status} END"
    )


def updates(incoming: Incoming) -> list[str]:
    """SET items for an existing row `s` (none when the caller asked nothing of consent)."""
    final = final_status(incoming)
    at, source = "CAST(:at AS timestamptz)", "CAST(:source AS text)"
    evidence = incoming.consented_at or "NULL"
    items = []
    given_at = incoming.unsubscribed_at or "NULL"
    given_source = f"COALESCE({incoming.unsubscribe_source or 'NULL'}, {source})"
    # An opt-out's own time, given as evidence, is later than the one on file: it moves
    # the opt-out forward (never back: consent given before it must not undo it).
    later = f"{given_at} > COALESCE(s.unsubscribed_at, '-infinity'::timestamptz)"
    if incoming.status is not None:
        opting_out = f"({final}) = 'UNSUBSCRIBED' AND s.status <> 'UNSUBSCRIBED'"
        # A later STOP to an opted-out subscriber: its time is the opt-out that counts.
        restating = (
            f"CAST(:message AS boolean) AND {incoming.status} = 'UNSUBSCRIBED' "
            f"AND s.status = 'UNSUBSCRIBED' AND {at} > s.unsubscribed_at"
        )
        items += [
            f"status = {final}",
            f"status_changed_at = CASE WHEN ({final}) <> s.status THEN {at} "
            "ELSE s.status_changed_at END",
            # An imported opt-out keeps its own time: never dated later than given.
            f"unsubscribed_at = CASE WHEN {opting_out} THEN COALESCE({given_at}, {at}) "
            f"WHEN {restating} THEN {at} WHEN {later} THEN {given_at} "
            "ELSE s.unsubscribed_at END",
            f"unsubscribe_source = CASE WHEN {opting_out} OR {later} THEN {given_source} "
            f"WHEN {restating} THEN {source} ELSE s.unsubscribe_source END",
        ]
    elif incoming.unsubscribed_at:
        items += [
            f"unsubscribed_at = CASE WHEN {later} THEN {given_at} ELSE s.unsubscribed_at END",
            f"unsubscribe_source = CASE WHEN {later} THEN {given_source} "
            "ELSE s.unsubscribe_source END",
        ]
    # Evidence is recorded only where it leaves the subscriber subscribed: consent given
    # before an opt-out proves nothing about after it. (A re-subscription always brings
    # evidence: a consentedAt, or a keyword's receivedAt.)
    giving = f"({final}) = 'SUBSCRIBED' AND {evidence} IS NOT NULL"
    if incoming.consented_at:
        items.append(f"consented_at = CASE WHEN {giving} THEN {evidence} ELSE s.consented_at END")
    if incoming.consent_source or incoming.consented_at:
        recorded = f"({final}) = 'SUBSCRIBED'" if incoming.consent_source else giving
        items.append(
            f"consent_source = CASE WHEN {recorded} THEN "
            f"{incoming.consent_source or source} ELSE s.consent_source END"
        )
    return items


def events_cte(incoming: Incoming, input_alias: str | None) -> str:
    """A CTE that records the consent events of the rows in `up`.

    `up` must return id, status, created and changed (status_changed_at = :at);
    `input_alias` names the input joined on e164_number (None: one row, no join).
    """
    asked = f"{incoming.status} = 'SUBSCRIBED'" if incoming.status else "false"
    evidence = incoming.consented_at or "NULL"
    join = f"JOIN {input_alias} USING (e164_number)" if input_alias else ""
    return f"""events AS (
  INSERT INTO consent_events (id, account_id, subscriber_id, at, action, source, detail)
  SELECT nextval('consent_events_id_seq'), CAST(:account_id AS bigint), up.id,
    CAST(:at AS timestamptz),
    CASE WHEN up.status = 'UNSUBSCRIBED' AND {asked} AND NOT up.changed
      THEN 'RESUBSCRIBE_REFUSED' ELSE up.status END,
    CASE WHEN up.status = 'SUBSCRIBED' THEN up.consent_source ELSE CAST(:source AS text) END,
    CAST(:detail AS text)
  FROM up {join}
  WHERE (up.changed AND NOT (up.created AND up.status = 'SUBSCRIBED' AND {evidence} IS NULL))
     OR (up.status = 'UNSUBSCRIBED' AND {asked} AND NOT up.changed)
     OR (up.status = 'SUBSCRIBED' AND NOT up.changed AND {evidence} IS NOT NULL)
     OR (up.status = 'UNSUBSCRIBED' AND NOT up.changed AND CAST(:message AS boolean))
)"""


def params(provenance: Provenance) -> dict[str, Any]:
    return {
        "at": provenance.at,
        "source": provenance.source,
        "detail": provenance.detail,
        "message": provenance.message,
    }


# --- reading ---------------------------------------------------------------------------


async def page_events(
    conn: AsyncConnection, account_id: int, subscriber_id: int, *, first: int, after: int
) -> tuple[list[Any], bool]:
    """Up to `first` events of a subscriber after event id `after`, oldest first, and
    whether any of its events lies at or before `after` (in the same statement)."""
    c = consent_events.c
    own = sa.select(consent_events).where(
        c.account_id == account_id, c.subscriber_id == subscriber_id
    )
    page = own.where(c.id > after).order_by(c.id).limit(first)
    if after <= 0:  # the start: nothing lies before it
        return list(await conn.execute(page)), False
    behind = own.where(c.id <= after).order_by(c.id.desc()).limit(1)
    return await keyset.page_and_behind(conn, page, behind, ("id",), descending=False)
