"""`substore import`: checks, the progress bar, the summary and the exit code around the
client. Everything the user named is checked before anything is sent."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shlex
import sys
import time
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from substore import remote
from substore.errors import PhoneNumberError
from substore.importer.client import Importer, Totals
from substore.importer.job import DEFAULT_CONCURRENCY, ImportJob
from substore.importer.source import DELIMITERS, ImportFileError, Source
from substore.importer.transport import FatalImportError

INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "import",
        help="import subscribers from a CSV or .xlsx file (with a header row) or a JSON-lines file",
        description="Exit code 0: every row stored; 1: some rows were rejected (see --rejects); "
        "2: the import could not start or go on; 130: interrupted (the same command with "
        "--resume continues).",
    )
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    cmd.add_argument(
        "--token", default=os.environ.get("SUBSTORE_TOKEN"), help="default: SUBSTORE_TOKEN"
    )
    cmd.add_argument("--number-column", help="default: a column named like Phone, Mobile, Cell…")
    cmd.add_argument("--e164-column", help="a column of E.164 numbers (takes precedence)")
    cmd.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="a SubscriberInput field (firstName, email, defaultRegion…) or attributes.KEY "
        "from COLUMN (repeatable)",
    )
    cmd.add_argument(
        "--default-region",
        help="home country for numbers without a country code: a code (GB) or a name "
        "(United Kingdom, England, Deutschland)",
    )
    cmd.add_argument("--strict-country-code", action="store_true")
    cmd.add_argument(
        "--invalid-fields",
        choices=["reject-row", "drop-field"],
        default="reject-row",
        help="drop-field stores a row with a good number without its invalid optional fields",
    )
    cmd.add_argument("--dry-run", action="store_true", help="check everything, store nothing")
    cmd.add_argument("--sheet", help="the sheet of an .xlsx workbook to read (default: the first)")
    cmd.add_argument("--delimiter", choices=sorted(DELIMITERS), help="default: sniffed")
    cmd.add_argument("--encoding", default="utf-8-sig", help="e.g. cp1252 for Windows exports")
    cmd.add_argument("--batch-size", type=int, default=1000)
    cmd.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="parallel requests (lanes); fewer while the server's interactive requests wait",
    )
    cmd.add_argument(
        "--rejects", type=Path, help="refused rows, with the reason (default: FILE.rejects.csv)"
    )
    cmd.add_argument(
        "--warnings", type=Path, help="rows stored with a warning (default: FILE.warnings.csv)"
    )
    cmd.add_argument("--resume", action="store_true", help="skip rows an earlier run stored")
    cmd.add_argument("--checkpoint", type=Path, help="default: FILE.checkpoint")
    cmd.add_argument("--max-retries", type=int, default=8)
    cmd.set_defaults(handler=run)


def _job(args: argparse.Namespace) -> ImportJob:
    try:
        remote.check_token(args.token)
        remote.endpoint(args.url)
    except remote.UsageError as error:
        raise ImportFileError(str(error)) from None
    if not 1 <= args.batch_size <= 1000 or args.concurrency < 1:
        raise ImportFileError("--batch-size must be 1..1000 and --concurrency at least 1")
    return ImportJob(
        source=Source(args.file, args.encoding, args.delimiter, args.sheet),
        url=args.url,
        token=args.token,
        mapping=_mapping(args),
        default_region=_region(args.default_region),
        strict_country_code=args.strict_country_code,
        drop_invalid_fields=args.invalid_fields == "drop-field",
        dry_run=args.dry_run,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        rejects=args.rejects,
        warnings=args.warnings,
        resume=args.resume,
        checkpoint=args.checkpoint,
        max_retries=args.max_retries,
    )


def _region(text: str | None) -> str | None:
    """The option as the ISO code the server takes; a name read as one says which."""
    if not text:
        return None
    from substore.phone.regions import read_region  # phonenumbers: only for this option

    try:
        code, read_as = read_region(text)
    except PhoneNumberError as error:
        raise ImportFileError(f"--default-region: {error.args[0]}") from None
    if read_as is not None:
        print(f"--default-region: {read_as.message}", file=sys.stderr)
    return code


def _mapping(args: argparse.Namespace) -> dict[str, str]:
    mapping = {}
    for item in args.map:
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ImportFileError(f"--map {item!r}: write FIELD=COLUMN")
        mapping[name.strip()] = column.strip()
    if args.number_column:
        mapping["number"] = args.number_column
    if args.e164_column:
        mapping["e164Number"] = args.e164_column
    return mapping


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    importer = None
    started = time.perf_counter()
    try:
        job = _job(args)
        importer = Importer(job, on_pace=partial(_paced, console, job.concurrency))
        # The modules loaded by now live as long as the process: full collections during
        # the import need not walk them again and again. A row's objects live until its
        # batch is stored: collecting every 700 allocations walked each of them repeatedly.
        gc.freeze()
        gc.set_threshold(10_000)
        totals = _with_progress(importer, console)
    except ImportFileError as error:
        return _failed(console, str(error), resumable=False)
    except FatalImportError as error:
        return _failed(console, str(error), resumable=error.resumable)
    except KeyboardInterrupt:
        done = importer.totals.rows if importer else 0
        print(f"interrupted after {done:,} rows; to continue: {_again()}", file=sys.stderr)
        return INTERRUPTED
    print(_summary(importer, totals, time.perf_counter() - started))
    return totals.exit_code


def _again() -> str:
    """The command as it was run, with --resume: the checkpoint holds the outputs."""
    args = sys.argv[1:]
    return shlex.join(["substore", *args, *([] if "--resume" in args else ["--resume"])])


def _failed(console: Console, message: str, *, resumable: bool) -> int:
    # soft_wrap: one line whatever the terminal's width (scripts grep it).
    console.print(
        f"substore import: error: {message}", style="red", highlight=False, soft_wrap=True
    )
    if resumable:
        console.print(f"To continue where it stopped: {_again()}", highlight=False, soft_wrap=True)
    return 2


def _paced(console: Console, most: int, old: int, new: int) -> None:
    """A line when the import makes room for interactive requests, and when it stops."""
    if new == 0:
        line = "yielding to interactive requests: 1 lane, resting between batches"
    elif new < old:
        line = f"yielding to interactive requests: {old} -> {new} {_lanes(new)}"
    elif new == most:
        line = f"interactive requests no longer wait: back to {new} {_lanes(new)}"
    else:
        return  # growing back one lane at a time: the next line says where it ends
    console.print(line, highlight=False, soft_wrap=True)


def _lanes(count: int) -> str:
    return "lane" if count == 1 else "lanes"


def _yielded(importer: Importer) -> str | None:
    pacing = importer.pacing
    control = pacing.controller
    if not control.yields:
        return None
    return (
        f"yielded to interactive requests {control.yields:,} "
        f"{'time' if control.yields == 1 else 'times'} (down to {control.fewest} "
        f"{_lanes(control.fewest)}{', resting between batches' if control.rests else ''}, "
        f"{pacing.below_seconds:.1f}s below {control.most})"
    )


def _summary(importer: Importer, totals: Totals, seconds: float) -> str:
    job, outputs = importer.job, importer.outputs
    rate = totals.rows / seconds if seconds else 0
    parts = [
        f"{totals.rows:,} rows in {seconds:.1f}s ({rate:,.0f} rows/s): "
        f"{totals.created:,} created, {totals.updated:,} updated, {totals.merged:,} merged, "
        f"{totals.failed:,} rejected"
        + (f" (see {outputs['rejects']})" if totals.failed and "rejects" in outputs else "")
    ]
    if totals.warned:
        parts.append(
            f"{totals.warned:,} stored with a warning"
            + (f" (see {outputs['warnings']})" if "warnings" in outputs else "")
        )
    if totals.keptOptedOut:
        parts.append(
            f"{totals.keptOptedOut:,} kept opted out (they asked for SUBSCRIBED without "
            "consent given after their opt-out)"
        )
    if yielded := _yielded(importer):
        parts.append(yielded)
    prefix = "dry run, nothing stored: " if job.dry_run else ""
    return prefix + "; ".join(parts)


def _with_progress(importer: Importer, console: Console) -> Totals:
    # Short columns: rows done of the estimate, rows/s and failures stay readable at 80.
    progress = Progress(
        BarColumn(bar_width=16),
        TextColumn("{task.fields[done]}"),
        TextColumn("{task.fields[rate]}/s"),
        TextColumn("failed {task.fields[failed]}"),
        console=console,
        disable=not console.is_terminal,
    )
    size, started = max(1, importer.source.size), time.perf_counter()
    with progress:
        task = progress.add_task("import", total=None, done="0", rate="-", failed="0")
        seen = [0]

        def update(rows: int, totals: Totals, read: list[int]) -> None:
            seen[0] += rows
            elapsed = time.perf_counter() - started
            # Rows, not lines (a quoted cell may span lines): the rows read so far, scaled
            # by the bytes still to read.
            read_bytes, read_rows = read
            estimate = max(seen[0], round(read_rows * size / read_bytes)) if read_bytes else None
            progress.update(
                task,
                completed=seen[0],
                total=estimate,
                done=f"{seen[0]:,}/≈{estimate:,}" if estimate else f"{seen[0]:,}",
                rate=f"{seen[0] / elapsed:,.0f}" if elapsed else "-",
                failed=f"{totals.failed:,}",
            )

        importer.on_progress = update
        return asyncio.run(importer.run())
