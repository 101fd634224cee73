"""`substore import`: the progress bar, the summary and the exit code around the client."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from substore.importer.client import FatalImportError, ImportJob, Totals, run_import
from substore.importer.files import ImportFileError, count_rows


def add_command(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser(
        "import",
        help="import subscribers from a CSV (with a header row) or JSON-lines file",
        description="Exit code 0: every row stored; 1: some rows were rejected (see --rejects); "
        "2: the import could not go on (bad token, server unreachable after the retries).",
    )
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    cmd.add_argument(
        "--token", default=os.environ.get("SUBSTORE_TOKEN"), help="default: SUBSTORE_TOKEN"
    )
    cmd.add_argument("--number-column", help="default: number, phone, phone_number or mobile")
    cmd.add_argument("--e164-column", help="a column of E.164 numbers (takes precedence)")
    cmd.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="firstName, lastName, email, status or attributes.KEY from COLUMN (repeatable)",
    )
    cmd.add_argument("--default-region", help="home region for numbers without a country code")
    cmd.add_argument("--strict-country-code", action="store_true")
    cmd.add_argument("--batch-size", type=int, default=1000)
    cmd.add_argument("--concurrency", type=int, default=2, help="parallel requests (lanes)")
    cmd.add_argument("--rejects", type=Path, help="write refused rows here, with the reason")
    cmd.add_argument("--resume", action="store_true", help="skip batches an earlier run stored")
    cmd.add_argument("--checkpoint", type=Path, help="default: FILE.checkpoint")
    cmd.add_argument("--max-retries", type=int, default=8)
    cmd.set_defaults(handler=run)


def _job(args: argparse.Namespace) -> ImportJob:
    if not args.token:
        raise ImportFileError("no API key: pass --token or set SUBSTORE_TOKEN")
    if not 1 <= args.batch_size <= 1000 or args.concurrency < 1:
        raise ImportFileError("--batch-size must be 1..1000 and --concurrency at least 1")
    if not args.file.is_file():
        raise ImportFileError(f"{args.file} is not a file")
    mapping = {}
    for item in args.map:
        name, sep, column = item.partition("=")
        if not sep:
            raise ImportFileError(f"--map {item!r}: write FIELD=COLUMN")
        mapping[name.strip()] = column.strip()
    return ImportJob(
        path=args.file,
        url=args.url,
        token=args.token,
        number_column=args.number_column,
        e164_column=args.e164_column,
        mapping=mapping,
        default_region=args.default_region,
        strict_country_code=args.strict_country_code,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        rejects=args.rejects,
        resume=args.resume,
        checkpoint=args.checkpoint,
        max_retries=args.max_retries,
    )


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        job = _job(args)
        totals, seconds = _with_progress(job, console)
    except (FatalImportError, ImportFileError) as error:
        console.print(f"substore import: error: {error}", style="red", highlight=False)
        console.print("Run again with --resume to continue where it stopped.", highlight=False)
        return 2
    rate = totals.rows / seconds if seconds else 0
    print(
        f"{totals.rows:,} rows in {seconds:.1f}s ({rate:,.0f} rows/s): "
        f"{totals.created:,} created, {totals.updated:,} updated, "
        f"{totals.merged:,} merged, {totals.failed:,} rejected"
        + (f" (see {job.rejects})" if totals.failed and job.rejects else "")
        + (
            f"; {totals.keptOptedOut:,} kept opted out (they asked for SUBSCRIBED without "
            "consent given after their opt-out)"
            if totals.keptOptedOut
            else ""
        )
    )
    return totals.exit_code


def _with_progress(job: ImportJob, console: Console) -> tuple[Totals, float]:
    progress = Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[counts]}"),
        console=console,
        disable=not console.is_terminal,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("import", total=count_rows(job.path), rate="-", counts="")

        def update(rows: int, totals: Totals) -> None:
            elapsed = time.perf_counter() - started
            progress.update(
                task,
                advance=rows,
                rate=f"{totals.rows / elapsed:,.0f}" if elapsed else "-",
                counts=f"created {totals.created:,} updated {totals.updated:,} "
                f"merged {totals.merged:,} failed {totals.failed:,}",
            )

        totals = asyncio.run(run_import(job, update))
    return totals, time.perf_counter() - started
