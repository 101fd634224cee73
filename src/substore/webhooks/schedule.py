"""When a failed batch is tried again: exponential backoff with jitter, for three days.

The delays are ceilings; each retry comes at a random point between half the delay and the
delay (so that endpoints that failed together do not all come back at once), which keeps
the first retry within 10 s and the second within a minute.
"""

from __future__ import annotations

import random
from datetime import timedelta

DELAYS = tuple(
    timedelta(seconds=s)
    for s in (10, 60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600)  # then 10 h each
)
GIVE_UP_AFTER = timedelta(days=3)


def next_delay(failures: int, rng: random.Random) -> timedelta:
    """How long after its `failures`-th failed attempt (1, 2, ...) a batch is sent again."""
    ceiling = DELAYS[min(failures, len(DELAYS)) - 1]
    return ceiling * (0.5 + rng.random() / 2)
