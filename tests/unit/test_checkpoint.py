"""The import checkpoint: batches being sent are recorded with their keys before the
request, and a resume finds the ones never stored."""

from __future__ import annotations

import pytest

from substore.importer import pending
from substore.importer.checkpoint import Checkpoint, source_identity
from substore.importer.source import ImportFileError, SourceRow

OUTPUTS = {"rejects": None, "warnings": None}


def start(tmp_path, resume: bool) -> Checkpoint:
    source = tmp_path / "in.csv"
    if not source.exists():
        source.write_text("Phone\n" + "".join(f"20155501{n:02d}\n" for n in range(1, 11)))
    identity = source_identity(source, mapping={}, options={})
    return Checkpoint.start(tmp_path / "ckpt", identity, resume, OUTPUTS)


def test_a_batch_sent_and_not_stored_is_pending_on_resume(tmp_path):
    first = start(tmp_path, resume=False)
    stored = first.sending([1, 2, 4])
    lost = first.sending([3, 5, 6])
    first.record([1, 2, 4], {"created": 3}, {}, stored)
    assert first.stored(4) and not first.stored(3)

    resumed = start(tmp_path, resume=True)
    assert resumed.pending == {lost: [[3, 3], [5, 6]]}
    assert resumed.counts == {"created": 3}
    assert [resumed.stored(n) for n in (1, 2, 3, 4)] == [True, True, False, True]

    resumed.record([3, 5, 6], {"updated": 3}, {}, lost)  # sent again, under its key
    assert resumed.pending == {} and resumed.stored(6)
    again = start(tmp_path, resume=True)
    assert again.pending == {} and again.counts == {"created": 3, "updated": 3}


def test_pending_rows_are_collected_in_file_order_with_their_keys():
    rows = [SourceRow(n, {"Phone": str(n)}) for n in range(1, 11)]
    found: list[tuple[str, int]] = []
    pending.collect(
        rows, {"a": [[2, 3]], "b": [[5, 5], [7, 7]]}, lambda k, r: found.append((k, r.number))
    )
    assert found == [("a", 2), ("a", 3), ("b", 5), ("b", 7)]


def test_a_checkpoint_naming_rows_the_file_lacks_is_refused():
    with pytest.raises(ImportFileError, match="does not have"):
        pending.collect([SourceRow(1, {})], {"a": [[1, 2]]}, lambda k, r: None)
