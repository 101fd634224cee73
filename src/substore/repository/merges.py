"""Merging one subscriber into another of the same person (`substore rekey --apply`).

Three statements in the caller's transaction, on rows it has locked (rekey.lock_rows):
the absorbed row's consent history moves to the survivor (consent_events reference a
subscriber by id, and deleting the row would cascade to them), the absorbed row is
deleted (a subscriber.deleted event naming the survivor), and the survivor takes the
merged profile and consent (its own event, and a MERGED entry in its history).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.repository import outbox, routing
from substore.repository.consent import Provenance
from substore.repository.subscribers import PROFILE_COLUMNS

# The survivor's columns a merge writes (rekey/merge.py decides them): its profile.
MERGED = PROFILE_COLUMNS
_TYPES = {"attributes": "jsonb", "consented_at": "timestamptz", "unsubscribed_at": "timestamptz"}


async def merge_into(
    conn: AsyncConnection,
    account_id: int,
    survivor: Mapping[str, Any],
    absorbed: Mapping[str, Any],
    values: Mapping[str, Any],
    history: str,
    provenance: Provenance,
) -> None:
    """Merge `absorbed` into `survivor`, which takes `values` (MERGED's columns); `history`
    is the MERGED event's detail."""
    base = {"account_id": account_id, "at": provenance.at, "source": provenance.source}
    base |= outbox.params(provenance)
    ids = {"survivor": survivor["id"], "absorbed": absorbed["id"]}
    await conn.execute(
        sa.text(
            "UPDATE consent_events SET subscriber_id = :survivor "
            "WHERE account_id = :account_id AND subscriber_id = :absorbed"
        ),
        {**base, **ids},
    )
    gone = {"survivor_e164": survivor["e164_number"], **ids}
    # On Citus, on the account's node (routing.py), as every write with events.
    await routing.execute(conn, account_id, _DELETE, {**base, **gone})
    status_changed = values["status"] != survivor["status"]
    given = {c: _db(c, values[c]) for c in MERGED}
    merged_from = {"absorbed_e164": absorbed["e164_number"], "history": history}
    params = {**base, **given, **ids, **merged_from, "status_changed": status_changed}
    await routing.execute(conn, account_id, _update_sql(), params)


_DELETE = f"""WITH gone AS (
  DELETE FROM subscribers s
  WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = CAST(:absorbed AS bigint)
  RETURNING s.id, s.e164_number, s.status, json_build_object(
    'mergedInto', CAST(:survivor AS bigint),
    'mergedIntoE164Number', CAST(:survivor_e164 AS text)) AS changes
),
{outbox.ctes("gone", outbox.DELETED)}
SELECT id FROM gone"""


def _update_sql() -> str:
    sets = ", ".join(f"{c} = CAST(:{c} AS {_TYPES.get(c, 'text')})" for c in MERGED)
    changes = outbox.changes(MERGED)
    merged_from = (
        "jsonb_build_object('id', CAST(:absorbed AS bigint), "
        "'e164Number', CAST(:absorbed_e164 AS text))"
    )
    return f"""WITH up AS (
  UPDATE subscribers s SET {sets}, updated_at = now(),
    status_changed_at = CASE WHEN CAST(:status_changed AS boolean) THEN CAST(:at AS timestamptz)
      ELSE s.status_changed_at END
  WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = CAST(:survivor AS bigint)
  RETURNING s.id, s.e164_number, s.status, false AS created,
    CAST(:status_changed AS boolean) AS changed,
    ({changes}::jsonb || jsonb_build_object('mergedFrom', {merged_from}))::json AS changes
),
{outbox.ctes()},
history AS (
  INSERT INTO consent_events (id, account_id, subscriber_id, at, action, source, detail)
  SELECT nextval('consent_events_id_seq'), CAST(:account_id AS bigint), up.id,
    CAST(:at AS timestamptz), action,
    CAST(:source AS text), CAST(:history AS text)
  FROM up CROSS JOIN LATERAL (VALUES ('MERGED'), (CASE WHEN up.changed THEN up.status END))
    AS a(action)
  WHERE action IS NOT NULL
)
SELECT up.id FROM up"""


def _db(column: str, value: Any) -> Any:
    if column == "attributes":
        return json.dumps(value if value is not None else {})
    return value
