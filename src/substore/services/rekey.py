"""Use case: re-key the store when phonenumbers' metadata has moved (`substore rekey`).

`check` reads every row's key columns in keyset batches, all in one read-only snapshot,
and says per account what the installed phonenumbers makes of each (rekey/verdict.py).
`apply` does it: batches of the rows keyed by another version, each written in its own
short transaction (no table lock; live writes go on), so an interrupted run resumes by
running again: a row done is keyed by the installed version and is not read again.
A key already held by another row is a merge (rekey/merge.py). Invalid rows are listed
and left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from substore.errors import NotFoundError
from substore.phone import NORMALIZER_VERSION
from substore.rekey import merge as merging
from substore.rekey.recipes import Recipes, packaged
from substore.rekey.report import AccountReport, Finding, Kind, Report, resolve_collisions

__all__ = ["Kind", "Report", "apply", "check", "stale_counts"]
from substore.rekey.verdict import Outcome, Stored, Verdict, decide, needs_write, only_version
from substore.repository import merges
from substore.repository import rekey as repo
from substore.repository.consent import Provenance

CHECK_BATCH = 5_000
APPLY_BATCH = 1_000
RETRIES = 3  # a batch that met a concurrent write (deadlock, a key just taken) runs again
HOLDERS_CHUNK = 10_000

Progress = Callable[[int, int], None]  # (rows done in this step, rows in all)


def _no_progress(done: int, total: int) -> None:
    pass


async def stale_counts(conn: AsyncConnection) -> dict[str, int]:
    """Subscribers keyed by another phonenumbers version than the installed one, by version."""
    return await repo.stale_counts(conn, NORMALIZER_VERSION)


async def check(
    engine: AsyncEngine,
    account_id: int | None = None,
    progress: Progress = _no_progress,
    recipes: Recipes | None = None,
) -> Report:
    """What applying would do, account by account; writes nothing."""
    recipes = recipes or packaged()
    report = Report()
    async with engine.connect() as conn, conn.begin():
        await repo.begin_snapshot(conn)
        accounts = await _accounts(conn, account_id)
        total = await repo.count_rows(conn, account_id)
        for account in accounts:
            report.accounts.append(await _check_account(conn, account, recipes, total, progress))
    return report


async def _accounts(conn: AsyncConnection, account_id: int | None) -> list[int]:
    found = await repo.account_ids(conn, account_id)
    if account_id is not None and not found:
        raise NotFoundError(f"no account {account_id}: `substore accounts list` shows them.")
    return found


async def _check_account(
    conn: AsyncConnection, account_id: int, recipes: Recipes, total: int, progress: Progress
) -> AccountReport:
    result = AccountReport(account_id)
    changes: list[Finding] = []
    keys: dict[int, str] = {}
    after = 0
    while rows := await repo.read_batch(conn, account_id, after, CHECK_BATCH):
        after = rows[-1][0]
        for row in map(Stored._make, rows):
            verdict = decide(row, recipes)
            if verdict.outcome is Outcome.UNCHANGED:
                result.unchanged += 1
            elif verdict.outcome is Outcome.CHANGED:
                changes.append(_finding(account_id, row, verdict, Kind.CHANGE))
                keys[row.id] = row.e164_number
            else:
                result.findings.append(_finding(account_id, row, verdict, Kind.INVALID))
        result.rows += len(rows)
        progress(len(rows), total)
    holders = await _holders(conn, account_id, [c.new_e164_number or "" for c in changes])
    resolve_collisions(changes, holders, keys)
    result.findings[:0] = changes
    return result


async def _holders(conn: AsyncConnection, account_id: int, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), HOLDERS_CHUNK):
        found |= await repo.key_holders(conn, account_id, keys[start : start + HOLDERS_CHUNK])
    return found


def _finding(account_id: int, row: Stored, verdict: Verdict, kind: Kind) -> Finding:
    return Finding(
        account_id,
        row.id,
        kind,
        row.e164_number,
        verdict.new_e164,
        verdict.recipe,
        detail=verdict.reason or f"keyed by phonenumbers {row.normalizer_version}",
    )


async def apply(
    engine: AsyncEngine,
    account_id: int | None = None,
    progress: Progress = _no_progress,
    recipes: Recipes | None = None,
) -> Report:
    """Re-key every row keyed by another version, merging where keys meet."""
    recipes = recipes or packaged()
    provenance = Provenance(datetime.now(UTC), "rekey", f"substore rekey ({NORMALIZER_VERSION})")
    async with engine.connect() as conn:
        accounts = await _accounts(conn, account_id)
        stale = await repo.count_rows(conn, account_id, stale_from=NORMALIZER_VERSION)
    report = Report()
    for account in accounts:
        result = AccountReport(account)
        after = 0
        while rows := await _stale_batch(engine, account, after):
            after = rows[-1].id
            verdicts = [decide(row, recipes) for row in rows]
            batch = await _write_with_retries(engine, account, rows, verdicts, provenance)
            result.rows += len(rows)
            result.unchanged += batch.unchanged
            result.stamped += batch.stamped
            result.findings += batch.findings
            progress(len(rows), stale)
        report.accounts.append(result)
    return report


async def _stale_batch(engine: AsyncEngine, account_id: int, after: int) -> list[Stored]:
    async with engine.connect() as conn:
        rows = await repo.read_batch(conn, account_id, after, APPLY_BATCH, NORMALIZER_VERSION)
    return [Stored._make(row) for row in rows]


async def _write_with_retries(
    engine: AsyncEngine,
    account_id: int,
    rows: Sequence[Stored],
    verdicts: Sequence[Verdict],
    provenance: Provenance,
) -> AccountReport:
    for attempt in range(RETRIES):
        try:
            async with engine.begin() as conn:
                return await _write_batch(conn, account_id, rows, verdicts, provenance)
        except DBAPIError as error:
            if attempt == RETRIES - 1 or not _concurrent(error):
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _concurrent(error: DBAPIError) -> bool:
    """A deadlock, or a new key taken by a live write since it was looked up."""
    text = str(error.orig)
    return "deadlock detected" in text or "uq_subscribers_account_id_e164_number" in text


@dataclass(slots=True)
class _Plan:
    moves: list[repo.Move]
    merges: list[tuple[Stored, Verdict, int]]  # the row, its verdict, the survivor's id


async def _write_batch(
    conn: AsyncConnection,
    account_id: int,
    rows: Sequence[Stored],
    verdicts: Sequence[Verdict],
    provenance: Provenance,
) -> AccountReport:
    """One batch, in the caller's transaction: moves, then merges, then version stamps."""
    done = AccountReport(account_id)
    pairs = list(zip(rows, verdicts, strict=True))
    stamps = [(row.id, row.normalizer_version) for row, v in pairs if only_version(row, v)]
    writes = {row.id: (row, v) for row, v in pairs if needs_write(row, v)}
    for row, verdict in pairs:
        if verdict.outcome is Outcome.INVALID:
            done.findings.append(_finding(account_id, row, verdict, Kind.INVALID))
        if only_version(row, verdict):
            del writes[row.id]
    plan = await _plan(conn, account_id, list(writes.values()))
    moved = await repo.move_keys(conn, account_id, plan.moves, provenance)
    for move in plan.moves:
        if move.id in moved and move.old_e164 != move.key["e164_number"]:
            done.findings.append(_finding(account_id, *writes[move.id], Kind.CHANGE))
    for row, verdict, survivor in plan.merges:
        merged = await _merge(conn, account_id, row, verdict, survivor, provenance)
        if merged is not None:
            done.findings.append(merged)
    done.stamped = await repo.stamp_version(conn, account_id, stamps, NORMALIZER_VERSION)
    done.unchanged = len(rows) - len(done.findings)
    return done


async def _plan(
    conn: AsyncConnection, account_id: int, writes: Sequence[tuple[Stored, Verdict]]
) -> _Plan:
    """Which writes move a key and which merge into the row holding it (locked here)."""
    new_keys = [v.new_e164 or "" for r, v in writes if v.new_e164 != r.e164_number]
    holders = await repo.key_holders(conn, account_id, new_keys, lock=True)
    plan = _Plan([], [])
    for row, verdict in writes:
        new = verdict.new_e164 or ""
        holder = holders.get(new)
        if new != row.e164_number and holder is not None and holder != row.id:
            plan.merges.append((row, verdict, holder))
            continue
        holders[new] = row.id  # a later row of this batch with the same new key merges here
        note = f"recipe {verdict.recipe}" if verdict.recipe else "read again"
        note += f"; keyed by phonenumbers {row.normalizer_version}, now {NORMALIZER_VERSION}"
        key = verdict.key or {}
        plan.moves.append(repo.Move(row.id, row.e164_number, row.normalizer_version, key, note))
    return plan


async def _merge(
    conn: AsyncConnection,
    account_id: int,
    row: Stored,
    verdict: Verdict,
    survivor_id: int,
    provenance: Provenance,
) -> Finding | None:
    """Merge `row` into the row holding its new key; None when either has changed since."""
    locked = await repo.lock_rows(conn, account_id, [row.id, survivor_id])
    absorbed, survivor = locked.get(row.id), locked.get(survivor_id)
    if absorbed is None or survivor is None or absorbed["e164_number"] != row.e164_number:
        return None
    if survivor["e164_number"] != verdict.new_e164:
        return None
    merged = merging.merge(survivor, absorbed)
    history = (
        f"merged subscriber {row.id} ({row.e164_number}, keyed by phonenumbers "
        f"{row.normalizer_version}) into {verdict.new_e164}: {merged.why}"
    )
    await merges.merge_into(
        conn, account_id, survivor, absorbed, merged.values, history, provenance
    )
    finding = _finding(account_id, row, verdict, Kind.MERGED)
    finding.other_subscriber_id, finding.other_e164_number = survivor_id, verdict.new_e164
    finding.detail = merged.why
    return finding
