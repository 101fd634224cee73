"""How long this process's interactive requests waited lately, told to import batches.

An import client marks its batches with `Substore-Import: batch` (importSubscribers
alone; anything else so marked is refused). Every other GraphQL request is interactive:
its time in the app, taken anyway for the access log, is compared with the fastest time
of its operation in the last 10-20 s (TCP Vegas's base RTT: what it takes when nothing is
in its way; during an import some requests still find a free core), and the excess is how
long it waited behind other work, the import's above all. The worst excess of the last
second or two goes back on each batch's answer as `Substore-Interactive-Delay`
(milliseconds), and the import client halves its lanes while it is high and adds them back
one at a time while it is low (importer/pacing.py). A request that waited before the app
read it (the process busy, or waiting for a core) is not seen so: while an import runs,
the event loop's lateness (web/loop_lag.py) counts as their wait too. The batches may
reach another process than the lookups: the processes share their delays
(web/shared_delay.py).

A request's cost here is a dictionary lookup and a few float operations; while an import
runs, also a look at the other processes' files every 0.1 s and a small write when its
delay changes.
"""

from __future__ import annotations

import time
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import Response

from substore.errors import RequestCode as Code
from substore.web.loop_lag import LoopLag
from substore.web.operation import Operation, RequestError
from substore.web.recent import RecentWorst
from substore.web.shared_delay import SharedDelay

IMPORT_HEADER = "substore-import"  # a request's header, lower case as Starlette reads it
IMPORT_BATCH = "batch"
DELAY_HEADER = "Substore-Interactive-Delay"
WINDOW_SECONDS = 1.0
# A base is the fastest time of this window and the last: long enough to hold through a
# busy spell, short enough to follow a table that grows.
BASE_WINDOW_SECONDS = 10.0
MAX_OPERATIONS = 256  # bases kept; past that they start afresh (names are the client's)


class Interactive:
    """The interactive requests' waits in one serving process (module docstring)."""

    def __init__(self, window: float = WINDOW_SECONDS, shared: SharedDelay | None = None) -> None:
        self.window = window
        self.shared = shared or SharedDelay(None)
        # By operation: the fastest time of this base window and of the last.
        self.bases: dict[str, list[float]] = {}
        self._bases_started = 0.0
        self._waits = RecentWorst(window)  # the worst excess, in seconds
        self.loop_lag = LoopLag(window)

    def record(self, operation: str, seconds: float, now: float) -> None:
        """One interactive request of `operation` (its name, or its kind) took `seconds`."""
        self._roll_bases(now)
        fastest = self.bases.get(operation)
        if fastest is None:
            if len(self.bases) >= MAX_OPERATIONS:
                self.bases.clear()
            fastest = self.bases[operation] = [seconds, seconds]
        elif seconds < fastest[0]:
            fastest[0] = seconds
        # The loop's lateness meanwhile is a wait this request may have had before the
        # app read it; with no interactive request, an import alone is never told to yield.
        excess = max(seconds - min(fastest), self.loop_lag.lag(now))
        self._waits.note(excess, now)
        if self.shared.anyone_importing(now):  # else no batch asks: no write on a lookup
            self.shared.publish(self.delay(now), now)
            self.loop_lag.watch(now)

    def base(self, operation: str) -> float | None:
        fastest = self.bases.get(operation)
        return min(fastest) if fastest else None

    def delay(self, now: float) -> float:
        """The worst wait (seconds) of an interactive request in this window and the last."""
        return self._waits.worst(now)

    def answered(
        self, response: Response, fields: dict[str, Any], started: float, batch: bool
    ) -> None:
        """A batch's answer gets the delay; an interactive request's time is recorded."""
        now = time.perf_counter()
        if batch:
            delay = max(self.delay(now), self.shared.worst(now))
            response.headers[DELAY_HEADER] = f"{delay * 1000:.1f}"
            self.shared.importing(now)
        elif "operation" in fields:  # an operation was read: not refused at the door
            self.record(fields["operation"], now - started, now)

    def _roll_bases(self, now: float) -> None:
        if now - self._bases_started >= BASE_WINDOW_SECONDS:
            for fastest in self.bases.values():
                fastest[1], fastest[0] = fastest[0], float("inf")
            self._bases_started = now


def is_batch(request: Request) -> bool:
    return request.headers.get(IMPORT_HEADER) == IMPORT_BATCH


def check_batch(operation: Operation, batch: bool) -> None:
    """A request marked as a batch must be one: the mark chooses its rate-limit bucket."""
    if batch and not is_import_batch(operation):
        raise RequestError(Code.BAD_REQUEST, BATCH_MESSAGE)


BATCH_MESSAGE = (
    f"Substore-Import: {IMPORT_BATCH} marks an import batch (importSubscribers alone, counted "
    "in the imports' rate limit): send this operation without that header."
)


def is_import_batch(operation: Operation) -> bool:
    """Whether the operation is a mutation of importSubscribers alone."""
    if operation.kind is not OperationType.MUTATION:
        return False
    chosen = [
        d
        for d in operation.document.definitions
        if isinstance(d, OperationDefinitionNode)
        and d.operation is OperationType.MUTATION
        and (operation.name is None or (d.name is not None and d.name.value == operation.name))
    ]
    if len(chosen) != 1:
        return False
    selections = chosen[0].selection_set.selections
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value == "importSubscribers"
    )
