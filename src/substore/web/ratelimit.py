"""Per-key rate limits: a token bucket (falconry's token-bucket) per API key.

Each key may send `per_second` requests a second on average and `burst` at once. A
request past that is answered 429 TOO_MANY_REQUESTS with Retry-After; every answer
carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the
bucket is full again). Buckets live in the process: with several server processes,
each keeps its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import token_bucket


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self.storage = token_bucket.MemoryStorage()
        self.limiter = (
            token_bucket.Limiter(per_second, burst, self.storage) if per_second > 0 else None
        )

    def check(self, key: str) -> Verdict:
        """Take a token for `key`; the verdict and the headers to answer with."""
        if self.limiter is None:
            return Verdict(True, {})
        allowed = self.limiter.consume(key)
        tokens = self.storage.get_token_count(key)
        headers = {
            "RateLimit-Limit": str(self.burst),
            "RateLimit-Remaining": str(max(0, math.floor(tokens))),
            "RateLimit-Reset": str(math.ceil((self.burst - tokens) / self.per_second)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil((1 - tokens) / self.per_second)))
        return Verdict(allowed, headers)
