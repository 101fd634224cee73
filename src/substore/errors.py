"""The error-code catalogue and the exception tree. Imports nothing of the package.

Expected problems travel as data (`UserError`, shown to callers in `userErrors`);
the exceptions below carry one `UserError` each so a layer can raise and the edge
can turn it back into data.

    SubstoreError                 any expected, user-facing problem (has .user_error)
    ├── ValidationError           the input is wrong: PARAMETER_*, INVALID_*_FORMAT, ...
    │   └── PhoneNumberError      a phone number could not be made canonical E.164
    ├── NotFoundError             RECORD_NOT_FOUND (also for another account's records)
    ├── DuplicateError            DUPLICATE_RESOURCE (a unique key is taken)
    └── ForbiddenError            FORBIDDEN (the key's scope does not allow it)
    ConfigError                   settings or environment unusable (not a user error)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    """Codes of `userErrors`, from the vendor vocabularies in shared/seeds."""

    PARAMETER_REQUIRED = "PARAMETER_REQUIRED"
    PARAMETER_INVALID = "PARAMETER_INVALID"
    PARAMETER_TOO_LONG = "PARAMETER_TOO_LONG"
    PARAMETER_TOO_SHORT = "PARAMETER_TOO_SHORT"
    CONFLICTING_PARAMETERS = "CONFLICTING_PARAMETERS"
    ONE_OF_SEVERAL_PARAMETERS_REQUIRED = "ONE_OF_SEVERAL_PARAMETERS_REQUIRED"
    INVALID_PHONENUMBER_FORMAT = "INVALID_PHONENUMBER_FORMAT"
    INVALID_COUNTRYCODE_FORMAT = "INVALID_COUNTRYCODE_FORMAT"
    INVALID_EMAIL_FORMAT = "INVALID_EMAIL_FORMAT"
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    RECORD_NOT_FOUND = "RECORD_NOT_FOUND"
    DUPLICATE_RESOURCE = "DUPLICATE_RESOURCE"
    FORBIDDEN = "FORBIDDEN"


class PhoneReason(StrEnum):
    """Why a phone number was refused (the `reason` of INVALID_PHONENUMBER_FORMAT)."""

    NOT_A_NUMBER = "NOT_A_NUMBER"
    INVALID_COUNTRY_CODE = "INVALID_COUNTRY_CODE"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    INVALID_LENGTH = "INVALID_LENGTH"
    LOCAL_ONLY = "LOCAL_ONLY"
    SHORT_CODE = "SHORT_CODE"
    INVALID_NUMBER = "INVALID_NUMBER"
    HAS_EXTENSION = "HAS_EXTENSION"
    NOT_E164 = "NOT_E164"
    # Warnings only: the number was stored, but read in a way worth checking.
    NUMBER_MISMATCH = "NUMBER_MISMATCH"  # number and e164Number disagree; e164Number won
    SPREADSHEET_NUMBER = "SPREADSHEET_NUMBER"  # 4155552671.0 read as 4155552671
    COUNTRY_CODE_INFERRED = "COUNTRY_CODE_INFERRED"  # the documented fallback (rule 5)
    COUNTRY_NAME_READ = "COUNTRY_NAME_READ"  # "England" read as GB, "Deutschland" as DE


class RequestCode(StrEnum):
    """Request-level codes (GraphQL `errors[].extensions.code`) and their HTTP status."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


_HTTP_STATUS = {
    RequestCode.UNAUTHENTICATED: 401,
    RequestCode.FORBIDDEN: 403,
    RequestCode.BAD_REQUEST: 400,
    RequestCode.METHOD_NOT_ALLOWED: 405,
    RequestCode.NOT_ACCEPTABLE: 406,
    RequestCode.UNSUPPORTED_MEDIA_TYPE: 415,
    RequestCode.PAYLOAD_TOO_LARGE: 413,
    RequestCode.HEADERS_TOO_LARGE: 431,
    RequestCode.TOO_MANY_REQUESTS: 429,
    RequestCode.QUERY_TOO_COMPLEX: 400,
    RequestCode.PERSISTED_QUERY_NOT_FOUND: 400,
    RequestCode.TRUSTED_DOCUMENT_REQUIRED: 400,
    RequestCode.SERVICE_UNAVAILABLE: 503,
    RequestCode.INTERNAL_SERVER_ERROR: 500,
}


@dataclass(frozen=True, slots=True)
class UserError:
    """One expected problem, as data: what the `UserError` GraphQL type shows."""

    code: ErrorCode
    message: str
    field: tuple[str, ...] = ()
    reason: str | None = None

    def under(self, *prefix: str) -> UserError:
        """The same problem, with its field path placed under `prefix` (e.g. input, 3)."""
        return UserError(self.code, self.message, (*prefix, *self.field), self.reason)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": str(self.code),
            "field": list(self.field),
            "message": self.message,
            "reason": self.reason,
        }


class SubstoreError(Exception):
    """An expected problem a caller can fix; carries it as a `UserError`."""

    default_code = ErrorCode.PARAMETER_INVALID

    def __init__(
        self,
        message: str,
        *,
        field: Sequence[str] = (),
        reason: str | None = None,
        code: ErrorCode | None = None,
    ) -> None:
        super().__init__(message)
        self.user_error = UserError(code or self.default_code, message, tuple(field), reason)

    @property
    def code(self) -> ErrorCode:
        return self.user_error.code

    @property
    def reason(self) -> str | None:
        return self.user_error.reason

    def __str__(self) -> str:
        where = ".".join(self.user_error.field)
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.code}{why}{' at ' + where if where else ''}: {self.args[0]}"


class ValidationError(SubstoreError):
    """Raised when an input value is missing, malformed or out of range."""


class PhoneNumberError(ValidationError):
    """Raised when a phone number cannot be made canonical E.164."""

    default_code = ErrorCode.INVALID_PHONENUMBER_FORMAT


class NotFoundError(SubstoreError):
    """Raised when a record does not exist in the caller's account."""

    default_code = ErrorCode.RECORD_NOT_FOUND


class DuplicateError(SubstoreError):
    """Raised when a change would take a unique key another record holds."""

    default_code = ErrorCode.DUPLICATE_RESOURCE


class ForbiddenError(SubstoreError):
    """Raised when the caller's key does not allow the operation."""

    default_code = ErrorCode.FORBIDDEN


class ConfigError(Exception):
    """Raised when settings or the environment cannot work (bad URL, unwritable dir)."""
