"""`substore export`: the options, a progress bar and the summary around the client."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from substore import remote
from substore.exporter import client


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "export",
        help="write every matching subscriber to a CSV or JSON-lines file (importable)",
    )
    cmd.add_argument("file", type=Path)
    cmd.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    cmd.add_argument(
        "--token", default=os.environ.get("SUBSTORE_TOKEN"), help="default: SUBSTORE_TOKEN"
    )
    cmd.add_argument("--format", choices=["csv", "jsonl"], help="default: from FILE's suffix")
    cmd.add_argument("--updated-after", help="only subscribers changed after this time")
    cmd.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a SubscriberFilter field, e.g. status=SUBSCRIBED or regionCode=GB (repeatable)",
    )
    cmd.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    fmt = args.format or ("jsonl" if args.file.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    try:
        remote.check_token(args.token)
        remote.endpoint(args.url)
        job = client.ExportJob(
            args.file, args.url, args.token, fmt, client.parse_filters(args.filter),
            args.updated_after,
        )  # fmt: skip
        started = time.perf_counter()
        count = _with_progress(job)
    except (client.ExportError, remote.UsageError) as error:
        print(f"substore export: error: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(f"{count:,} subscribers in {seconds:.1f}s to {args.file}")
    return 0


def _with_progress(job: client.ExportJob) -> int:
    console = Console(stderr=True)
    progress = Progress(
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("export", total=None)
        return client.export(
            job, lambda done, total: progress.update(task, completed=done, total=total)
        )
