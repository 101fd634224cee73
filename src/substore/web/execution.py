"""Running one checked operation: who calls, one connection, one transaction for writes,
and the request-level code (and HTTP status) its errors earn.

A response has `data` only when the operation ran and the status is 2xx: a document
that fails validation or variable coercion never starts (the status is then its media
type's, media.py), a 403 ran none of its fields, and a 5xx's transaction is rolled
back, so partial data would only mislead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from cachetools import TTLCache
from graphql import OperationType
from graphql.error import GraphQLError, GraphQLFormattedError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.responses import JSONResponse, Response

from substore import auth, services
from substore.cpu import CpuPool
from substore.errors import RequestCode as Code
from substore.graphql.context import Context
from substore.graphql.plans import Plans, Unplannable
from substore.graphql.rows import ImportRows
from substore.web.lookups import Lookups
from substore.web.media import MediaType
from substore.web.operation import Operation
from substore.web.outage import RETRY_AFTER_SECONDS, is_conflict, is_unavailable
from substore.web.readers import Readers

log = logging.getLogger("substore.web")


@dataclass(frozen=True)
class Runtime:
    """What the endpoint works with, made once per app."""

    engine: AsyncEngine
    schema: Any
    cpu: CpuPool
    accounts: TTLCache[int, services.Record]
    readers: Readers
    plans: Plans | None  # None: every operation through the plain executor
    rows: ImportRows | None  # None: import rows coerced by graphql-core too
    webhook_allow_private: bool = False  # SUBSTORE_WEBHOOK_ALLOW_PRIVATE
    lookups: Lookups | None = None  # None: each lookup by number a statement of its own


def masked(request_id: str) -> str:
    return f"Internal server error; quote request id {request_id} when reporting it."


UNAVAILABLE_MESSAGE = f"The database is unavailable; retry in {RETRY_AFTER_SECONDS} s."


@dataclass(frozen=True, slots=True)
class Call:
    """One admitted request: who calls, what it runs, what to answer with."""

    principal: auth.Principal
    operation: Operation
    request_id: str
    headers: dict[str, str]  # the rate limiter's
    media: MediaType  # of the answer


async def execute(runtime: Runtime, call: Call, fields: dict[str, Any]) -> Response:
    """Run the call's operation; `fields` gets the first error's code (for the log)."""
    operation = call.operation
    # Reads need no transaction (and its BEGIN/COMMIT round trips): they borrow a reader,
    # already in autocommit. Writes get a connection of their own, and exactly one.
    if operation.kind is OperationType.QUERY:
        async with runtime.readers.lease() as lease:
            conn = lease.connection
            outcome = await _answer(runtime, call, conn)
            lease.keep = outcome.status < 500
    else:
        outcome = await _write(runtime, call)
    if outcome.changed:  # updateAccount: read again by the next request, after the commit
        runtime.accounts.pop(outcome.account_id, None)
    if outcome.errors:
        fields["code"] = outcome.errors[0]["extensions"]["code"]
    status = call.media.failed_document_status if outcome.refused else outcome.status
    headers = {"X-Request-Id": call.request_id, **call.headers}
    if status == Code.SERVICE_UNAVAILABLE.http_status:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return GraphQLResponse(outcome.body(), status, headers, call.media.content_type)


WRITE_ATTEMPTS = 3
CONFLICT_MESSAGE = (
    "The write met a concurrent one and PostgreSQL ended it (a deadlock); nothing was "
    f"stored: retry in {RETRY_AFTER_SECONDS} s."
)


class _Conflict(Exception):
    """A write's transaction was ended by PostgreSQL to let a concurrent one go on."""


async def _write(runtime: Runtime, call: Call) -> Outcome:
    """A mutation in a transaction of its own, run again (a few times) when PostgreSQL
    ends it to break a deadlock: writes that lock an account's subscribers and then its
    event counter can meet in either order, and a retry is what PostgreSQL prescribes."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            async with runtime.engine.connect() as conn:
                return await _answer(runtime, call, conn)
        except _Conflict:
            continue
    problem: GraphQLFormattedError = {
        "message": CONFLICT_MESSAGE,
        "extensions": {"code": str(Code.SERVICE_UNAVAILABLE), "requestId": call.request_id},
    }
    status = Code.SERVICE_UNAVAILABLE.http_status
    return Outcome(call.principal.account_id, None, [problem], status, False, True)


@dataclass(frozen=True, slots=True)
class Outcome:
    account_id: int
    data: Any
    errors: list[GraphQLFormattedError]
    status: int
    changed: bool  # the account itself
    started: bool  # execution began: not refused by validation or variable coercion

    @property
    def refused(self) -> bool:
        """The document failed validation or variable coercion: it never ran."""
        return not self.started and self.status == Code.BAD_REQUEST.http_status

    def body(self) -> dict[str, Any]:
        body = {"data": self.data} if self.started and self.status < 400 else {}
        return body | ({"errors": self.errors} if self.errors else {})


async def _answer(runtime: Runtime, call: Call, conn: AsyncConnection) -> Outcome:
    principal = call.principal
    account = await _account(conn, runtime.accounts, principal.account_id)
    # Shared statements only outside a transaction: a mutation reads its own writes.
    reading = runtime.lookups is not None and call.operation.kind is OperationType.QUERY
    context = partial(
        Context,
        principal,
        account,
        call.request_id,
        conn,
        runtime.cpu.run,
        document=call.operation.document,
        webhook_allow_private=runtime.webhook_allow_private,
        by_e164=runtime.lookups.by_e164 if reading and runtime.lookups else None,
    )
    data, found, changed = await _run(runtime, call.operation, context)
    if any(is_conflict(error) for error in found):
        raise _Conflict  # leaving the connection rolls the transaction back
    errors, status = classify(found, call.request_id)
    # A failed request changes nothing: commit only a clean run.
    if conn.in_transaction():
        await (conn.rollback() if status >= 500 else conn.commit())
    return Outcome(principal.account_id, data, errors, status, changed, _started(data, found))


def _started(data: Any, errors: list[GraphQLError]) -> bool:
    # graphql-core answers a validation or coercion failure with no data and errors that
    # have no path; an error raised while executing always has the path of its field.
    return data is not None or any(error.path is not None for error in errors)


class GraphQLResponse(JSONResponse):
    """Starlette's JSONResponse, encoded with orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _run(
    runtime: Runtime, operation: Operation, new_context: Callable[..., Context]
) -> tuple[Any, list[GraphQLError], bool]:
    """The operation's data and errors, and whether it changed the account: from its plan
    where it has one (a read answered cleanly before), else from the plain executor."""
    plans = runtime.plans if operation.kind is OperationType.QUERY else None
    plan = plans.get(operation.query, operation.name) if plans else None
    if plans and plan:
        context = new_context(concurrent=False)
        try:
            return await plans.run(plan, operation.variables, context), [], False
        except Unplannable:
            pass  # reads change nothing: the plain executor starts afresh
        finally:
            await context.settle()
    variables, lean = operation.variables, None
    if runtime.rows and operation.kind is OperationType.MUTATION:
        lean = await runtime.rows.take(operation.query, operation.name, variables)
    if lean is not None:  # read already: graphql-core sees none of them
        assert variables is not None  # the rows were taken from them
        variables = {**variables, lean.variable: []}
    context = new_context(import_rows=lean.rows if lean else None)
    try:
        result = await runtime.schema.execute(
            operation.query,
            variable_values=variables,
            context_value=context,
            operation_name=operation.name,
        )
    finally:
        await context.settle()
    errors = list(result.errors or [])
    if plans and not errors:
        plans.learn(operation.query, operation.name)
    return result.data, errors, context.account_changed


async def _account(
    conn: AsyncConnection, cache: TTLCache[int, services.Record], account_id: int
) -> services.Record:
    account = cache.get(account_id)
    if account is None:
        found = await services.get_account(conn, account_id)
        assert found is not None  # a key's or a token's account exists (caller.py)
        account = cache[account_id] = found
    return account


def classify(
    errors: list[GraphQLError], request_id: str
) -> tuple[list[GraphQLFormattedError], int]:
    """Each error as JSON with extensions.code, and the HTTP status the worst one earns."""
    out, status = [], 200
    for error in errors:
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        code = _code(error, extensions)
        if code is Code.INTERNAL_SERVER_ERROR:
            log.error("request %s: unexpected error", request_id, exc_info=error.original_error)
            formatted["message"], extensions = masked(request_id), {}
        elif code is Code.SERVICE_UNAVAILABLE:
            formatted["message"], extensions = UNAVAILABLE_MESSAGE, {}
        extensions.setdefault("code", str(code or extensions.get("code")))
        extensions["requestId"] = request_id
        formatted["extensions"] = extensions
        out.append(formatted)
        status = max(status, code.http_status if code else 200)
    return out, status


def _code(error: GraphQLError, extensions: dict[str, Any]) -> Code | None:
    """The request-level code of an error, or None for an expected problem in one field."""
    if extensions.get("code") == Code.FORBIDDEN:
        return Code.FORBIDDEN
    if "code" in extensions:
        return None  # a query's expected problem (RECORD_NOT_FOUND, INVALID_DATE_RANGE, ...)
    # An exception raised in a resolver: only those have a path (coercing variables
    # sets original_error too, and is the caller's mistake, not ours).
    original = error.original_error
    if error.path is not None and original is not None and not isinstance(original, GraphQLError):
        return Code.SERVICE_UNAVAILABLE if is_unavailable(original) else Code.INTERNAL_SERVER_ERROR
    return Code.BAD_REQUEST  # validation, or variables that do not fit
