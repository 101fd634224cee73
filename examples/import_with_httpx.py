"""Import subscribers from your own code with importSubscribers, using httpx.

    SUBSTORE_TOKEN=sk_... python examples/import_with_httpx.py

Sends rows in batches of at most 1000, retries what is safe to retry (a batch is
idempotent: sending it twice stores the same thing), and reports each refused row.
"""

from __future__ import annotations

import os
import sys
import time

import httpx

URL = os.environ.get("SUBSTORE_URL", "http://127.0.0.1:8000/graphql")
IMPORT = """
mutation Import($rows: [SubscriberInput!]!, $options: ImportOptions) {
  importSubscribers(input: $rows, options: $options) {
    createdCount updatedCount mergedCount failedCount
    userErrors { code field message }
    results(status: [FAILED]) { index userErrors { code field message reason } }
  }
}
"""


def send_batch(client: httpx.Client, rows: list[dict], options: dict) -> dict:
    """One importSubscribers call; raises RuntimeError when retrying cannot help."""
    body = {"query": IMPORT, "variables": {"rows": rows, "options": options}}
    for attempt in range(6):
        try:
            response = client.post(URL, json=body)
        except httpx.TransportError as error:  # not reachable: wait and try again
            problem = str(error)
        else:
            if response.status_code == 200:
                payload = response.json()
                if payload.get("errors"):
                    raise RuntimeError(payload["errors"][0]["message"])
                result = payload["data"]["importSubscribers"]
                if result["userErrors"]:  # the batch as a whole, e.g. more than 1000 rows
                    raise RuntimeError(result["userErrors"][0]["message"])
                return result
            if response.status_code not in (429, 500, 502, 503, 504):
                # 401 bad key, 403 read-only key, 400 malformed request: fix and rerun.
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            problem = f"HTTP {response.status_code}"
            retry_after = response.headers.get("retry-after")
            if retry_after and retry_after.isdigit():
                time.sleep(int(retry_after))
                continue
        time.sleep(0.5 * 2**attempt)
        print(f"retrying after {problem}", file=sys.stderr)
    raise RuntimeError("the server stayed unavailable")


def main() -> int:
    rows = [
        {"number": "(201) 555-0123", "firstName": "Ada"},
        {"number": 12015550124, "email": "grace@example.com"},  # integers work, strings are safer
        {"e164Number": "+447400123456", "attributes": {"plan": "gold"}},
        {"number": "555-0123"},  # a local number: refused, with the reason
    ]
    headers = {
        "Authorization": f"Bearer {os.environ['SUBSTORE_TOKEN']}",
        # GraphQL over HTTP: a document the server refuses is then a 400, not a 200.
        "Accept": "application/graphql-response+json, application/json;q=0.9",
        # Counted in the imports' own rate limit, not the key's 50 requests a second.
        "Substore-Import": "batch",
    }
    with httpx.Client(headers=headers, timeout=60) as client:
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            result = send_batch(client, batch, {"defaultRegion": "US"})
            print(
                f"created {result['createdCount']}, updated {result['updatedCount']}, "
                f"merged {result['mergedCount']}, refused {result['failedCount']}"
            )
            for failed in result["results"]:
                error = failed["userErrors"][0]
                print(
                    f"  row {start + failed['index']}: {error['code']} {error['reason']}: {error['message']}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
