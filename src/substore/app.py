"""The Starlette app: POST/GET /graphql (GraphiQL on a browser GET) and GET /healthz.

HTTP concerns live here: body limits, content types, auth, one transaction per request,
and turning GraphQL errors into request-level codes with real HTTP statuses.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from graphql import OperationType, get_operation_ast, parse
from graphql.error import GraphQLError, GraphQLSyntaxError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.http.ides import get_graphql_ide_html

from substore import auth, db, services
from substore.config import Settings
from substore.cpu import CpuPool
from substore.errors import ConfigError
from substore.errors import RequestCode as Code
from substore.graphql.context import Context
from substore.graphql.schema import MAX_TOKENS, build_schema

log = logging.getLogger("substore.app")

_TOO_COMPLEX = ("exceeds maximum operation depth", "aliases found", "tokens. Parsing aborted")


class RequestError(Exception):
    """A request refused before or instead of execution; answered as JSON with a code."""

    def __init__(self, code: Code, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.headers = code, headers or {}


def error_response(code: Code, message: str, request_id: str, **headers: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
    return JSONResponse(body, code.http_status, {"X-Request-Id": request_id, **headers})


def create_app(
    settings: Settings,
    engine: AsyncEngine | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The API on `engine`, or on a new engine from `settings` made at start-up.

    `on_shutdown` runs after the app has stopped (`substore serve` releases the embedded
    database there)."""
    schema = build_schema()
    principals = auth.PrincipalCache(settings.auth_cache_seconds)
    cpu = CpuPool(settings.normalize_workers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = engine or await db.open_engine(settings, pool_size=settings.pool_size)
        yield
        cpu.close()
        if engine is None:
            await app.state.engine.dispose()
        if on_shutdown is not None:
            on_shutdown()

    async def graphql_endpoint(request: Request) -> Response:
        request_id = uuid.uuid4().hex[:16]
        if request.method == "GET" and _wants_ide(request):
            return HTMLResponse(get_graphql_ide_html())
        try:
            body = await _read_operation(request, settings.max_body_bytes)
            engine = request.app.state.engine
            runtime = Runtime(engine, schema, principals, cpu)
            return await _execute(runtime, request, body, request_id)
        except RequestError as error:
            return error_response(error.code, str(error), request_id, **error.headers)
        except ConfigError as error:
            log.error("request %s: database unavailable: %s", request_id, error)
            return error_response(Code.INTERNAL_SERVER_ERROR, "Database unavailable.", request_id)
        except Exception:
            log.exception("request %s failed", request_id)
            return error_response(
                Code.INTERNAL_SERVER_ERROR,
                f"Internal server error; quote request id {request_id} when reporting it.",
                request_id,
            )

    async def healthz(request: Request) -> Response:
        try:
            await db.check_connection(request.app.state.engine)
        except ConfigError as error:
            return JSONResponse({"status": "unavailable", "database": str(error)}, 503)
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.engine = engine  # set again at start-up when the app makes its own
    app.state.principals = principals
    return app


def _wants_ide(request: Request) -> bool:
    return "query" not in request.query_params and "text/html" in request.headers.get("accept", "")


# --- reading the request -------------------------------------------------------------


async def _read_operation(request: Request, limit: int) -> dict[str, Any]:
    if request.method == "GET":
        return _from_query_string(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise RequestError(
            Code.UNSUPPORTED_MEDIA_TYPE, "Send the operation as Content-Type: application/json."
        )
    raw = await _body(request, limit)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(Code.BAD_REQUEST, f"The body is not valid JSON: {error}.") from None
    return _checked(body)


async def _body(request: Request, limit: int) -> bytes:
    too_large = RequestError(
        Code.PAYLOAD_TOO_LARGE, f"The body is over {limit} bytes: send fewer rows a request."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _from_query_string(request: Request) -> dict[str, Any]:
    params = request.query_params
    body: dict[str, Any] = {
        "query": params.get("query"),
        "operationName": params.get("operationName"),
    }
    if params.get("variables"):
        try:
            body["variables"] = json.loads(params["variables"])
        except json.JSONDecodeError:
            raise RequestError(Code.BAD_REQUEST, "variables is not valid JSON.") from None
    body = _checked(body)
    if _operation_type(body) is OperationType.MUTATION:
        raise RequestError(
            Code.BAD_REQUEST, "Mutations are not allowed over GET: use POST.", {"Allow": "POST"}
        )
    return body


def _checked(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"]:
        raise RequestError(Code.BAD_REQUEST, 'The body needs a "query" string.')
    if not isinstance(body.get("variables") or {}, dict):
        raise RequestError(Code.BAD_REQUEST, '"variables" must be a JSON object.')
    if not isinstance(body.get("operationName") or "", str):
        raise RequestError(Code.BAD_REQUEST, '"operationName" must be a string.')
    return body


def _operation_type(body: dict[str, Any]) -> OperationType | None:
    try:
        operation = get_operation_ast(_parse(body["query"]), body.get("operationName"))
    except GraphQLSyntaxError:
        return None  # execution reports it properly
    return operation.operation if operation else None


@functools.lru_cache(maxsize=256)
def _parse(query: str) -> Any:
    return parse(query, max_tokens=MAX_TOKENS)


# --- executing -----------------------------------------------------------------------


async def _principal(
    conn: AsyncConnection, principals: auth.PrincipalCache, request: Request
) -> auth.Principal:
    token = auth.bearer_token(request.headers.get("authorization"))
    principal = principals.get(token) if token else None
    if principal is None:
        principal = await auth.authenticate(conn, token)
        if principal is None:
            raise RequestError(
                Code.UNAUTHENTICATED,
                "Missing or invalid API key: send Authorization: Bearer <key>.",
                {"WWW-Authenticate": "Bearer"},
            )
        principals.put(token, principal)
    return principal


@dataclass(frozen=True)
class Runtime:
    """What the endpoint works with, made once per app."""

    engine: AsyncEngine
    schema: Any
    principals: auth.PrincipalCache
    cpu: CpuPool


async def _execute(
    runtime: Runtime, request: Request, body: dict[str, Any], request_id: str
) -> Response:
    # Reads need no transaction (and its BEGIN/COMMIT round trips); writes get exactly one.
    reads_only = _operation_type(body) is OperationType.QUERY
    async with runtime.engine.connect() as conn:
        if reads_only:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        principal = await _principal(conn, runtime.principals, request)
        account = await services.get_account(conn, principal.account_id)
        context = Context(principal, account, request_id, conn, runtime.cpu.run)
        result = await runtime.schema.execute(
            body["query"],
            variable_values=body.get("variables"),
            context_value=context,
            operation_name=body.get("operationName"),
        )
        errors, status = _classify(result.errors or [], request_id)
        # A failed request changes nothing: commit only a clean run.
        await (conn.rollback() if status >= 500 else conn.commit())
    payload: dict[str, Any] = {"data": result.data}
    if errors:
        payload["errors"] = errors
    return JSONResponse(payload, status, {"X-Request-Id": request_id})


def _classify(errors: list[GraphQLError], request_id: str) -> tuple[list[dict], int]:
    """Each error as JSON with extensions.code, and the HTTP status the worst one earns."""
    out, status = [], 200
    for error in errors:
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        code = _code(error, extensions)
        if code is Code.INTERNAL_SERVER_ERROR:
            log.error("request %s: unexpected error", request_id, exc_info=error.original_error)
            formatted["message"] = (
                f"Internal server error; quote request id {request_id} when reporting it."
            )
            extensions = {}
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
        return Code.INTERNAL_SERVER_ERROR
    if any(marker in error.message for marker in _TOO_COMPLEX):
        return Code.QUERY_TOO_COMPLEX
    return Code.BAD_REQUEST  # syntax, validation, or variables that do not fit
