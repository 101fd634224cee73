"""The documentation site: generated from the code, built strictly, and complete.

The site is built once for the module, as `make docs` builds it (reference pages
generated, then `mkdocs build --strict`), but into a temporary directory.
"""

from __future__ import annotations

import html
import importlib.util
import re
import shutil
import tomllib
from pathlib import Path
from types import ModuleType

import graphql
import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

import substore
from substore.config import Settings
from substore.errors import ErrorCode, PhoneReason, RequestCode

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference", ROOT / "docs/gen/reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("docs")
    docs = tmp / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("reference"))
    _generator().write(docs / "reference")
    config = load_config(
        config_file=str(ROOT / "mkdocs.yml"),
        docs_dir=str(docs),
        site_dir=str(tmp / "site"),
        strict=True,
    )
    build(config)  # strict: a warning (broken link, page missing from the nav) raises
    return tmp / "site"


def _text(site: Path, page: str) -> str:
    return html.unescape((site / page / "index.html").read_text())


def test_every_setting_is_on_the_settings_page(site: Path) -> None:
    text = _text(site, "reference/settings")
    missing = [name for name in Settings.model_fields if f"SUBSTORE_{name.upper()}" not in text]
    assert not missing


def test_every_code_and_reason_is_on_the_errors_page(site: Path) -> None:
    text = _text(site, "reference/errors")
    for enum in (ErrorCode, RequestCode, PhoneReason):
        assert not [member.value for member in enum if member.value not in text]
    for code in RequestCode:
        assert re.search(rf"{code.value}</code></td>\s*<td>{code.http_status}</td>", text)


def test_every_schema_type_field_and_value_is_on_the_graphql_page(site: Path) -> None:
    text = _text(site, "reference/graphql")
    schema = graphql.build_schema((ROOT / "schema/schema.graphql").read_text())
    missing = []
    for named in schema.type_map.values():
        if named.name.startswith("__"):
            continue
        if f'id="{named.name}"' not in text and not graphql.is_specified_scalar_type(named):
            missing.append(named.name)
        names = [*getattr(named, "fields", {}), *getattr(named, "values", {})]
        missing += [f"{named.name}.{name}" for name in names if f"<code>{name}</code>" not in text]
    assert not missing


def test_every_guide_page_is_built(site: Path) -> None:
    pages = list((ROOT / "docs").glob("*.md"))
    assert len(pages) > 10
    for path in pages:
        built = site / ("index.html" if path.stem == "index" else f"{path.stem}/index.html")
        assert built.exists(), path


def test_the_changelog_is_built_and_its_latest_version_is_the_package_s(site: Path) -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.M)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert versions[0] == pyproject["project"]["version"] == substore.__version__
    assert "## [Unreleased]" in changelog
    assert versions[0] in _text(site, "changelog")


def test_a_setting_without_a_comment_stops_the_generator(tmp_path: Path) -> None:
    source = tmp_path / "config.py"
    source.write_text(
        "class Settings:\n"
        "    # Described, over\n"
        "    # two lines.\n"
        "    described: int = 1  # and a note\n"
        "\n"
        "    bare: int = 2\n"
    )
    found = _generator().class_comments(source, "Settings")
    assert found == {"described": "Described, over two lines. (and a note)", "bare": ""}
