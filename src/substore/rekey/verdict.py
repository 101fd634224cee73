"""One stored row read again with the installed phonenumbers: is its key still right?

The row is read as its original write read it: a key made from a `+` number (or from
e164Number) is its E.164 read again; any other from its raw number in the default region
it was read in, inferring a country code only where the original write did. Where that
reading fails and the stored key is no longer a valid number, libphonenumber's recipes
(recipes.py) say what the number became. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from substore import phone
from substore.errors import SubstoreError
from substore.phone import NormalizedNumber
from substore.preparation import key_columns
from substore.rekey.recipes import Recipes

# The key columns a re-read may change; raw_number is what the caller sent and stays.
DERIVED = (
    "e164_number",
    "number",
    "country_code",
    "region_code",
    "number_type",
    "country_code_source",
    "default_region",
    "normalizer_version",
    "time_zones",
)


class Stored(NamedTuple):
    """A stored row's key columns, in the order repository/rekey.py selects them."""

    id: int
    e164_number: str
    number: str
    raw_number: str
    country_code: int
    region_code: str | None
    number_type: str
    country_code_source: str
    default_region: str | None
    normalizer_version: str
    time_zones: str


class Outcome(StrEnum):
    UNCHANGED = "unchanged"  # the same key (its other key columns may be refreshed)
    CHANGED = "key change"
    INVALID = "invalid"  # no valid reading and no recipe: listed, left as it is


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    key: dict[str, Any] | None = None  # the key columns as the installed version makes them
    recipe: str | None = None  # the recipes used, by name
    reason: str | None = None  # why the number is invalid

    @property
    def new_e164(self) -> str | None:
        return None if self.key is None else self.key["e164_number"]


def decide(row: Stored, recipes: Recipes) -> Verdict:
    """What the installed phonenumbers says `row`'s key is now."""
    try:
        reading: NormalizedNumber | None = _reread(row)
        problem = ""
    except SubstoreError as error:
        reading, problem = None, str(error.args[0])
    if reading is not None and reading.e164_number == row.e164_number:
        return Verdict(Outcome.UNCHANGED, _columns(reading, row, keep_source=False))
    if reading is not None:
        return Verdict(Outcome.CHANGED, _columns(reading, row, keep_source=False))
    if (still := _valid(row.e164_number)) is not None:
        # The raw number no longer reads as it did, but the key is still a number in use.
        return Verdict(Outcome.UNCHANGED, _columns(still, row, keep_source=True))
    migration = recipes.migrate(row.e164_number, row.country_code)
    if migration is None:
        return Verdict(Outcome.INVALID, reason=problem or "no longer a valid number")
    migrated = _valid(migration.e164_number)
    if migrated is None:
        reason = f"its recipe gives {migration.e164_number}, not a valid number either"
        return Verdict(Outcome.INVALID, recipe=migration.recipe_names, reason=reason)
    key = _columns(migrated, row, keep_source=True)
    return Verdict(Outcome.CHANGED, key, recipe=migration.recipe_names)


def needs_write(row: Stored, verdict: Verdict) -> bool:
    """Whether applying `verdict` writes anything (an invalid row is left as it is)."""
    if verdict.key is None:
        return False
    return any(verdict.key[column] != getattr(row, column) for column in DERIVED)


def only_version(row: Stored, verdict: Verdict) -> bool:
    """The key columns are as the installed version makes them but for the version itself."""
    if verdict.key is None:
        return False
    return all(
        verdict.key[c] == getattr(row, c) for c in DERIVED if c != "normalizer_version"
    ) and (verdict.key["normalizer_version"] != row.normalizer_version)


def _reread(row: Stored) -> NormalizedNumber:
    if row.country_code_source == phone.CountryCodeSource.PLUS_SIGN:
        # From a + number or e164Number: the key is the E.164 given (a number beside a
        # different e164Number is only a warning, so its raw number decided nothing).
        return phone.normalize(None, row.e164_number)
    inferred = row.country_code_source == phone.CountryCodeSource.INFERRED
    return phone.normalize(
        row.raw_number,
        default_region=row.default_region,
        strict_country_code=not inferred,  # no guess the original write did not make
    )


def _valid(e164: str) -> NormalizedNumber | None:
    try:
        return phone.normalize(None, e164)
    except SubstoreError:
        return None


def _columns(reading: NormalizedNumber, row: Stored, *, keep_source: bool) -> dict[str, Any]:
    columns = key_columns(reading)
    columns["raw_number"] = row.raw_number
    columns["default_region"] = row.default_region
    if keep_source:  # read from the E.164 alone: the original reading's source stands
        columns["country_code_source"] = row.country_code_source
    return columns
