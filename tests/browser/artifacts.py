"""Screenshots the browser tests keep to be looked at (gitignored): tests/browser/artifacts/NAME.png."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).parent / "artifacts"


def shot(page, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
