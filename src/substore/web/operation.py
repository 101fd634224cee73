"""Reading a request into the one operation it runs, checked once, before anything runs.

Everything a client can send is checked here or refused with a request-level code:
the body (size, JSON, nesting, integers) and its parameters (RequestError: not a
well-formed GraphQL-over-HTTP request), then the document (DocumentError: the spec's
selection of the operation, its cost, the strings of variables outside subscriber rows;
rows report their own problems as userErrors, so that one bad row does not refuse the
others).

A body is measured before it is decoded, and its arrays and objects deeper than any
value may nest are read as empty (text.shallow_json): nothing after this recurses
through more than BODY_DEPTH levels, and a row nested too deep is still that row's
error, however deep it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    TypeNode,
)
from graphql.error import GraphQLSyntaxError
from starlette.requests import Request

from substore.errors import RequestCode as Code
from substore.graphql import limits
from substore.graphql.documents import DocumentCache, parse_document
from substore.graphql.validation import ROW_INPUTS
from substore.text import MAX_JSON_DEPTH, json_problem, nested_deeper, shallow_json
from substore.web.media import MediaType

# A refused body is read to its end (up to this much) before the answer, so that
# clients which send the whole body before reading (Python's urllib) see the 413
# instead of a connection reset.
DRAIN_LIMIT = 64 * 1024 * 1024
# A row's attributes sit under the body, its variables, a list of rows and the row; one
# level more keeps the first level past MAX_JSON_DEPTH (emptied) for the checks to report.
BODY_DEPTH = MAX_JSON_DEPTH + 5


class RequestError(Exception):
    """A request refused before or instead of execution; answered as JSON with a code."""

    def __init__(self, code: Code, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.headers = code, headers or {}

    def status(self, media: MediaType) -> int:
        return self.code.http_status


class DocumentError(RequestError):
    """A well-formed request whose document fails before it runs: it does not parse, its
    operation cannot be chosen, it is over a limit, or its variables cannot be used. Its
    status is the media type's (media.py); its code says which."""

    def status(self, media: MediaType) -> int:
        return media.failed_document_status


@dataclass(frozen=True, slots=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    name: str | None  # the operationName given, if any
    kind: OperationType
    label: str  # the operation's own name, else its kind: for the access log
    document: DocumentNode  # parsed once, here


Resolver = Callable[[Any], Awaitable[Any]]


async def _same(body: Any) -> Any:
    return body


async def read_operation(
    request: Request, max_body_bytes: int, resolve: Resolver = _same
) -> Operation:
    """The operation a request asks for; `resolve` fills in a document named by its hash
    (web/trusted.py)."""
    if request.method == "GET":
        operation = await operation_of(await resolve(_from_query_string(request)))
        if operation.kind is OperationType.MUTATION:  # GET is safe: 405, as the spec says
            raise RequestError(
                Code.METHOD_NOT_ALLOWED,
                "Mutations are not allowed over GET: use POST.",
                {"Allow": "POST"},
            )
        return operation
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise RequestError(
            Code.UNSUPPORTED_MEDIA_TYPE, "Send the operation as Content-Type: application/json."
        )
    raw = _utf8(await _body(request, max_body_bytes), "The body")
    if nested_deeper(raw, BODY_DEPTH):  # rare, and a Python loop: off the event loop
        raw = await asyncio.to_thread(shallow_json, raw, BODY_DEPTH)
    return await operation_of(await resolve(_decode(raw, "The body")))


async def _body(request: Request, limit: int) -> bytes:
    too_large = RequestError(
        Code.PAYLOAD_TOO_LARGE, f"The body is over {limit} bytes: send fewer rows a request."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            break
    if size > limit:
        raise too_large
    return b"".join(chunks)


def _utf8(raw: bytes | str, what: str) -> bytes:
    """JSON text as UTF-8, which nested_deeper reads (json.loads also takes UTF-16 and 32)."""
    try:
        if isinstance(raw, str):
            return raw.encode("utf-8", "surrogatepass")
        encoding = json.detect_encoding(raw)
        if encoding.startswith("utf-8"):
            return raw
        return raw.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except ValueError as error:
        raise _not_json(what, error) from None


def _decode(raw: bytes, what: str) -> Any:
    """UTF-8 JSON text nested at most BODY_DEPTH levels (see read_operation), decoded."""
    try:
        return json.loads(raw)
    except ValueError as error:
        # Bad JSON, bad UTF-8 and integers past Python's 4300 digits.
        raise _not_json(what, error) from None


def _not_json(what: str, error: ValueError) -> RequestError:
    return RequestError(Code.BAD_REQUEST, f"{what} is not valid JSON: {error}.")


def _from_query_string(request: Request) -> dict[str, Any]:
    """The parameters of a GET: variables and extensions as JSON, an empty one as none."""
    params = request.query_params
    body: dict[str, Any] = {
        "query": params.get("query"),
        "operationName": params.get("operationName"),
    }
    if "documentId" in params:
        body["documentId"] = params["documentId"]
    for key in ("variables", "extensions"):
        if params.get(key):
            raw = _utf8(params[key], key)
            depth = BODY_DEPTH - 1  # the body's parameters, one level down
            if nested_deeper(raw, depth):
                raw = shallow_json(raw, depth)  # a URL's length: on the event loop
            body[key] = _decode(raw, key)
    return body


async def operation_of(body: Any) -> Operation:
    """The operation of a decoded body (a POST's, or a WebSocket's subscribe payload), checked."""
    query, variables, name = _parameters(body)
    document, selected = await _selected(query, name)
    _check_variables(selected, variables or {})
    label = selected.name.value if selected.name else selected.operation.value
    return Operation(query, variables, name, selected.operation, label, document)


def _parameters(body: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    """query, variables and operationName, of the types the spec gives them (null is as
    good as absent); else not a well-formed request, 400 whatever the media type. An
    empty query is still a string: a document that does not parse."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise RequestError(Code.BAD_REQUEST, 'The request needs a "query" string.')
    for key in ("variables", "extensions"):  # extensions: checked, none of ours yet
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise RequestError(Code.BAD_REQUEST, f'"{key}" must be a JSON object.')
    name = body.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestError(Code.BAD_REQUEST, '"operationName" must be a string.')
    return body["query"], body.get("variables"), name or None


Selected = tuple[DocumentNode, OperationDefinitionNode]
_SELECTED: DocumentCache[Selected] = DocumentCache()


async def _selected(query: str, name: str | None) -> Selected:
    """The document and the operation to run, within the limits. The same queries
    recur: a new one is parsed and measured in a thread (tens of milliseconds for a
    large one)."""
    found = _SELECTED.get(query, name)
    if found is None:
        found = _SELECTED.put(query, name, await asyncio.to_thread(_select, query, name))
    return found


def _select(query: str, name: str | None) -> Selected:
    try:
        document = parse_document(query)
    except GraphQLSyntaxError as error:
        too_big = "Parsing aborted" in error.message
        code = Code.QUERY_TOO_COMPLEX if too_big else Code.BAD_REQUEST
        raise DocumentError(code, error.message) from None
    try:
        operation = limits.select_operation(document, name)
    except limits.OperationError as error:
        raise DocumentError(Code.BAD_REQUEST, str(error)) from None
    try:
        limits.check(document, operation)
    except limits.TooComplex as error:
        raise DocumentError(Code.QUERY_TOO_COMPLEX, str(error)) from None
    return document, operation


def _check_variables(operation: OperationDefinitionNode, variables: dict[str, Any]) -> None:
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables or _named(definition.type) in ROW_INPUTS:
            continue
        if found := json_problem(variables[name]):
            path, problem = found
            where = ".".join(["variables", name, *path])
            raise DocumentError(Code.BAD_REQUEST, f"{where} {problem}.")


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)  # the third kind of type, and the last
    return type_node.name.value
