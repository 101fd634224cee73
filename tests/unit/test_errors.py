"""substore.errors: the catalogue and how errors read."""

from __future__ import annotations

from substore.errors import (
    ErrorCode,
    NotFoundError,
    PhoneNumberError,
    RequestCode,
    UserError,
)


def test_user_error_moves_under_an_input_path():
    error = UserError(ErrorCode.INVALID_PHONENUMBER_FORMAT, "bad", ("number",), "TOO_SHORT")
    assert error.under("input", "3").field == ("input", "3", "number")


def test_exception_str_names_code_reason_and_field():
    error = PhoneNumberError("'12' is too short.", field=("number",), reason="TOO_SHORT")
    assert str(error) == "INVALID_PHONENUMBER_FORMAT (TOO_SHORT) at number: '12' is too short."


def test_each_exception_has_its_code():
    assert NotFoundError("gone").code is ErrorCode.RECORD_NOT_FOUND
    assert PhoneNumberError("x", code=ErrorCode.PARAMETER_REQUIRED).code is (
        ErrorCode.PARAMETER_REQUIRED
    )


def test_request_codes_have_real_http_statuses():
    assert RequestCode.UNAUTHENTICATED.http_status == 401
    assert RequestCode.TOO_MANY_REQUESTS.http_status == 429
    assert {code.http_status for code in RequestCode} >= {400, 403, 413, 415, 500}
