"""A small client for the API tests: GraphQL over HTTP with an API key."""

from __future__ import annotations

from typing import Any

import httpx


class Api:
    def __init__(self, client: httpx.AsyncClient, key: str | None) -> None:
        self.client, self.key = client, key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

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
