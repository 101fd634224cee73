"""Two rows found to be one person once re-keyed: what the surviving row keeps. Pure.

The rules are an import's, applied as if the row written longer ago were imported first
and the more recently written one after it:

- profile: the later row's first name, last name and email, each where it has one, else
  the earlier row's; attributes merged key by key, the later row's winning (an import's
  later fields win; nothing either row holds is dropped for a blank);
- consent, conservatively: an opt-out on either row wins unless the other row is
  SUBSCRIBED with consent evidence (consentedAt) later than that opt-out, exactly the test
  an import applies to a SUBSCRIBED row meeting an opted-out one; of two opt-outs the later
  one counts (every STOP is evidence), and consent is recorded only where it leaves the
  person subscribed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SUBSCRIBED, UNSUBSCRIBED = "SUBSCRIBED", "UNSUBSCRIBED"
PROFILE = ("first_name", "last_name", "email")
CONSENT = ("status", "consented_at", "consent_source", "unsubscribed_at", "unsubscribe_source")
_NEVER = datetime.min.replace(tzinfo=UTC)  # an opt-out with no time: beaten by any consent

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Merged:
    """The surviving row's new profile and consent columns, and why its status is what it is."""

    values: dict[str, Any]
    status_changed: bool
    why: str


def merge(survivor: Row, absorbed: Row) -> Merged:
    """What `survivor` holds once `absorbed` (the same person) is merged into it."""
    earlier, later = sorted((absorbed, survivor), key=_written)
    values = {name: later[name] if later[name] is not None else earlier[name] for name in PROFILE}
    values["attributes"] = {**(earlier["attributes"] or {}), **(later["attributes"] or {})}
    consent, why = decide_consent(survivor, absorbed)
    values |= consent
    return Merged(values, consent["status"] != survivor["status"], why)


def decide_consent(one: Row, other: Row) -> tuple[dict[str, Any], str]:
    """The consent columns of two rows of one person, and a sentence saying why."""
    outs = [row for row in (one, other) if row["status"] == UNSUBSCRIBED]
    if not outs:
        latest = max((one, other), key=lambda row: _time(row["consented_at"]))
        kept = {**_fields(latest, "consent"), **_fields(_latest_opt_out(one, other), "opt-out")}
        return {"status": SUBSCRIBED, **kept}, "both rows were subscribed"
    opt_out = max(outs, key=lambda row: _time(row["unsubscribed_at"]))
    rival = other if opt_out is one else one
    if _consented_after(rival, opt_out):
        kept = {**_fields(rival, "consent"), **_fields(opt_out, "opt-out")}
        why = (
            f"consent given {_when(rival['consented_at'])} is later than the opt-out of "
            f"{_when(opt_out['unsubscribed_at'])}: SUBSCRIBED"
        )
        return {"status": SUBSCRIBED, **kept}, why
    kept = {**_fields(opt_out, "consent"), **_fields(opt_out, "opt-out")}
    why = (
        f"the opt-out of {_when(opt_out['unsubscribed_at'])} holds: no consent given after "
        "it, so UNSUBSCRIBED"
    )
    return {"status": UNSUBSCRIBED, **kept}, why


def _consented_after(rival: Row, opt_out: Row) -> bool:
    if rival["status"] != SUBSCRIBED or rival["consented_at"] is None:
        return False
    return bool(_time(rival["consented_at"]) > _time(opt_out["unsubscribed_at"]))


def _latest_opt_out(one: Row, other: Row) -> Row:
    return max((one, other), key=lambda row: _time(row["unsubscribed_at"]))


def _fields(row: Row, kind: str) -> dict[str, Any]:
    if kind == "consent":
        return {"consented_at": row["consented_at"], "consent_source": row["consent_source"]}
    return {
        "unsubscribed_at": row["unsubscribed_at"],
        "unsubscribe_source": row["unsubscribe_source"],
    }


def _written(row: Row) -> tuple[datetime, int]:
    # Ties (one transaction wrote both) go by id: the row made later is the later one.
    return _time(row["updated_at"]), int(row["id"])


def _time(moment: datetime | None) -> datetime:
    return _NEVER if moment is None else moment


def _when(moment: datetime | None) -> str:
    return "unknown time" if moment is None else moment.isoformat(timespec="seconds")
