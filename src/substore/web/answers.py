"""What the endpoint answers when the operation did not run: a refusal, an outage, a
request it cannot take (with the message a person can act on)."""

from __future__ import annotations

from starlette.responses import Response

from substore.errors import RequestCode as Code
from substore.web.execution import UNAVAILABLE_MESSAGE, GraphQLResponse
from substore.web.media import MediaType
from substore.web.operation import RequestError
from substore.web.outage import RETRY_AFTER_SECONDS


def error_response(
    code: Code,
    message: str,
    request_id: str,
    media: MediaType = MediaType.JSON,
    status: int | None = None,
    **headers: str,
) -> Response:
    """A GraphQL response with one error and no data (nothing ran), in `media`; the
    code's own status unless `status` says otherwise."""
    body = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
    headers = {"X-Request-Id": request_id, **headers}
    return GraphQLResponse(body, status or code.http_status, headers, media.content_type)


def refused(error: RequestError, request_id: str, media: MediaType) -> Response:
    status = error.status(media)
    return error_response(error.code, str(error), request_id, media, status, **error.headers)


def unavailable(request_id: str, media: MediaType) -> Response:
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error_response(
        Code.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, request_id, media, status=None, **retry
    )


NOT_ACCEPTABLE_MESSAGE = (
    f"Accept takes neither {MediaType.GRAPHQL_RESPONSE} nor {MediaType.JSON}: "
    f"send Accept: {MediaType.GRAPHQL_RESPONSE}, {MediaType.JSON};q=0.9."
)


SUBSCRIPTION_MESSAGE = (
    "A subscription streams: send it with Accept: text/event-stream (GraphQL over SSE), "
    "or over a WebSocket on /graphql (graphql-transport-ws)."
)
