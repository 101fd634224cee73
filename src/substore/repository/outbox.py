"""The outbox's SQL: every change of a subscriber becomes an event in the statement that
makes it, so that an event exists exactly when its change was committed (Hasura's event
triggers, without triggers: an import's 1,000 rows are one set-based insert).

A writing statement returns its rows in a CTE (id, e164_number, status, created, changed,
changes); `ctes` numbers them from the account's counter row and inserts them. The
counter is updated only once the rows are written (it counts them), and its row lock is
held to the commit, so an account's sequence numbers follow commit order: a reader that
has seen N never meets a later event numbered below N.

A statement that changed no row takes no counter lock and writes no counter version
(`HAVING count(*) > 0`). Nothing is notified: a NOTIFY takes a cluster-wide lock at commit,
held through the WAL flush, which would make every write of every account commit one at a
time. The subscription feed (events/poller.py) and the webhooks dispatcher poll instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from substore.repository.consent import Provenance

EVENT_TYPE = """CASE WHEN {rows}.created THEN 'subscriber.created'
    WHEN {rows}.changed AND {rows}.status = 'UNSUBSCRIBED' THEN 'subscriber.unsubscribed'
    WHEN {rows}.changed THEN 'subscriber.resubscribed'
    ELSE 'subscriber.updated' END"""
DELETED = "'subscriber.deleted'"
# Of the key columns, what the caller wrote: the others (country code, region, type...)
# follow from the number, and building them into every event is an import's cost.
WRITTEN_KEYS = ("number", "raw_number")

# Columns as the API names them in an event's `changes`.
_NAMES = {
    "e164_number": "e164Number",
    "normalizer_version": "normalizerVersion",
    "first_name": "firstName",
    "last_name": "lastName",
    "raw_number": "rawNumber",
    "country_code": "countryCode",
    "region_code": "regionCode",
    "number_type": "numberType",
    "country_code_source": "countryCodeSource",
    "default_region": "defaultRegion",
    "consented_at": "consentedAt",
    "consent_source": "consentSource",
    "unsubscribed_at": "unsubscribedAt",
    "unsubscribe_source": "unsubscribeSource",
    "time_zones": "timeZones",
}


def changes(columns: Iterable[str], row: str = "s") -> str:
    """A JSON object of `columns` as `row` holds them now, by their API names. json, not
    jsonb: an event is written once and read whole, and json skips jsonb's conversion."""
    pairs = [f"'{_NAMES.get(c, c)}', {row}.{c}" for c in dict.fromkeys(columns)]
    # json_build_object takes at most 100 arguments; there are far fewer columns.
    return f"json_build_object({', '.join(pairs)})" if pairs else "'{}'::json"


# An event's id: the statement's own random UUID with its last 48 bits replaced by the
# event's sequence number, unique within the statement by the sequence and across
# statements by the 74 random bits left. A random UUID a row cost ~3.5 us of an import's
# row where PostgreSQL reads /dev/urandom for each (built without OpenSSL, as the embedded
# server is).
_EVENT_ID = (
    "CAST(left(CAST((SELECT gen_random_uuid()) AS text), 24)"
    " || lpad(to_hex({sequence}), 12, '0') AS uuid)"
)


def ctes(rows: str = "up", event_type: str = EVENT_TYPE) -> str:
    """The counter and outbox CTEs for the rows of CTE `rows` (see the module docstring)."""
    return f"""counter AS (
  INSERT INTO account_event_counters AS c (account_id, last_sequence)
  SELECT CAST(:account_id AS bigint), count(*) FROM {rows} HAVING count(*) > 0
  ON CONFLICT (account_id) DO UPDATE SET last_sequence = c.last_sequence + excluded.last_sequence
  RETURNING c.last_sequence
),
numbered AS (
  SELECT {rows}.*,
    counter.last_sequence - (SELECT count(*) FROM {rows}) + row_number() OVER () AS sequence
  FROM {rows} CROSS JOIN counter
),
outbox AS (
  INSERT INTO subscriber_events (account_id, sequence, id, type, occurred_at, source, actor,
    subscriber_id, e164_number, status, changes)
  SELECT CAST(:account_id AS bigint), n.sequence, {_EVENT_ID.format(sequence="n.sequence")},
    {event_type.format(rows="n")}, CAST(:at AS timestamptz), CAST(:event_source AS text),
    CAST(:actor AS text), n.id, n.e164_number, n.status, n.changes
  FROM numbered n
)"""


def params(provenance: Provenance) -> dict[str, Any]:
    """Where a change came from, as its events say: api, import or inbound, and who."""
    inbound = provenance.source.startswith("keyword:")
    return {
        "event_source": "inbound" if inbound else provenance.source,
        "actor": None if inbound else provenance.detail,
    }
