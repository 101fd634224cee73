"""The Starlette app: POST/GET /graphql (GraphiQL on a browser GET) and GET /healthz.

HTTP concerns live in this package: media.py picks the answer's media type from
Accept, operation.py reads and checks a request, execution.py runs it, outage.py answers
for the database when it is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from random import getrandbits
from typing import Any

from cachetools import TTLCache
from graphql import OperationType
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from substore import auth, db, services, tokens
from substore.config import Settings
from substore.cpu import CpuPool
from substore.errors import ConfigError
from substore.errors import RequestCode as Code
from substore.events.feed import Feed
from substore.events.poller import Poller
from substore.graphql.feed import FeedContext
from substore.graphql.plans import Plans
from substore.graphql.rows import ImportRows
from substore.graphql.schema import build_schema
from substore.web import connections, cors, shared_delay, sse, transport_ws
from substore.web.answers import (
    NOT_ACCEPTABLE_MESSAGE,
    SUBSCRIPTION_MESSAGE,
    error_response,
    refused,
    unavailable,
)
from substore.web.caller import FailureThrottle, Gate
from substore.web.execution import (
    Call,
    Runtime,
    execute,
    masked,
)
from substore.web.interactive import Interactive, check_batch, is_batch
from substore.web.lookups import Lookups
from substore.web.media import MediaType, negotiate
from substore.web.observe import (
    CLIENT_CLOSED_REQUEST,
    count_stale_keys,
    loggable,
    metrics,
    observe,
)
from substore.web.operation import RequestError, read_operation
from substore.web.outage import Availability, is_unavailable, watch_embedded
from substore.web.ratelimit import RateLimiter
from substore.web.readers import Readers
from substore.web.trusted import TrustedDocuments
from substore.webhooks.dispatcher import Dispatcher

log = logging.getLogger("substore.web")
# GraphiQL, React and their CSS, pinned from the npm registry (graphiql 3.8.3, react and
# react-dom 18.2.0, with their licences): the page needs no CDN.
GRAPHIQL = Path(__file__).parent / "static" / "graphiql"


async def _engine(settings: Settings, check: bool) -> AsyncEngine:
    # pool_size for writes and as many again for the readers kept open (readers.py); past
    # that, pool_size more for a burst (closed when handed back).
    size, overflow = 2 * settings.pool_size, settings.pool_size
    if check:
        return await db.open_engine(settings, pool_size=size, overflow=overflow)
    return db.create_engine(db.database_url(settings), pool_size=size, overflow=overflow)


def create_app(
    settings: Settings,
    engine: AsyncEngine | None = None,
    on_shutdown: Callable[[], None] | None = None,
    *,
    watch_database: bool = False,
    check_database: bool = True,
    start_normalisers: bool = False,
    start_dispatcher: bool = False,
) -> Starlette:
    """The API on `engine`, or on a new engine from `settings` made at start-up.

    `on_shutdown` runs after the app has stopped (`substore serve` releases the embedded
    database there); `watch_database` starts the embedded PostgreSQL again if it dies;
    `check_database` refuses to start on a database that does not answer;
    `start_normalisers` starts the import's normaliser processes before serving;
    `start_dispatcher` runs the webhook dispatcher in this process (one process of all that
    do delivers at a time: webhooks/dispatcher.py)."""
    schema = build_schema()
    principals = auth.PrincipalCache(settings.auth_cache_seconds)
    cpu = CpuPool(settings.normalize_workers, services.warm_up)
    limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    imports = RateLimiter(settings.import_rate_limit_per_second, settings.import_rate_limit_burst)
    interactive = Interactive(shared=shared_delay.from_environment())
    failures = FailureThrottle(settings.unknown_key_limit, settings.unknown_key_window_seconds)
    accounts: TTLCache[int, Any] = TTLCache(10_000, settings.account_cache_seconds)
    verifier = tokens.from_settings(settings)  # None: API keys only
    plans = Plans(schema) if settings.plan_cache else None
    rows = ImportRows(schema) if settings.plan_cache else None
    availability = Availability()
    # How often an open subscription's API key is looked up again (graphql/feed.py).
    recheck_seconds = max(1.0, settings.auth_cache_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = engine or await _engine(settings, check_database)
        if start_normalisers:
            cpu.start()
        app.state.readers = Readers(app.state.engine, settings.pool_size)
        lookups = Lookups(app.state.readers, settings.lookup_statements)
        app.state.gate = Gate(
            app.state.engine, principals, limiter, failures, accounts, verifier, imports
        )
        app.state.runtime = Runtime(
            app.state.engine,
            schema,
            cpu,
            accounts,
            app.state.readers,
            plans,
            rows,
            settings.webhook_allow_private,
            lookups if settings.lookup_statements else None,
        )
        app.state.trusted = TrustedDocuments(
            app.state.engine, settings.auth_cache_seconds, settings.trusted_documents_only
        )
        poller = Poller(app.state.engine)  # polls while a subscription is open
        app.state.feed = Feed(app.state.engine, poller, settings.max_subscriptions_per_key)
        watcher = asyncio.create_task(watch_embedded(app.state.engine)) if watch_database else None
        stale_keys = asyncio.create_task(count_stale_keys(app.state.engine))
        dispatcher = Dispatcher.from_settings(app.state.engine, settings)
        if start_dispatcher:
            dispatcher.start()
        app.state.dispatcher = dispatcher
        yield
        await poller.close()
        await dispatcher.stop()
        if watcher is not None:
            watcher.cancel()
        stale_keys.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stale_keys
        cpu.close()
        await lookups.close()
        await app.state.readers.close()
        if engine is None:
            await app.state.engine.dispose()
        if on_shutdown is not None:
            on_shutdown()

    async def graphql_endpoint(request: Request) -> Response:
        request_id, started = _request_id(), time.perf_counter()
        if request.method == "GET" and _wants_ide(request):
            return FileResponse(GRAPHIQL / "index.html")
        fields: dict[str, Any] = {}  # for the access log: filled as the request goes
        batch = is_batch(request)
        response = await _answer(request, request_id, fields, batch)
        observe(request_id, fields, response.status_code, started, _client(request))
        interactive.answered(response, fields, started, batch)
        return response

    async def _answer(
        request: Request, request_id: str, fields: dict[str, Any], batch: bool
    ) -> Response:
        state = request.app.state
        accept = _accept(request)
        accepted, streams = negotiate(accept), sse.wants_events(accept)
        media = accepted or MediaType.JSON  # for a 406 too: the client takes neither
        try:
            principal, headers = await _gate().admit(request, batch)
            # "key" is the actor: a key's prefix, or a token's sub ("auth" tells which).
            fields |= {
                "account": principal.account_id,
                "key": principal.actor,
                "auth": principal.method.value,
            }
            if accepted is None and not streams:
                raise RequestError(Code.NOT_ACCEPTABLE, NOT_ACCEPTABLE_MESSAGE)
            resolve = partial(state.trusted.resolve, principal=principal)
            operation = await read_operation(request, settings.max_body_bytes, resolve)
            fields |= {"kind": operation.kind.value, "operation": loggable(operation.label)}
            check_batch(operation, batch)
            if operation.kind is OperationType.SUBSCRIPTION:
                if not streams:
                    raise RequestError(Code.BAD_REQUEST, SUBSCRIPTION_MESSAGE)
                context = FeedContext(
                    state.feed,
                    principal,
                    still_admitted=partial(_gate().still_admits, _authorization(request)),
                    recheck_seconds=recheck_seconds,
                )
                keepalive = settings.subscription_keepalive_seconds
                headers = {"X-Request-Id": request_id, **headers}
                return sse.stream(schema, operation, context, keepalive, headers)
            if accepted is None:
                raise RequestError(Code.NOT_ACCEPTABLE, NOT_ACCEPTABLE_MESSAGE)
            call = Call(principal, operation, request_id, headers, media)
            response = await execute(state.runtime, call, fields)
        except RequestError as error:
            fields["code"] = str(error.code)
            return refused(error, request_id, media)
        except ClientDisconnect:  # the client left mid-body: nobody to answer, no fault
            fields["code"] = "CLIENT_CLOSED_REQUEST"
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as error:
            if not is_unavailable(error):
                log.exception("request %s failed", request_id)
                message = masked(request_id)
                return error_response(Code.INTERNAL_SERVER_ERROR, message, request_id, media)
            availability.failed(error)
            return unavailable(request_id, media)
        if response.status_code == Code.SERVICE_UNAVAILABLE.http_status:
            availability.failed(ConnectionError("lost during the request"))
        else:
            availability.succeeded()
        return response

    def _gate() -> Gate:
        return app.state.gate  # type: ignore[no-any-return]

    async def graphql_socket(websocket: WebSocket) -> None:
        """graphql-transport-ws on /graphql (web/transport_ws.py)."""
        gate = _gate()

        async def admit(header: str | None, client: str, context: FeedContext) -> auth.Principal:
            principal = (await gate.admit_credential(header, client))[0]
            context.still_admitted = partial(gate.still_admits, header)
            return principal

        context = FeedContext(websocket.app.state.feed, recheck_seconds=recheck_seconds)
        keepalive = settings.subscription_keepalive_seconds
        resolve = websocket.app.state.trusted.resolve  # as a POST's body, per principal
        await transport_ws.serve(websocket, admit, context, schema, keepalive, resolve)

    async def healthz(request: Request) -> Response:
        request_id = _request_id()
        if connections.at_limit(request.scope):  # other requests are refused: say so
            log.warning("healthz %s: unavailable: every connection slot is taken", request_id)
            return JSONResponse({"status": "unavailable", "requestId": request_id}, 503)
        try:
            await db.check_connection(request.app.state.engine)
        except ConfigError as error:
            # The cause stays in the log: an anonymous caller learns nothing of the set-up.
            log.warning("healthz %s: unavailable: %s", request_id, error)
            return JSONResponse({"status": "unavailable", "requestId": request_id}, 503)
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_socket),
        Mount("/graphiql", StaticFiles(directory=GRAPHIQL), name="graphiql"),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, middleware=cors.middleware(settings.cors_origins)
    )
    app.state.engine = engine  # set again at start-up when the app makes its own
    app.state.principals = principals
    app.state.tokens = verifier
    app.state.plans = plans
    return app


def _accept(request: Request) -> str | None:
    # Several Accept fields are one list (RFC 9110 5.3).
    found = request.headers.getlist("accept")
    return ", ".join(found) if found else None


def _authorization(request: Request) -> str | None:
    return request.headers.get("authorization")


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "-"


def _request_id() -> str:
    # 64 random bits to tell requests apart in logs: no cryptographic strength needed, so
    # not uuid4's system call (each process's generator is seeded from os.urandom).
    return f"{getrandbits(64):016x}"


def _wants_ide(request: Request) -> bool:
    return "query" not in request.query_params and "text/html" in request.headers.get("accept", "")
