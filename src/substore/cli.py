"""The `substore` command. Each subcommand is a small function; argparse wires them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

import pydantic

from substore import db, phone
from substore.config import get_settings
from substore.errors import ConfigError, PhoneNumberError, SubstoreError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except (ConfigError, SubstoreError) as error:
        # Expected failures (unreachable database, unwritable data dir): one line, no trace.
        print(f"substore: error: {error}", file=sys.stderr)
    except pydantic.ValidationError as error:
        print(f"substore: error: bad setting: {_settings_problems(error)}", file=sys.stderr)
    return 2


def _settings_problems(error: pydantic.ValidationError) -> str:
    return "; ".join(
        f"SUBSTORE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="substore", description="Subscriber store keyed by E.164 phone numbers."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_normalize(commands)
    migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest")
    migrate.set_defaults(handler=_migrate)
    return parser


def _migrate(args: argparse.Namespace) -> int:
    async def run() -> None:
        engine = await db.open_engine(get_settings(), pool_size=1)
        try:
            await db.migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("substore: database schema is up to date")
    return 0


def _add_normalize(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser(
        "normalize",
        help="print the canonical E.164 reading of a phone number as JSON",
        description="Normalise NUMBER to E.164 and print JSON. With '-', read one number "
        "per line from stdin and write JSON lines. Exit code 1 when any number is refused.",
    )
    cmd.add_argument("number", help="the number as written, or '-' to read lines from stdin")
    cmd.add_argument("--region", help="home region for national numbers (default: %(default)s)")
    cmd.add_argument("--e164", help="an E.164 number that takes precedence over NUMBER")
    cmd.add_argument(
        "--strict-country-code",
        action="store_true",
        help="never infer a country code from digits without '+'",
    )
    cmd.set_defaults(handler=_normalize)


def _normalize(args: argparse.Namespace) -> int:
    region = args.region or get_settings().default_region
    if args.number == "-":
        return _normalize_lines(sys.stdin, sys.stdout, region, args.strict_country_code)
    check = _check(args.number, args.e164, region, args.strict_country_code)
    print(json.dumps(check, ensure_ascii=False, indent=2))
    if not check["valid"]:
        error = check["error"]
        print(f"error: {error['reason'] or error['code']}: {error['message']}", file=sys.stderr)
        return 1
    return 0


def _normalize_lines(lines: Iterable[str], out: TextIO, region: str, strict: bool) -> int:
    failed = 0
    for line in lines:
        text = line.rstrip("\r\n")
        check = _check(text, None, region, strict)
        failed += not check["valid"]
        out.write(json.dumps({"input": text, **check}, ensure_ascii=False) + "\n")
    return 1 if failed else 0


def _check(number: str | None, e164: str | None, region: str, strict: bool) -> dict[str, object]:
    """The shape of the GraphQL PhoneNumberCheck, as JSON."""
    try:
        result = phone.normalize(number, e164, default_region=region, strict_country_code=strict)
    except PhoneNumberError as error:
        return {"valid": False, "error": error.user_error.as_dict()}
    return {"valid": True, **_camel(result._asdict())}


def _camel(values: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in values.items():
        head, *rest = key.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    out["warnings"] = [w.as_dict() for w in values["warnings"]]  # type: ignore[union-attr]
    return out


if __name__ == "__main__":
    sys.exit(main())
