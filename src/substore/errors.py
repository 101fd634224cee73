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
    """Codes of `userErrors`, from the vendor vocabularies in shared/seeds.

    What each means is in ERROR_CODE_MEANINGS below: the GraphQL enum's value descriptions
    and the docs' error-code page both read it.
    """

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


# One sentence a code, for a person reading an error: the description of the GraphQL enum
# value (graphql/types.py) and the code's row on the docs' error-code page
# (docs/gen/reference.py), so the two cannot say different things.
ERROR_CODE_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.PARAMETER_REQUIRED: "A required field is missing or blank (a number, an id).",
    ErrorCode.PARAMETER_INVALID: "A value that cannot be used: unknown enum, bad cursor, text "
    "the store cannot hold, a future consentedAt.",
    ErrorCode.PARAMETER_TOO_LONG: "Over a length or count limit: more than 1000 rows, a search "
    "over 100 characters.",
    ErrorCode.PARAMETER_TOO_SHORT: "Under a minimum length, such as a key prefix too short to "
    "name one key.",
    ErrorCode.CONFLICTING_PARAMETERS: "Arguments that cannot go together (first with last); as "
    "a warning, a number kept opted out.",
    ErrorCode.ONE_OF_SEVERAL_PARAMETERS_REQUIRED: "Exactly one of several arguments is needed "
    "(a subscriber by id or by number).",
    ErrorCode.INVALID_PHONENUMBER_FORMAT: "The number cannot be made canonical E.164; the "
    "error's reason says why (NOT_A_NUMBER, TOO_SHORT ...).",
    ErrorCode.INVALID_COUNTRYCODE_FORMAT: "A region that is neither an ISO 3166-1 code nor an "
    "English country name.",
    ErrorCode.INVALID_EMAIL_FORMAT: "An email address that is not one.",
    ErrorCode.INVALID_DATE_RANGE: "A time range whose end comes before its start "
    "(createdAfter after createdBefore).",
    ErrorCode.RECORD_NOT_FOUND: "No such record in the caller's account (also for another "
    "account's: existence never leaks).",
    ErrorCode.DUPLICATE_RESOURCE: "The change would take a unique key another record holds "
    "(moving to a number in use).",
    ErrorCode.FORBIDDEN: "The key's scope does not allow the operation.",
}


class PhoneReason(StrEnum):
    """Why a phone number was refused (the `reason` of INVALID_PHONENUMBER_FORMAT)."""

    # Not a number at all, a negative or non-integer one, or a spreadsheet-rounded one.
    NOT_A_NUMBER = "NOT_A_NUMBER"
    # The country calling code does not exist.
    INVALID_COUNTRY_CODE = "INVALID_COUNTRY_CODE"
    # Too few digits for a number of its country.
    TOO_SHORT = "TOO_SHORT"
    # Too many digits for its country, or over E.164's 15.
    TOO_LONG = "TOO_LONG"
    # A length no number of its country has.
    INVALID_LENGTH = "INVALID_LENGTH"
    # Dialable only locally (a 7-digit US number): add the area code.
    LOCAL_ONLY = "LOCAL_ONLY"
    # A short or emergency code (911, 112, 999), not a subscriber number.
    SHORT_CODE = "SHORT_CODE"
    # The right length, but not a number in use.
    INVALID_NUMBER = "INVALID_NUMBER"
    # E.164 has no extensions.
    HAS_EXTENSION = "HAS_EXTENSION"
    # e164Number is not + and 1-15 digits.
    NOT_E164 = "NOT_E164"

    # The four below are warnings: the number was stored, but read in a way worth checking.

    # A warning: number and e164Number disagree; e164Number won.
    NUMBER_MISMATCH = "NUMBER_MISMATCH"
    # A warning: a spreadsheet's rendering of an integer (4155552671.0) read as its digits.
    SPREADSHEET_NUMBER = "SPREADSHEET_NUMBER"
    # A warning: the country code was read from the digits (the documented fallback, rule 5).
    COUNTRY_CODE_INFERRED = "COUNTRY_CODE_INFERRED"
    # A warning: a country written as people write it ("England") was read as its ISO code.
    COUNTRY_NAME_READ = "COUNTRY_NAME_READ"


class RequestCode(StrEnum):
    """Request-level codes (GraphQL `errors[].extensions.code`) and their HTTP status."""

    # No credential, an unknown or revoked key, or a JWT that fails a check (the message says
    # which).
    UNAUTHENTICATED = "UNAUTHENTICATED"
    # A mutation with a read key or token.
    FORBIDDEN = "FORBIDDEN"
    # Not a well-formed request, or (400 or 200 by media type) a document that does not run.
    BAD_REQUEST = "BAD_REQUEST"
    # A mutation over GET (Allow: POST).
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    # An Accept that takes neither application/graphql-response+json nor application/json.
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    # A POST that is not application/json.
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    # A body over SUBSTORE_MAX_BODY_BYTES.
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    # An Authorization header over 4,096 bytes.
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    # Over the key's rate limit, too many unknown keys from one address, too many connections
    # or subscriptions; Retry-After says when.
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    # Over a limit of depth, fragments, fields, aliases, tokens or nesting.
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    # A documentId or persisted-query hash this server has not registered.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    # With SUBSTORE_TRUSTED_DOCUMENTS_ONLY, a sign-in token sent an unregistered document.
    TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"
    # The database cannot be reached (Retry-After); nothing was stored, retrying is safe.
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # A bug: the message is masked and carries a request id, the log has the traceback.
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
