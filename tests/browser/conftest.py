"""What the browser tests share: a phone (390×844 with touch) whose page errors and htmx errors are kept
on `page.errors`, for a test to assert there were none."""

from __future__ import annotations

import pytest

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "htmx:" in m.text and m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()
