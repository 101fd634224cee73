"""Peak memory (RSS) of reading an .xlsx import as `substore import` does, by row count.

The workbook is written the way Excel writes one: every text in a shared strings table
(xl/sharedStrings.xml, which openpyxl alone would hold in memory whole), numbers stored as
floats in scientific notation (4.47400123456E11), a date column. openpyxl's own writer
uses inline strings, which would hide the table's cost, so the XML is written here.
Each size is read in a fresh process, and its peak RSS is reported next to the file size.
Usage: python bench/xlsx_memory.py [--rows 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>",
    "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
    '<sheet name="Contacts" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
    # Style 1 is a date (number format 14), as Excel writes a date cell.
    "xl/styles.xml": f'<styleSheet xmlns="{NS}"><fonts count="1"><font/></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
    '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
}
HEADER = ("Phone", "First Name", "Email", "Signed up")


def write_workbook(path: Path, rows: int) -> None:
    """`rows` contacts: a float phone number, a unique name and email, a date."""
    count = len(HEADER) + 2 * rows
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, xml in PARTS.items():
            book.writestr(name, xml)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(f'<sst xmlns="{NS}" count="{count}" uniqueCount="{count}">'.encode())
            for text in (*HEADER, *_texts(rows)):
                out.write(f"<si><t>{escape(text)}</t></si>".encode())
            out.write(b"</sst>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(
                f'<worksheet xmlns="{NS}"><dimension ref="A1:D{rows + 1}"/><sheetData>'.encode()
            )
            out.write(b'<row r="1">' + b"".join(_text(i) for i in range(len(HEADER))) + b"</row>")
            for n in range(rows):
                out.write(_row(n).encode())
            out.write(b"</sheetData></worksheet>")


def _texts(rows: int):
    for n in range(rows):
        yield f"Person {n:07d}"
        yield f"person{n:07d}@example.com"


def _text(index: int) -> bytes:
    return f'<c t="s"><v>{index}</v></c>'.encode()


def _row(n: int) -> str:
    phone = f"{447400000000 + n:.11E}".replace("E+", "E")  # 4.47400123456E11, as Excel
    strings = len(HEADER) + 2 * n
    return (
        f'<row r="{n + 2}"><c><v>{phone}</v></c><c t="s"><v>{strings}</v></c>'
        f'<c t="s"><v>{strings + 1}</v></c><c s="1"><v>{46000 + n % 365}</v></c></row>'
    )


def read_all(path: Path) -> None:
    """Child process: read every row as the importer does; print rows, seconds, peak MB."""
    from substore.importer.source import Source

    started, rows, last = time.perf_counter(), 0, None
    for row in Source(path).rows([0]):
        rows, last = rows + 1, row
    peak = _peak_rss_mb()
    assert last is not None and last.values["Phone"] == 447400000000 + rows - 1, last
    print(f"{rows} {time.perf_counter() - started:.1f} {peak:.0f}")


def _peak_rss_mb() -> float:
    """VmHWM, this program's own peak: ru_maxrss survives exec, so a child would report
    the peak of the parent that wrote the workbook."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        return read_all(args.read)
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            path = Path(folder) / f"contacts-{rows}.xlsx"
            write_workbook(path, rows)
            child = [sys.executable, __file__, "--read", str(path)]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            read, seconds, peak = done.stdout.split()
            size = path.stat().st_size / 2**20
            print(
                f"{int(read):>9,} rows  {size:6.1f} MB file  {float(seconds):6.1f}s  peak RSS {peak} MB"
            )
    return None


if __name__ == "__main__":
    main()
