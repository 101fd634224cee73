"""Content negotiation on Accept: which of the two GraphQL media types an answer uses."""

from __future__ import annotations

import pytest

from substore.web.media import MediaType, negotiate

GR, JSON = MediaType.GRAPHQL_RESPONSE, MediaType.JSON


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),  # the legacy rule: a client that names no type gets JSON
        ("", JSON),
        ("*/*", JSON),  # browsers' fetch, curl, older clients
        ("application/*", JSON),
        ("application/json", JSON),
        ("application/graphql-response+json", GR),
        ("Application/GraphQL-Response+JSON", GR),
        ("application/graphql-response+json; charset=utf-8", GR),
        # What the spec tells clients to send, and what urql and graphql-request send.
        ("application/graphql-response+json, application/json;q=0.9", GR),
        ("application/graphql-response+json, application/json, multipart/mixed", GR),
        ("application/json, application/graphql-response+json", GR),  # both named: ours
        ("application/json, multipart/mixed", JSON),  # GraphiQL's fetcher
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("application/json;q=0.5, */*", GR),  # q of the most specific range that matches
        ("*/*, application/json;q=0", GR),
        ("application/graphql-response+json, */*;q=0.1", GR),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
        ("application/graphql-response+json;q=nonsense, application/json", JSON),
        ("garbage, application/json", JSON),
        ("text/plain", None),
        ("application/graphql+json", None),  # an older draft's name
        ("application/json;q=0, application/graphql-response+json;q=0", None),
        ("*/*;q=0", None),
    ],
)
def test_negotiate(accept: str | None, chosen: MediaType | None) -> None:
    assert negotiate(accept) is chosen


def test_each_media_type_has_its_status_for_a_failed_document() -> None:
    assert (GR.failed_document_status, JSON.failed_document_status) == (400, 200)
    assert GR.content_type == "application/graphql-response+json; charset=utf-8"
