"""A subscriber's profile fields as a caller gives them: checked, blanks made None.

Consent's times are evidence of something that happened: never in the future, never
cleared, and an opt-out's own time makes the row UNSUBSCRIBED unless consent came after.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from substore.errors import ErrorCode, ValidationError
from substore.models import SubscriberStatus
from substore.text import json_problem, text_problem

MAX_NAME_LENGTH = 255
MAX_EMAIL_LENGTH = 254
MAX_ATTRIBUTES_BYTES = 16_384
MAX_SOURCE_LENGTH = 200
CLOCK_SKEW = timedelta(minutes=1)  # a caller's clock a little ahead is not the future
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def validate_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Check the given profile fields; blanks become None (which clears)."""
    clean = dict(profile)
    for name in ("first_name", "last_name", "email"):
        if name in clean:
            clean[name] = _text(clean[name], name)
    for name in ("first_name", "last_name"):
        if clean.get(name) and len(clean[name]) > MAX_NAME_LENGTH:
            raise _too_long(name, MAX_NAME_LENGTH)
    if clean.get("email"):
        _check_email(clean["email"])
    if "attributes" in clean:
        check_attributes(clean["attributes"])
    if clean.get("status") is not None and clean["status"] not in _STATUSES:
        raise ValidationError("status must be SUBSCRIBED or UNSUBSCRIBED.", field=("status",))
    if not _CONSENT.isdisjoint(clean):  # most imports give none of them
        _check_consent(clean)
    return clean


_STATUSES = frozenset(SubscriberStatus)
_CONSENT = frozenset({"consent_source", "unsubscribe_source", "consented_at", "unsubscribed_at"})


def _check_consent(clean: dict[str, Any]) -> None:
    """consentedAt and unsubscribedAt are evidence: never in the future, never cleared
    (null is "not given")."""
    for source in ("consent_source", "unsubscribe_source"):
        if source in clean:
            clean[source] = _text(clean[source], source)
            if clean[source] and len(clean[source]) > MAX_SOURCE_LENGTH:
                raise _too_long(source, MAX_SOURCE_LENGTH)
    if clean.get("unsubscribe_source") is None:
        clean.pop("unsubscribe_source", None)  # only beside its time: see _opt_out_evidence
    for moment, advice in _EVIDENCE.items():
        if clean.get(moment) is None:
            clean.pop(moment, None)
        else:
            clean[moment] = not_in_future(clean[moment], _camel(moment), advice)
    _opt_out_evidence(clean)


_EVIDENCE = {
    "consented_at": "give the time consent was given",
    "unsubscribed_at": "give the time the person opted out",
}


def _opt_out_evidence(clean: dict[str, Any]) -> None:
    """An opt-out's own time is the opt-out: the subscriber is UNSUBSCRIBED unless the row
    shows consent given after it (a resubscribed subscriber, as an export writes one).
    Opt-outs stick, so SUBSCRIBED beside an unanswered opt-out becomes UNSUBSCRIBED
    (prepare warns OPTED_OUT)."""
    opted_out_at = clean.get("unsubscribed_at")
    if opted_out_at is None:
        return
    consented_at = clean.get("consented_at")
    if consented_at is None or consented_at <= opted_out_at:
        clean["status"] = "UNSUBSCRIBED"


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...


def as_utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC (as PostGraphile and Hasura read it), so that
    it compares with zoned times instead of failing."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def not_in_future(moment: datetime, field_name: str, advice: str) -> datetime:
    """`moment` (in UTC if it has no zone), unless it is later than now: evidence of
    something that happened. A clock a minute ahead is not the future."""
    moment = as_utc(moment)
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        raise ValidationError(
            f"{field_name} {moment.isoformat()} is in the future: {advice} "
            "(a time without a zone is read as UTC).",
            field=(field_name,),
        )
    return moment


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if problem := text_problem(text):
        raise ValidationError(f"{_camel(name)} {problem}: remove it.", field=(_camel(name),))
    return text or None


def _too_long(name: str, limit: int) -> ValidationError:
    return ValidationError(
        f"{_camel(name)} is longer than {limit} characters.",
        field=(_camel(name),),
        code=ErrorCode.PARAMETER_TOO_LONG,
    )


def _check_email(email: str) -> None:
    if len(email) > MAX_EMAIL_LENGTH:
        raise _too_long("email", MAX_EMAIL_LENGTH)
    if not _EMAIL.fullmatch(email):
        raise ValidationError(
            f"{email!r} is not an email address like name@example.com.",
            field=("email",),
            code=ErrorCode.INVALID_EMAIL_FORMAT,
        )


def check_attributes(attributes: Any) -> None:
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        raise ValidationError(
            'attributes must be a JSON object, e.g. {"plan": "gold"}.',
            field=("attributes",),
        )
    if found := json_problem(attributes):
        path, problem = found
        where = "attributes" + "".join(f"[{key!r}]" for key in path)
        raise ValidationError(f"{where} {problem}.", field=("attributes",))
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise _too_long("attributes", MAX_ATTRIBUTES_BYTES)


def snake_name(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
