"""A workbook's shared strings, kept in a temporary file instead of in memory.

Excel, LibreOffice and Google Sheets store every distinct text of a workbook once, in
xl/sharedStrings.xml, and cells refer to it by index. openpyxl reads that table into a
list of str, even in read-only mode: for a million-row export (names, emails, numbers
typed as text) that is millions of strings, hundreds of MB, before the first row. Here
each string goes to a temporary file as it is parsed, and its offset to a second one;
a cell's text is two reads (the operating system's cache keeps the file's hot pages).
"""

from __future__ import annotations

import os
import struct
import tempfile
from functools import lru_cache
from typing import IO
from xml.etree.ElementTree import iterparse

from openpyxl.cell.text import Text
from openpyxl.xml.constants import SHEET_MAIN_NS

_SI = f"{{{SHEET_MAIN_NS}}}si"
_OFFSET = struct.Struct("<QI")  # where a string starts in the texts file, and its length
CACHED = 4096  # names, countries and statuses repeat: their lookups skip the reads


class SpilledStrings:
    """Indexable like openpyxl's list: `strings[i]` is the i-th shared string."""

    def __init__(self, texts: IO[bytes], offsets: IO[bytes], count: int) -> None:
        self._texts, self._offsets, self._count = texts, offsets, count
        self._get = lru_cache(maxsize=CACHED)(self._read)

    @classmethod
    def read(cls, source: IO[bytes]) -> SpilledStrings:
        # Closed by close(), when the workbook is: they outlive this call.
        texts, offsets = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        count, position = 0, 0
        events = iterparse(source, events=("start", "end"))
        _, root = next(events)
        for event, node in events:
            if event != "end" or node.tag != _SI:
                continue
            # As openpyxl's read_string_table: the runs' text without phonetic hints.
            data = (
                Text.from_tree(node).content.replace("x005F_", "").encode("utf-8", "surrogatepass")
            )
            texts.write(data)
            offsets.write(_OFFSET.pack(position, len(data)))
            position, count = position + len(data), count + 1
            root.clear()  # node.clear() alone leaves every emptied <si> in the tree
        texts.flush()
        offsets.flush()
        return cls(texts, offsets, count)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < self._count:
            raise IndexError(f"shared string {index} of {self._count}")
        return self._get(index)

    def _read(self, index: int) -> str:
        record = os.pread(self._offsets.fileno(), _OFFSET.size, index * _OFFSET.size)
        start, length = _OFFSET.unpack(record)
        return os.pread(self._texts.fileno(), length, start).decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self._texts.close()
        self._offsets.close()
