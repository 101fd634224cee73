"""What `substore rekey` found or did, per account: counts, and a finding per row that
changes, collides or is invalid (the CSV of --output). Collisions are decided here, for
the check, as apply meets them: a new key already held by a row that keeps it, or shared
by several rows (the lowest id takes it, the others merge into it). Pure."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import TextIO


class Kind(StrEnum):
    CHANGE = "key change"
    COLLISION = "collision"  # the check: the row would merge with another
    MERGED = "merged"  # apply: it did
    INVALID = "invalid"


@dataclass(slots=True)
class Finding:
    """One row of the report. A collision names both keys: the row's own and the key of
    the row it would share its new key with."""

    account_id: int
    subscriber_id: int
    kind: Kind
    e164_number: str  # the stored key
    new_e164_number: str | None = None
    recipe: str | None = None
    other_subscriber_id: int | None = None
    other_e164_number: str | None = None
    detail: str = ""

    def line(self) -> str:
        """The finding as one line for a person."""
        text = f"{self.kind:<10}  subscriber {self.subscriber_id}  {self.e164_number}"
        if self.new_e164_number:
            text += f" -> {self.new_e164_number}"
        if self.other_subscriber_id is not None:
            text += f", the key of subscriber {self.other_subscriber_id} ({self.other_e164_number})"
        if self.recipe:
            text += f"  [recipe {self.recipe}]"
        return text + (f"  {self.detail}" if self.detail else "")


@dataclass(slots=True)
class AccountReport:
    account_id: int
    rows: int = 0
    unchanged: int = 0
    stamped: int = 0  # apply: unchanged keys now recorded as read by the installed version
    findings: list[Finding] = field(default_factory=list)

    def count(self, kind: Kind) -> int:
        return sum(1 for finding in self.findings if finding.kind is kind)

    def summary(self) -> str:
        by_recipe = sum(1 for f in self.findings if f.kind is Kind.CHANGE and f.recipe)
        parts = [
            f"{self.rows:,} rows",
            f"{self.unchanged:,} unchanged",
            f"{self.count(Kind.CHANGE):,} key changes ({by_recipe:,} by a recipe)",
            f"{self.count(Kind.COLLISION) + self.count(Kind.MERGED):,} collisions",
            f"{self.count(Kind.INVALID):,} invalid",
        ]
        if self.count(Kind.MERGED):
            parts[3] += " (merged)"
        return f"account {self.account_id}: " + ", ".join(parts)


@dataclass(slots=True)
class Report:
    accounts: list[AccountReport] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Rows whose key would change (or did): key changes and collisions."""
        kinds = (Kind.CHANGE, Kind.COLLISION, Kind.MERGED)
        return sum(a.count(kind) for a in self.accounts for kind in kinds)

    @property
    def findings(self) -> Iterable[Finding]:
        for account in self.accounts:
            yield from account.findings


def resolve_collisions(
    changes: list[Finding], holders: Mapping[str, int], keys: Mapping[int, str]
) -> None:
    """Mark the key changes (in id order) that would collide, naming the other row.

    `holders`: the rows that hold the new keys now; `keys`: the changing rows' current keys.
    A holder that is itself changing to another key frees its key, so it is no collision."""
    moving = {c.subscriber_id: c.new_e164_number for c in changes}
    taken: dict[str, Finding] = {}
    for change in changes:
        new = change.new_e164_number
        assert new is not None  # a key change always has its new key
        holder = holders.get(new)
        if (
            holder is not None
            and holder != change.subscriber_id
            and moving.get(holder) in (None, new)
        ):
            _collide(change, holder, new)
        elif (first := taken.get(new)) is not None:
            _collide(change, first.subscriber_id, keys[first.subscriber_id])
        else:
            taken[new] = change


def _collide(change: Finding, other_id: int, other_e164: str) -> None:
    change.kind = Kind.COLLISION
    change.other_subscriber_id, change.other_e164_number = other_id, other_e164
    change.detail = change.detail or "would merge into the other row (rekey --apply)"


def write_csv(report: Report, out: TextIO) -> int:
    """Every finding as a CSV row (header first); how many."""
    names = [f.name for f in fields(Finding)]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    count = 0
    for finding in report.findings:
        row = asdict(finding)
        row["kind"] = str(finding.kind)
        writer.writerow(row)
        count += 1
    return count
