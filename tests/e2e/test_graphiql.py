"""GraphiQL in a real browser (Debian's chromium, driven by playwright), offline: the page
loads from substore alone, sends nothing before a key is given, and then runs a query."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# SUBSTORE_SCREENSHOTS=docs refreshes the README's pictures.
SCREENSHOTS = Path(os.environ.get("SUBSTORE_SCREENSHOTS") or tempfile.mkdtemp())
# As this machine's notes say: no background networking, no first-run, a fresh profile.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)"
)


def test_graphiql_works_offline_and_waits_for_a_key(base, key):
    from playwright.sync_api import sync_playwright

    sent, outside = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})

        def only_local(route):  # offline: anything not from substore itself fails
            if route.request.url.startswith(base):
                if route.request.method == "POST":
                    sent.append(route.request.post_data)
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        page.route("**/*", only_local)
        page.goto(f"{base}/graphql")
        page.wait_for_selector(".graphiql-container")
        assert "Every operation needs an API key" in page.inner_text("#key-hint")
        page.wait_for_timeout(500)
        assert sent == []  # no unauthenticated introspection
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "graphiql-first-open.png"))

        headers = page.locator(".graphiql-editor-tool .CodeMirror").last
        headers.click()
        page.keyboard.type(f'{{"Authorization": "Bearer {key}"}}')
        page.wait_for_function("document.querySelector('#key-hint').textContent.includes('set')")
        page.wait_for_function("() => true")
        query = page.locator(".graphiql-query-editor .CodeMirror").first
        query.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("{ account { name defaultRegion } ")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            "document.querySelector('.result-window') && "
            "document.querySelector('.result-window').textContent.includes('Browser')"
        )
        result = page.inner_text(".result-window")
        page.screenshot(path=str(SCREENSHOTS / "graphiql-query.png"))
        page.wait_for_timeout(700)  # GraphiQL stores its tabs 500 ms after an edit
        page.reload()  # the key persists across reloads, in the same tab
        page.wait_for_selector(".graphiql-container")
        page.wait_for_function("document.querySelector('#key-hint').textContent.includes('set')")
        tabs = page.locator(".graphiql-tab").count()
        before = len(sent)
        page.locator(".graphiql-query-editor .CodeMirror").first.click()
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            "document.querySelector('.result-window').textContent.includes('Browser')"
        )
        after_reload = page.inner_text(".result-window")
        # Headers without a key: the banner says so, and nothing is sent.
        headers = page.locator(".graphiql-editor-tool .CodeMirror").last
        page.locator(".graphiql-editor-tools button", has_text="Headers").click()
        headers.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("{}")
        page.wait_for_function(
            "document.querySelector('#key-hint').textContent.includes('needs an API key')"
        )
        browser.close()
    assert tabs <= 1  # no second tab without headers
    assert any("account" in (body or "") for body in sent[before:])  # run after the reload
    assert '"name": "Browser"' in after_reload and "No API key" not in after_reload
    assert '"name": "Browser"' in result and '"defaultRegion": "US"' in result
    assert outside == []
    assert any("__schema" in (body or "") for body in sent)  # introspection, with the key
