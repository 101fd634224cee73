"""The example frontend (examples/frontend) in Debian's chromium, as a person would use it:
a page on one loopback origin calls substore on another with a sign-in token (a JWT the
test signs as an identity provider would), by trusted documentId; it lists subscribers
newest first, pages back and forth, searches and shows canMessage. The same page from an
origin that is not listed is refused by the browser."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from tests.e2e.test_graphiql import CHROMIUM, FLAGS, SCREENSHOTS
from tests.support import serve_in_thread

from substore import repository, services
from substore.config import Settings
from substore.web.app import create_app

FRONTEND = Path(__file__).parents[2] / "examples" / "frontend"
SECRET = secrets.token_urlsafe(32)
ISSUER, AUDIENCE = "https://id.example.test/", "substore-frontend"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)"
)


def page_app() -> Starlette:
    """examples/frontend as a static site (with the /healthz serve_in_thread waits for)."""
    health = Route("/healthz", lambda _: PlainTextResponse("ok"))
    return Starlette(routes=[health, Mount("/", StaticFiles(directory=FRONTEND, html=True))])


def token(account_id: int, subject: str = "user_2Nq8") -> str:
    claims = {
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 600,
        "substore": {"account_id": account_id, "scope": "read"},
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
async def accounts(engine) -> tuple[int, int]:
    """Account A: 13 subscribers added one after another (Ada Lovelace the first, so the
    last shown), the second opted out; account B: 3 that A must never see."""
    async with engine.begin() as conn:
        a = await services.create_account(conn, "Frontend", "US")
        b = await services.create_account(conn, "Other", "US")
        manifest = json.loads((FRONTEND / "persisted-documents.json").read_text())
        documents = {key.removeprefix("sha256:"): text for key, text in manifest.items()}
        await repository.add_documents(conn, documents)
    names = ["Ada Lovelace", *[f"Person {n:02d}" for n in range(1, 13)]]
    for n, name in enumerate(names):
        first, last = name.split()
        profile = {"first_name": first, "last_name": last}
        if n == 1:
            profile["status"] = "UNSUBSCRIBED"
        async with engine.begin() as conn:  # one transaction each: createdAt tells them apart
            row = services.SubscriberInput(number=f"+1201555{n:04d}", profile=profile)
            await services.save_subscriber(conn, a, row)
    for n in range(3):
        async with engine.begin() as conn:
            row = services.SubscriberInput(f"+1201555{n + 100:04d}", profile={"first_name": "Bea"})
            await services.save_subscriber(conn, b, row)
    return a.id, b.id


@contextlib.contextmanager
def sites(database_url: str) -> Iterator[tuple[str, str, str]]:
    """The page on a listed origin and on an unlisted one, and the API."""
    with serve_in_thread(page_app()) as listed, serve_in_thread(page_app()) as unlisted:
        settings = Settings(
            database_url=database_url,
            normalize_workers=0,
            cors_origins=listed,
            jwt_secret=SECRET,
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
            trusted_documents_only=True,
        )
        with serve_in_thread(create_app(settings)) as api:
            yield listed, unlisted, api


def rows(page) -> list[list[str]]:
    return [
        [cell.inner_text() for cell in row.query_selector_all("td")]
        for row in page.query_selector_all("#rows tr")
    ]


def test_the_frontend_lists_pages_and_searches_with_a_sign_in_token(database_url, accounts):
    from playwright.sync_api import sync_playwright

    a, _ = accounts
    with sites(database_url) as (listed, _, api), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 720})
        page.goto(f"{listed}/index.html?api={api}")
        page.fill("#token", token(a))
        page.click("#signin button")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 10")
        assert page.inner_text("#summary") == "13 subscribers, newest first"
        first = rows(page)
        assert first[0][:2] == ["+12015550012", "Person 12"]  # the newest
        assert page.is_disabled("#previous") and not page.is_disabled("#next")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "frontend-list.png"))

        page.click("#next")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
        last = rows(page)
        assert [r[1] for r in last] == ["Person 02", "Person 01", "Ada Lovelace"]
        assert last[1][2:4] == ["UNSUBSCRIBED", "no (unsubscribed)"]
        assert page.is_disabled("#next") and not page.is_disabled("#previous")
        page.click("#previous")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 10")
        assert rows(page) == first

        page.fill("#search", "ada")
        page.click("#find button")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
        assert rows(page)[0][:2] == ["+12015550000", "Ada Lovelace"]
        assert page.inner_text("#error") == ""
        browser.close()


def test_the_same_page_from_an_unlisted_origin_is_refused(database_url, accounts):
    from playwright.sync_api import sync_playwright

    a, _ = accounts
    with sites(database_url) as (_, unlisted, api), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(f"{unlisted}/index.html?api={api}")
        page.fill("#token", token(a))
        page.click("#signin button")
        page.wait_for_function("document.querySelector('#error').textContent !== ''")
        assert page.inner_text("#error").startswith(f"Could not reach {api}")
        assert rows(page) == []
        browser.close()
