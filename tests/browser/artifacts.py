"""Screenshots the browser tests keep to be looked at (gitignored): tests/browser/artifacts/NAME.png."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

ARTIFACTS = Path(__file__).parent / "artifacts"
SETTLE_MS = 10_000


def shot(page, name: str, full_page: bool = False) -> Path:
    """The page as a person sees it once it has settled: no reply still streaming or waiting for its final
    render (a bubble shows its speed line a moment before the rendered reply replaces it). A page that
    means to show a reply in flight (a worker down) is taken as it is after SETTLE_MS."""
    try:
        page.wait_for_function("() => !document.querySelector('.msg.streaming, .msg.queued')", timeout=SETTLE_MS)
    except PlaywrightTimeout:
        pass
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
