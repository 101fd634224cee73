"""A minimal keep-alive HTTP/1.1 load generator on asyncio streams.

httpx would spend more CPU per request than the servers under test on a 2-core machine;
this client only writes prebuilt requests and reads Content-Length bodies.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.latencies, n=100)[int(p) - 1] * 1000


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
            break
    return status


async def _worker(port: int, requests, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            start = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"status {status}")
    finally:
        writer.close()


async def run(port: int, requests: Sequence[bytes], total: int, concurrency: int) -> LoadResult:
    """Send `total` requests (cycling through `requests`) over `concurrency` connections."""
    shared = itertools.islice(itertools.cycle(requests), total)
    latencies: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_worker(port, shared, latencies) for _ in range(concurrency)))
    return LoadResult(total, time.perf_counter() - start, latencies)


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def post_json(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
