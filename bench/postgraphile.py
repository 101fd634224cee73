"""PostGraphile 4 beside substore, for bench/lookup.py: installed from the npm registry into
a cache directory outside the repository, and served on the same database.

The cache is $SUBSTORE_BENCH_CACHE (default ~/.cache/substore-bench); the versions are
pinned here so that runs compare like with like.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGES = ("postgraphile@4.14.1", "@graphile-contrib/pg-simplify-inflector@6.1.0")
CACHE = Path(os.environ.get("SUBSTORE_BENCH_CACHE", Path.home() / ".cache" / "substore-bench"))
HOME = CACHE / "postgraphile"

FIELDS = "id e164Number number rawNumber countryCode regionCode numberType countryCodeSource firstName lastName email status createdAt updatedAt"
# The same questions as substore's: one subscriber by its account and number, and the
# account's first 50 in creation order (the simplify inflector's names).
LOOKUP = f"""query($a: BigInt!, $n: String!) {{
  subscriberByAccountIdAndE164Number(accountId: $a, e164Number: $n) {{ {FIELDS} }} }}"""
PAGE = f"""query($a: BigInt!) {{
  subscribers(first: 50, condition: {{accountId: $a}}, orderBy: [CREATED_AT_ASC, ID_ASC]) {{
    edges {{ node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""


def install() -> Path:
    """The postgraphile executable, installed with npm on first use."""
    binary = HOME / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise SystemExit("bench/lookup.py needs node and npm to run PostGraphile beside us")
        HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HOME), *PACKAGES],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return binary


def command(database_url: str, port: int) -> list[str]:
    """PostGraphile on `database_url` (a libpq URL), production settings, no GraphiQL."""
    return [
        str(install()),
        "--connection",
        database_url,
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-graphiql",
        "--disable-query-log",
        "--append-plugins",
        "@graphile-contrib/pg-simplify-inflector",
    ]
