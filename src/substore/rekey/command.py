"""`substore rekey --check|--apply [--account ID] [--output FILE]`: the options, a progress
bar on a terminal, the report, and the exit code (0: no key would change, 3: some would)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from substore.errors import ValidationError
from substore.rekey.report import Kind, Report, write_csv

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

WOULD_CHANGE = 3
SHOWN = 20  # findings printed per kind and account; --output has them all
CLI = ".venv/bin/substore"


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "rekey",
        help="re-read every key with the installed phonenumbers: report (--check) or fix (--apply)",
        description="Run after every phonenumbers upgrade: --check reports, per account, the "
        "keys the installed phonenumbers reads differently (by libphonenumber's migration "
        "recipes where a stored key is no longer valid), the collisions and the numbers now "
        "invalid; --apply re-keys them online, merging collisions. Exit code 0: no key "
        "would change (or none was left to change); 3: some would; 1: a bad option.",
    )
    mode = cmd.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="report only: writes nothing")
    mode.add_argument("--apply", action="store_true", help="change the keys, merge collisions")
    cmd.add_argument("--account", type=int, help="only this account (default: every account)")
    cmd.add_argument("--output", type=Path, help="write every finding to FILE as CSV")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from substore import commands
    from substore.config import get_settings  # not at the top: see cli.get_settings

    with _output(args.output) as out:
        console = Console(stderr=True)
        with _progress(console) as tick:

            async def work(engine: AsyncEngine) -> Report:
                from substore.services import rekey

                job = rekey.apply if args.apply else rekey.check
                return await job(engine, args.account, tick)

            report = asyncio.run(commands.with_engine(get_settings(), work))
        if out is not None:
            count = write_csv(report, out)
            print(f"wrote {count:,} findings to {args.output}", file=sys.stderr)
    _print(report, applied=args.apply)
    return WOULD_CHANGE if report.changes and not args.apply else 0


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO | None]:
    """The --output file, opened before any work: a path that cannot be written is a
    mistake to hear about at once, not after a long check."""
    if path is None:
        yield None
        return
    try:
        out = path.open("w", newline="", encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValidationError(f"--output {path}: {reason}", field=("output",)) from None
    with out:
        yield out


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[int, int], None]]:
    """A bar on stderr when it is a terminal; nothing otherwise."""
    bar = Progress(
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task("rekey", total=None)

        def tick(rows: int, total: int) -> None:
            bar.update(task, advance=rows, total=total)

        yield tick


def _print(report: Report, *, applied: bool) -> None:
    for account in report.accounts:
        print(account.summary())
        for kind in Kind:
            shown = [f for f in account.findings if f.kind is kind]
            for finding in shown[:SHOWN]:
                print("  " + finding.line())
            if len(shown) > SHOWN:
                print(
                    f"  ... and {len(shown) - SHOWN:,} more {kind} rows (--output FILE lists all)"
                )
    print(_verdict(report, applied))


def _verdict(report: Report, applied: bool) -> str:
    from substore.phone import NORMALIZER_VERSION  # not at the top: see cli.get_settings

    invalid = sum(a.count(Kind.INVALID) for a in report.accounts)
    left = (
        f" {invalid:,} numbers are invalid with phonenumbers {NORMALIZER_VERSION} and no recipe "
        "fixes them: they are left as they are, for a person to look at."
        if invalid
        else ""
    )
    if applied:
        return f"re-keyed {report.changes:,} rows with phonenumbers {NORMALIZER_VERSION}." + left
    if report.changes:
        return (
            f"{report.changes:,} keys would change with phonenumbers {NORMALIZER_VERSION}: "
            f"`{CLI} rekey --apply` changes them (collisions merge)." + left
        )
    return f"every valid key is as phonenumbers {NORMALIZER_VERSION} makes it." + left
