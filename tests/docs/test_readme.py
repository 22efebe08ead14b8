"""Docs as tests: the README's configuration table is the settings the code declares, and its routes
table is the routes the web serves (both ways), so neither can drift from the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from bus import settings
from crud_worker.settings import CrudSettings
from engine.settings import EngineSettings
from llm_worker.settings import LlmSettings
from web.app import create_app
from web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SETTINGS = (settings.Common, WebSettings, CrudSettings, LlmSettings, EngineSettings)
METHOD_PATH = re.compile(r"\b(GET|POST|PUT|DELETE) (/[\w{}/.-]*)")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]
    return [r for r in rows[2:]]  # past the header and its rule


def documented_variables() -> dict[str, str]:
    """Variable → the default its row shows. A row may name several (`A` / `B`, or `A`, `_B` sharing
    A's prefix); its defaults then read `x` / `y` in the same order, or one default for them all."""
    out = {}
    for first, default, *_ in table_rows(section("Configuration")):
        names = re.findall(r"`([A-Z_][A-Z0-9_]*)`", first)
        full = []
        for name in names:
            if name.startswith("_"):
                full.append(full[0].rsplit("_", 2)[0] + name)  # GHOSTWIRE_BUS_EVENTS_IN + _EVENTS_OUT
            else:
                full.append(name)
        defaults = [d.strip() for d in default.split(" / ")]
        for i, name in enumerate(full):
            out[name] = defaults[i] if len(defaults) == len(full) else default
    return out


def declared() -> dict[str, dataclasses.Field]:
    found = {}
    for cls in SETTINGS:
        for f in settings.fields(cls):
            assert f.metadata["env"] not in found or cls is not settings.Common, f"{f.metadata['env']} declared twice"
            found[f.metadata["env"]] = f
    return found


def shown_default(f: dataclasses.Field) -> str:
    if f.metadata["doc_default"] is not None:
        return f.metadata["doc_default"]
    value = f.default
    if value in ("", None):
        return "—"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def test_every_setting_is_in_the_configuration_table_and_nothing_else_is():
    documented, code = documented_variables(), declared()
    assert sorted(set(code) - set(documented)) == [], "declared in a settings class but not in the README"
    assert sorted(set(documented) - set(code)) == [], "in the README's table but read by no settings class"


@pytest.mark.parametrize("name", sorted(declared()))
def test_the_table_shows_each_default(name):
    shown = re.sub(r" s$", "", documented_variables()[name])  # a unit after the value: `60` s
    expected = shown_default(declared()[name])
    assert expected.strip("`\"") == shown.strip("`\""), f"{name}: README says {shown!r}, the code {expected!r}"


def served_routes() -> set[tuple[str, str]]:
    app = create_app(WebSettings(token="t" * 32))  # with a token, so the login routes are there too
    out = set()
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        path = re.sub(r"\{[^}]+\}", "{}", route.path)
        out |= {(m, path) for m in route.methods or () if m != "HEAD"}
    return out


def documented_routes() -> set[tuple[str, str]]:
    out = set()
    for first, *_ in table_rows(section("Routes")):
        for method, path in METHOD_PATH.findall(first):
            out.add((method, re.sub(r"\{[^}]+\}", "{}", path)))
    return out


def test_the_routes_table_is_every_route_the_web_serves():
    served, documented = served_routes(), documented_routes()
    assert sorted(served - documented) == [], "served but missing from the README's routes table"
    assert sorted(documented - served) == [], "in the README's routes table but not served"


def test_every_route_the_readme_names_anywhere_exists():
    served = served_routes()
    named = {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in METHOD_PATH.findall(README)}
    assert sorted(named - served) == []
