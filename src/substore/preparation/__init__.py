"""Preparing input: normalise numbers, validate fields, merge a batch. Pure: no I/O.

This is the CPU-bound half of saving subscribers; a server runs `prepare_packed` in a
worker process, so everything here must pickle.
"""

from substore.preparation.batch import (
    Packed,
    RowResult,
    RowStatus,
    prepare_batch,
    prepare_packed,
    skipped,
    under,
    unpack,
    warm_up,
)
from substore.preparation.profile import (
    as_utc,
    check_attributes,
    not_in_future,
    validate_profile,
)
from substore.preparation.rows import (
    NormalizeOptions,
    SubscriberInput,
    asks_subscribed,
    key_columns,
    opted_out,
    prepare,
)

__all__ = [
    "NormalizeOptions",
    "Packed",
    "RowResult",
    "RowStatus",
    "SubscriberInput",
    "as_utc",
    "asks_subscribed",
    "check_attributes",
    "key_columns",
    "not_in_future",
    "opted_out",
    "prepare",
    "prepare_batch",
    "prepare_packed",
    "skipped",
    "under",
    "unpack",
    "validate_profile",
    "warm_up",
]
