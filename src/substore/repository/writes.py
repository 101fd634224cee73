"""Writing subscribers: set-based upserts by E.164 and updates by id, consent included.

One INSERT ... SELECT FROM unnest ... ON CONFLICT statement per set of provided profile
fields: `excluded` cannot say which fields a row left out, so rows that leave out
different fields cannot share a DO UPDATE list. A file import has one shape, hence one
statement. Where the caller asks something of consent, the same statement applies the
consent rules (consent.py) and records the consent events.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from substore.errors import DuplicateError
from substore.repository import consent, outbox, routing
from substore.repository.consent import Incoming, Provenance
from substore.repository.subscribers import (
    KEY_COLUMNS,
    PROFILE_COLUMNS,
    Record,
    SubscriberWrite,
    Upserted,
)

_PG_TYPES = {
    "country_code": "smallint",
    "attributes": "jsonb",
    "consented_at": "timestamptz",
    "unsubscribed_at": "timestamptz",
}
_PLAIN = tuple(c for c in PROFILE_COLUMNS if c not in consent.CONSENT_COLUMNS)
# What a batch reads back: one row of four arrays, in this order. Row by row, SQLAlchemy's
# fetch cost ~5 us a row, more than asyncpg's decoding of the arrays.
_LEAN = (
    "array_agg(up.id) AS ids, array_agg(up.e164_number) AS e164_numbers,"
    " array_agg(up.created) AS created, array_agg(up.status) AS statuses"
)
# The column default's now(), the time the transaction began: DO UPDATE SET may not call
# now() itself where the table is distributed (Citus wants IMMUTABLE functions there).
_TOUCHED = "updated_at = excluded.updated_at"
_OPT_OUT = ("unsubscribed_at", "unsubscribe_source")  # what a status change may write too
# The identity's own sequence, named: on Citus a statement may run on the account's shard
# (routing.py), which has no column default.
_NEXT_ID = "nextval('subscribers_id_seq')"


@dataclass(frozen=True, slots=True)
class Columns:
    """Rows that give the same profile fields, as their statement's arrays: every key
    column and each provided one, one element a row, rows in E.164 order, each array in
    PostgreSQL's text form (see array_literal)."""

    provided: tuple[str, ...]
    arrays: dict[str, str]

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return Columns, (self.provided, self.arrays)  # pickles as plain values


def as_columns(rows: Sequence[SubscriberWrite]) -> list[Columns]:
    """`rows` (distinct E.164s) as the arrays of one statement per set of provided fields:
    `excluded` cannot say which fields a row left out. Pure: a normaliser process makes
    them, so that the server's event loop only sends them."""
    groups: dict[tuple[str, ...], list[SubscriberWrite]] = defaultdict(list)
    for row in rows:
        groups[tuple(c for c in PROFILE_COLUMNS if c in row.profile)].append(row)
    out = []
    for provided, group in sorted(groups.items()):
        # Rows go in sorted by key so that concurrent batches lock rows in one order;
        # in input order, two batches holding each other's numbers deadlock.
        group.sort(key=lambda row: row.key["e164_number"])
        arrays = {c: array_literal([row.key[c] for row in group]) for c in KEY_COLUMNS}
        arrays |= {
            c: array_literal([_db_value(c, row.profile[c]) for row in group]) for c in provided
        }
        out.append(Columns(provided, arrays))
    return out


async def upsert_subscribers(
    conn: AsyncConnection,
    account_id: int,
    rows: Sequence[SubscriberWrite],
    provenance: Provenance | None = None,
    *,
    full_rows: bool = False,
) -> list[Upserted]:
    """Insert or update `rows` (distinct E.164s); results in input order."""
    stored = await upsert_columns(conn, account_id, as_columns(rows), provenance, full_rows)
    return [stored[row.key["e164_number"]] for row in rows]


async def upsert_subscriber(
    conn: AsyncConnection,
    account_id: int,
    row: SubscriberWrite,
    provenance: Provenance | None = None,
) -> Upserted:
    [result] = await upsert_subscribers(conn, account_id, [row], provenance, full_rows=True)
    return result


async def upsert_columns(
    conn: AsyncConnection,
    account_id: int,
    groups: Sequence[Columns],
    provenance: Provenance | None = None,
    full_rows: bool = False,
) -> dict[str, Upserted]:
    """Insert or update the rows of `groups` (see as_columns); results by E.164.

    Without `full_rows` only id, E.164, created and status come back: reading every
    column of every row back through SQLAlchemy costs more than the upsert itself.
    """
    provenance = provenance or Provenance(datetime.now(UTC), "api")
    stored: dict[str, Upserted] = {}
    for group in groups:
        params = {
            "account_id": account_id,
            **consent.params(provenance),
            **outbox.params(provenance),
            **group.arrays,
        }
        result = await routing.execute(
            conn, account_id, _upsert_sql(group.provided, full_rows), params
        )
        if full_rows:
            stored.update(
                (row.e164_number, Upserted(row.id, row.e164_number, row.created, row.status, row))
                for row in result
            )
        else:
            ids, e164s, created, statuses = result.one()
            if ids is not None:  # array_agg of no rows is NULL
                stored.update(
                    (e164, Upserted(id_, e164, new, status))
                    for id_, e164, new, status in zip(ids, e164s, created, statuses, strict=True)
                )
    return stored


def _upsert_sql(provided: tuple[str, ...], full_rows: bool) -> str:
    if not consent.asks(provided):
        return _plain_upsert_sql(provided, full_rows)
    columns = (*KEY_COLUMNS, *provided)
    arrays = _arrays(columns)
    status = "COALESCE(i.status, 'SUBSCRIBED')" if "status" in provided else "'SUBSCRIBED'"
    # A new row's consentSource: the caller's as given, else the statement's (api,
    # import) where the row is subscribed.
    default = f"CASE WHEN {status} = 'SUBSCRIBED' THEN CAST(:source AS text) END"
    values = {
        **{c: f"i.{c}" for c in (*KEY_COLUMNS, *provided)},
        "status": status,
        "consented_at": "i.consented_at" if "consented_at" in provided else "NULL",
        "consent_source": (
            f"COALESCE(i.consent_source, {default})" if "consent_source" in provided else default
        ),
        **_new_opt_out(status, provided),
        "status_changed_at": "CAST(:at AS timestamptz)",
    }
    incoming = Incoming(
        status="excluded.status" if "status" in provided else None,
        consented_at="excluded.consented_at" if "consented_at" in provided else None,
        consent_source="excluded.consent_source" if "consent_source" in provided else None,
        unsubscribed_at="excluded.unsubscribed_at" if "unsubscribed_at" in provided else None,
        unsubscribe_source=(
            "excluded.unsubscribe_source" if "unsubscribe_source" in provided else None
        ),
    )
    updates = [f"{c} = excluded.{c}" for c in (*KEY_COLUMNS[1:], *_plain(provided))]
    updates += [*consent.updates(incoming), _TOUCHED]
    returning = "s.*" if full_rows else "s.id, s.e164_number, s.status, s.consent_source"
    changed = outbox.changes((*outbox.WRITTEN_KEYS, *provided, *_OPT_OUT))
    statement = f"""WITH i AS (SELECT * FROM unnest({arrays}) AS i({", ".join(columns)})),
up AS (
  INSERT INTO subscribers AS s (id, account_id, {", ".join(values)})
  SELECT {_NEXT_ID}, CAST(:account_id AS bigint), {", ".join(values.values())} FROM i
  ON CONFLICT (account_id, e164_number) DO UPDATE SET {", ".join(updates)}
  -- xmax is 0 only on a row this statement inserted: exact even under concurrency.
  RETURNING {returning}, (s.xmax = 0) AS created,
    (s.status_changed_at = CAST(:at AS timestamptz)) AS changed, {changed} AS changes
),
{outbox.ctes()}"""
    if consent.asks(provided):
        asked = Incoming(
            status=status if "status" in provided else None,
            consented_at="i.consented_at" if "consented_at" in provided else None,
            consent_source=None,
        )
        statement += ",\n" + consent.events_cte(asked, "i")
    return f"{statement}\nSELECT {'up.*' if full_rows else _LEAN} FROM up"


def _new_opt_out(status: str, provided: tuple[str, ...]) -> dict[str, str]:
    """A new row's opt-out: its own time and source where the caller gave them (evidence,
    as an export carries it), else the statement's, where the row is UNSUBSCRIBED."""
    given_at = "i.unsubscribed_at" if "unsubscribed_at" in provided else "NULL"
    given_source = "i.unsubscribe_source" if "unsubscribe_source" in provided else "NULL"
    opting_out = f"{status} = 'UNSUBSCRIBED'"
    at = f"COALESCE({given_at}, CASE WHEN {opting_out} THEN CAST(:at AS timestamptz) END)"
    recorded = f"{opting_out} OR {given_at} IS NOT NULL"
    source = f"CASE WHEN {recorded} THEN COALESCE({given_source}, CAST(:source AS text)) END"
    return {"unsubscribed_at": at, "unsubscribe_source": source}


def _param(column: str) -> str:
    return f"CAST(:{column} AS {_PG_TYPES.get(column, 'text')})"


def _plain_upsert_sql(provided: tuple[str, ...], full_rows: bool) -> str:
    """The upsert of rows that ask nothing of consent: a new row is subscribed (the
    column's default) with the statement's source, an existing one keeps its consent."""
    columns = (*KEY_COLUMNS, *provided)
    values = [f"i.{c}" for c in columns]
    updates = [f"{c} = excluded.{c}" for c in (*KEY_COLUMNS[1:], *provided)]
    # xmax is 0 only on a row this statement inserted: exact even under concurrency.
    returning = "s.*" if full_rows else "s.id, s.e164_number, s.status"
    changed = outbox.changes((*outbox.WRITTEN_KEYS, *provided))
    return f"""WITH up AS (
  INSERT INTO subscribers AS s (id, account_id, {", ".join(columns)}, consent_source)
  SELECT {_NEXT_ID}, CAST(:account_id AS bigint), {", ".join(values)}, CAST(:source AS text)
  FROM unnest({_arrays(columns)}) AS i({", ".join(columns)})
  ON CONFLICT (account_id, e164_number) DO UPDATE SET {", ".join(updates)}, {_TOUCHED}
  RETURNING {returning}, (s.xmax = 0) AS created, false AS changed, {changed} AS changes
),
{outbox.ctes()}
SELECT {"up.*" if full_rows else _LEAN} FROM up"""


def _arrays(columns: tuple[str, ...]) -> str:
    return ", ".join(f"CAST(CAST(:{c} AS text) AS {_PG_TYPES.get(c, 'text')}[])" for c in columns)


def array_literal(values: list[Any]) -> str:
    """`values` in PostgreSQL's text form of an array: every element quoted (any text
    reads back as itself), None as NULL. Of a list sent as an array parameter, asyncpg
    checks every element against abstract base classes, about 6 ms of a 1000-row batch
    on the server's event loop where lookups wait; a string it only copies."""
    texts = [None if value is None else str(value) for value in values]
    if None not in texts:  # the ignores: mypy does not narrow list[str | None] by this
        every = "".join(texts)  # type: ignore[arg-type]
        if '"' not in every and "\\" not in every:  # nearly always: nothing to escape
            return '{"' + '","'.join(texts) + '"}' if texts else "{}"  # type: ignore[arg-type]
    return "{" + ",".join("NULL" if text is None else _quoted(text) for text in texts) + "}"


def _quoted(text: str) -> str:
    if '"' in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _plain(provided: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in provided if c in _PLAIN)


def _db_value(column: str, value: Any) -> Any:
    if column == "attributes":
        return json.dumps(value if value is not None else {})
    if column == "status" and value is None:
        return "SUBSCRIBED"
    return value


async def update_subscriber(
    conn: AsyncConnection,
    account_id: int,
    subscriber_id: int,
    row: SubscriberWrite,
    provenance: Provenance | None = None,
) -> Record | None:
    """Change one subscriber by id, its number too; None if it is not in the account."""
    provenance = provenance or Provenance(datetime.now(UTC), "api")
    params = {
        "account_id": account_id,
        "subscriber_id": subscriber_id,
        **consent.params(provenance),
        **outbox.params(provenance),
        **row.key,
        **{c: _db_value(c, v) for c, v in row.profile.items()},
    }
    try:
        async with conn.begin_nested():
            return (await routing.execute(conn, account_id, _update_sql(row), params)).first()
    except IntegrityError as error:
        if "uq_subscribers_account_id_e164_number" not in str(error.orig):
            raise
        raise DuplicateError(
            f"another subscriber already has {row.key.get('e164_number')}.",
            field=("input", "number"),
        ) from None


def _update_sql(row: SubscriberWrite) -> str:
    def given(column: str) -> str | None:
        return _param(column) if column in row.profile else None

    source = given("consent_source")
    incoming = Incoming(
        status=given("status"),
        consented_at=given("consented_at"),
        consent_source=f"COALESCE({source}, :source)" if source else None,
        unsubscribed_at=given("unsubscribed_at"),
        unsubscribe_source=given("unsubscribe_source"),
    )
    sets = [f"{c} = {_param(c)}" for c in KEY_COLUMNS if c in row.key]
    sets += [f"{c} = {given(c)}" for c in _plain(tuple(row.profile))]
    sets += [*consent.updates(incoming), "updated_at = now()"]
    opt_out = _OPT_OUT if "status" in row.profile else ()
    written = (*(c for c in row.key if c in outbox.WRITTEN_KEYS), *row.profile, *opt_out)
    changed = outbox.changes(written)
    statement = f"""WITH up AS (
  UPDATE subscribers AS s SET {", ".join(sets)}
  WHERE s.account_id = CAST(:account_id AS bigint) AND s.id = CAST(:subscriber_id AS bigint)
  RETURNING s.*, false AS created, (s.status_changed_at = CAST(:at AS timestamptz)) AS changed,
    {changed} AS changes
),
{outbox.ctes()}"""
    if consent.asks(tuple(row.profile)):
        statement += ",\n" + consent.events_cte(incoming, None)
    return f"{statement}\nSELECT * FROM up"
