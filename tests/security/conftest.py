"""Security tests: one default stack shared by the HTTP and browser modules (test_secrets starts its own,
with keys and a token)."""

from __future__ import annotations

from tests.fixtures import stack_fixtures

fake_ollama, stack = stack_fixtures("package")

