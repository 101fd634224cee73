"""A small client for the API tests: GraphQL over HTTP with an API key."""

from __future__ import annotations

from typing import Any

import httpx

# What a client that follows GraphQL over HTTP asks for: its own statuses (a document
# that fails validation is a 400). Tests of application/json's statuses say so.
GRAPHQL_RESPONSE = "application/graphql-response+json"


class Api:
    def __init__(self, client: httpx.AsyncClient, key: str | None) -> None:
        self.client, self.key = client, key

    def headers(self) -> dict[str, str]:
        key = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {"Accept": GRAPHQL_RESPONSE, **key}

    async def post(self, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post("/graphql", json=body, headers=self.headers(), **kwargs)

    async def gql(self, query: str, status: int = 200, **variables: Any) -> dict[str, Any]:
        """The response body of `query`; asserts the HTTP status."""
        response = await self.post({"query": query, "variables": variables})
        assert response.status_code == status, response.text
        return response.json()

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a query that must succeed without errors."""
        body = await self.gql(query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]
