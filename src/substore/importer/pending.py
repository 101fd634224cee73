"""The batches a run before this one sent and never saw stored, rebuilt for `--resume`.

Each comes back with the rows it had, in the same order and read by the same mapping,
so its request is the one sent before and the server matches it to its key. They go
before any other row: a lane sends one batch at a time, so each was its lane's oldest
unstored batch, and a later row of that lane (which can be the same subscriber) must
still win. They were in different lanes, so none of them shares a subscriber.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from substore.importer.source import ImportFileError, SourceRow


def rows_by_key(pending: dict[str, list[list[int]]]) -> dict[int, str]:
    """Each pending row number -> its batch's key."""
    return {
        number: key
        for key, ranges in pending.items()
        for first, last in ranges
        for number in range(first, last + 1)
    }


def collect(
    rows: Iterable[SourceRow],
    pending: dict[str, list[list[int]]],
    add: Callable[[str, SourceRow], None],
) -> None:
    """Read `rows` until every pending row was given to `add` with its batch's key."""
    wanted = rows_by_key(pending)
    missing = len(wanted)
    if not missing:
        return  # nothing pending (every import but a resume): the file is not read for it
    for row in rows:
        key = wanted.get(row.number)
        if key is not None:
            add(key, row)
            missing -= 1
            if not missing:
                return
    if missing:
        raise ImportFileError(
            f"the checkpoint names {missing} rows this file does not have; "
            "delete the checkpoint to start over"
        )
