"""Playwright driving Debian's Chromium (never a downloaded browser): the `browser` and `page`
fixtures every test package shares, through tests/conftest.py."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("GHOSTWIRE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The closed network here refuses Chromium's background connections; these flags keep it quiet.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    """Per module: Playwright's sync API keeps an event loop running in this thread while it lives,
    which would break every later test that calls asyncio.run()."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append(f"unexpected dialog: {d.message}"), d.dismiss()))
    pg.errors = errors
    yield pg
    context.close()
