"""graphql-http's own audit of GraphQL over HTTP (the npm package's `auditServer`, which
browser clients' authors test against), run on the app served on 127.0.0.1 with an API
key on every request: every item must be ok, the optional ones too.

The package is installed with npm on first use into a cache directory outside the
repository, pinned, as bench/postgraphile.py installs PostGraphile. Without node, npm or
the registry the test fails: it never skips (CI has all three).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

# graphql is graphql-http's peer dependency: pinned too, so every cache is the same.
PACKAGES = ("graphql-http@1.23.1", "graphql@16.15.0")
CACHE = Path(os.environ.get("SUBSTORE_TEST_CACHE", Path.home() / ".cache" / "substore-tests"))
HOME = CACHE / "graphql-http-1.23.1"
SCRIPT = Path(__file__).with_name("graphql_http_audit.mjs")
AUDITS = 61  # in graphql-http 1.23.1


def install() -> Path:
    """The npm prefix graphql-http is installed in, installing it on first use."""
    if not (HOME / "node_modules" / "graphql-http" / "package.json").exists():
        npm = shutil.which("npm")
        assert npm, "the GraphQL-over-HTTP audit needs node and npm (Debian: nodejs, npm)"
        HOME.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(HOME), *PACKAGES]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
    return HOME


def test_graphql_http_audit_is_all_ok(base: str, key: str) -> None:
    node = shutil.which("node")
    assert node, "the GraphQL-over-HTTP audit needs node (Debian: nodejs)"
    command = [node, str(SCRIPT), str(install()), f"{base}/graphql"]
    env = {**os.environ, "SUBSTORE_AUDIT_KEY": key}  # not in argv: ps shows argv
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    failed = [result for result in results if result["status"] != "ok"]
    assert not failed, f"{len(failed)} of {len(results)} audits not ok:\n" + "\n".join(
        map(_described, failed)
    )
    assert len(results) == AUDITS


def _described(result: dict[str, Any]) -> str:
    answer = f"{result['http']} {result['contentType']} {result['body']}"
    return f"{result['id']} {result['status']}: {result['name']}: {result['reason']} ({answer})"
