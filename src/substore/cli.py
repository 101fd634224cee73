"""The `substore` command. Each subcommand is a small function; argparse wires them."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

from substore.errors import ConfigError, PhoneNumberError, SubstoreError
from substore.exporter import command as export_command
from substore.importer import command as import_command
from substore.rekey import command as rekey_command
from substore.trusted import command as documents_command

if TYPE_CHECKING:
    import pydantic

    from substore import phone
    from substore.config import Settings


class _OnFirstUse:
    """A module imported when a subcommand first uses it: `substore import` and
    `export` need no SQLAlchemy, and start in half the time without it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attribute)


citus, commands, db = (_OnFirstUse(f"substore.{m}") for m in ("citus", "commands", "db"))


# Settings (pydantic-settings) and phonenumbers, too, are loaded by the commands that
# use them: together they were half of `substore import`'s start-up.
def get_settings() -> Settings:
    from substore.config import get_settings as settings

    return settings()


def _validation_error() -> type[pydantic.ValidationError]:
    """Evaluated only while an error is being matched (main's last except clause)."""
    import pydantic

    return pydantic.ValidationError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    # Every subcommand's set_defaults(handler=...) is one of this module's or a command module's.
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except BrokenPipeError:
        # `substore normalize - | head`: the reader has gone; end quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("substore: interrupted", file=sys.stderr)
        return 130
    except SubstoreError as error:
        # The user's mistake (an unknown account or key, a bad region): one line, exit 1.
        print(f"substore: error: {error.args[0]}", file=sys.stderr)
        return 1
    except ConfigError as error:
        # The environment (unreachable database, unwritable data dir): one line, exit 2.
        print(f"substore: error: {error}", file=sys.stderr)
    except _validation_error() as error:
        print(f"substore: error: bad setting: {_settings_problems(error)}", file=sys.stderr)
    return 2


def _settings_problems(error: pydantic.ValidationError) -> str:
    # A problem of several settings together (the JWT ones) has no location: it names them.
    return "; ".join(
        f"SUBSTORE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"]
        for e in error.errors()
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="substore", description="Subscriber store keyed by E.164 phone numbers."
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_normalize(sub)
    migrate = sub.add_parser(
        "migrate",
        help="upgrade the database schema to the latest; on Citus, distribute the tables",
    )
    migrate.add_argument(
        "--no-distribute",
        dest="distribute",
        action="store_false",
        help="on a database with the citus extension, leave the tables local",
    )
    migrate.set_defaults(handler=_migrate)
    _add_serve(sub)
    _add_accounts(sub)
    _add_keys(sub)
    _add_schema(sub)
    import_command.add_command(sub)
    export_command.add_command(sub)
    documents_command.add_command(sub)
    rekey_command.add_command(sub)
    return parser


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("serve", help="migrate, then serve the API (and GraphiQL)")
    cmd.add_argument("--host", default=None, help="default: SUBSTORE_HOST or 127.0.0.1")
    cmd.add_argument("--port", type=int, default=None, help="default: SUBSTORE_PORT or 8000")
    cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        help="serving processes; default: SUBSTORE_WORKERS, else the machine's cores",
    )
    cmd.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from substore import embedded
    from substore.reaper import Reaper
    from substore.web import server

    settings = get_settings()
    reaper = Reaper()  # stops and removes what serve starts and makes, even after a kill -9
    if not settings.database_url:
        reaper.look_after_database(embedded.pgdata_of(settings.data_dir))
    # Start (or join) the database here, so it lives as long as this process.
    settings = settings.model_copy(update={"database_url": db.database_url(settings)})
    host, port = args.host or settings.host, args.port or settings.port
    workers = args.workers or settings.workers or os.cpu_count() or 1
    store = commands.prepare_store(settings)
    print(commands.start_banner(store, f"http://{host}:{port}/graphql"), flush=True)
    stale = store.get("stale")
    if isinstance(stale, dict) and stale:  # rows keyed by another phonenumbers: what to run
        print(commands.stale_keys_warning(stale), file=sys.stderr, flush=True)
    try:
        server.run(settings, host, port, workers, reaper)
    finally:
        embedded.release()
    return 0


def _add_accounts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    accounts = sub.add_parser("accounts", help="manage accounts").add_subparsers(
        metavar="ACTION", required=True
    )
    cmd = accounts.add_parser("create", help="create an account and its first write key")
    cmd.add_argument("--name", required=True)
    cmd.add_argument("--default-region", required=True, help="ISO 3166-1 alpha-2, e.g. US")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(handler=_accounts_create)
    listing = accounts.add_parser("list", help="list the accounts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_accounts_list)


def _accounts_list(args: argparse.Namespace) -> int:
    found = commands.list_accounts(get_settings())
    if args.json:
        print(json.dumps(found))
    for account in [] if args.json else found:
        print(
            f"{account['id']:>4}  {account['name']}  ({account['defaultRegion']})  "
            f"created {account['createdAt']}"
        )
    if not found and not args.json:
        print("no accounts yet: `substore accounts create --name NAME --default-region US`")
    return 0


def _accounts_create(args: argparse.Namespace) -> int:
    created = commands.create_account(get_settings(), args.name, args.default_region)
    if args.json:
        print(json.dumps(created))
    else:
        print(f"account {created['id']} {created['name']!r} ({created['defaultRegion']})")
        print(f"write API key (shown once): {created['apiKey']}")
    return 0


def _add_keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        metavar="ACTION", required=True
    )
    cmd = keys.add_parser("create", help="create an API key for an account")
    cmd.add_argument("--account", type=int, required=True, help="the account id")
    cmd.add_argument("--scope", choices=["read", "write"], required=True)
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd.set_defaults(handler=_keys_create)
    listing = keys.add_parser("list", help="list an account's keys (prefixes only)")
    listing.add_argument("--account", type=int, required=True)
    listing.set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key, given whole or by its listed prefix")
    revoke.add_argument("--account", type=int, required=True)
    revoke.add_argument("key", help="the key (sk_...) or the prefix `keys list` shows")
    revoke.set_defaults(handler=_keys_revoke)


def _keys_create(args: argparse.Namespace) -> int:
    created = commands.create_key(get_settings(), args.account, args.scope)
    print(
        json.dumps(created)
        if args.json
        else f"{args.scope} API key (shown once): {created['apiKey']}"
    )
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    for key in commands.list_keys(get_settings(), args.account):
        state = f"revoked {key['revokedAt']}" if key["revokedAt"] else "live"
        print(f"{key['prefix']}…  {key['scope']:5}  created {key['createdAt']}  {state}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    key = commands.revoke_key(get_settings(), args.account, args.key)
    print(
        f"revoked {key['prefix']}… ({key['scope']}); a running server stops accepting it "
        "within SUBSTORE_AUTH_CACHE_SECONDS"
    )
    return 0


def _add_schema(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = sub.add_parser("schema", help="the GraphQL schema file").add_subparsers(
        metavar="ACTION", required=True
    )
    schema.add_parser("export", help="write schema/schema.graphql").set_defaults(
        handler=_schema_export
    )
    schema.add_parser("check", help="exit 1 if schema/schema.graphql is stale").set_defaults(
        handler=_schema_check
    )


def _schema_export(_: argparse.Namespace) -> int:
    commands.export_schema()
    print(f"wrote {commands.SCHEMA_FILE}")
    return 0


def _schema_check(_: argparse.Namespace) -> int:
    if commands.schema_is_current():
        print("schema/schema.graphql is up to date")
        return 0
    print(
        "schema/schema.graphql is stale: run `substore schema export` and commit it",
        file=sys.stderr,
    )
    return 1


def _migrate(args: argparse.Namespace) -> int:
    try:
        before, now, spread = commands.migrate(get_settings(), distribute=args.distribute)
    except citus.DistributionError as error:
        print(f"substore: {error}", file=sys.stderr)
        return 1
    if before == now:
        print(f"substore: the database schema was already up to date (revision {now})")
    else:
        print(f"substore: migrated the database schema from {before or 'nothing'} to {now}")
    if spread and spread.changed:
        print(f"substore: distributed on Citus: {', '.join(spread.changed)}")
    elif spread and spread.citus:
        print("substore: the tables were already distributed on Citus (by account_id)")
    if spread and spread.citus and not spread.workers:
        print(
            "substore: no Citus worker is registered, so the coordinator holds every shard; "
            "add workers (SELECT citus_add_node('HOST', PORT)) and move shards to them "
            "(SELECT citus_rebalance_start())"
        )
    return 0


def _add_normalize(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
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


def _check(number: str | None, e164: str | None, region: str, strict: bool) -> dict[str, Any]:
    """The shape of the GraphQL PhoneNumberCheck, as JSON."""
    from substore import phone

    try:
        result = phone.normalize(number, e164, default_region=region, strict_country_code=strict)
    except PhoneNumberError as error:
        return {"valid": False, "error": error.user_error.as_dict()}
    return {"valid": True, **_camel(result)}


def _camel(result: phone.NormalizedNumber) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in result._asdict().items():
        head, *rest = key.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    out["warnings"] = [w.as_dict() for w in result.warnings]
    return out


if __name__ == "__main__":
    sys.exit(main())
