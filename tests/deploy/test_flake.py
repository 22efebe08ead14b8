"""flake.nix, checked without Nix: structure by a tokenizer (see parsing.py), content by what it must mention."""

from __future__ import annotations

import re

import pytest

from tests.deploy.parsing import ROOT, nix_structure_errors

SYSTEMS = {"x86_64-linux", "aarch64-linux", "aarch64-darwin", "x86_64-darwin"}


@pytest.fixture(scope="module")
def flake():
    return (ROOT / "flake.nix").read_text()


def code_only(src: str) -> str:
    """The text with comments removed, so a mention in a comment does not count."""
    return re.sub(r"(?m)#.*$", "", re.sub(r"/\*.*?\*/", "", src, flags=re.S))


def test_flake_is_well_formed(flake):
    assert nix_structure_errors(flake) == []
    body = code_only(flake).strip()
    assert body.startswith("{") and body.endswith("}"), "a flake is one attribute set"


def test_dev_shell_for_every_system(flake):
    code = code_only(flake)
    listed = re.search(r"systems\s*=\s*\[([^\]]*)\]", code)
    assert listed, "no `systems = [ ... ]` list"
    assert set(re.findall(r'"([^"]+)"', listed.group(1))) >= SYSTEMS
    helper = re.search(r"(\w+)\s*=\s*f:\s*nixpkgs\.lib\.genAttrs\s+systems\b", code)
    assert helper, "devShells must be generated over the systems list"
    assert re.search(rf"devShells\s*=\s*{helper.group(1)}\b", code)
    assert re.search(r"\bdefault\s*=\s*pkgs\.mkShell\b", code), "`nix develop` uses devShells.<system>.default"


def test_shell_has_what_make_run_needs(flake):
    code = code_only(flake)
    for pkg in ("python311", "uv", "nodejs", "sqlite", "gnumake"):
        assert re.search(rf"\bpkgs\.{pkg}(_\d+)?\b", code), f"the shell lacks {pkg}"
    assert re.search(r'UV_PYTHON_DOWNLOADS\s*=\s*"never"', code)
    assert re.search(r'UV_PYTHON\s*=\s*"\$\{python\}/bin/python3"', code) and "python = pkgs.python311" in code
    assert re.search(r"LD_LIBRARY_PATH\s*=.*isLinux", code) and "stdenv.cc.cc.lib" in code


@pytest.mark.parametrize("src, problem", [
    ("{ a = [ 1 2 ; }", "closes"),
    ("{ a = 1; ", "never closed"),
    ('{ a = "x; }', "never closed"),
    ("{ a = ''x; }", "never closed"),
    ('{ a = "${b"; }', "never closed"),
    ("{ a = 1; /* b }", "unterminated"),
    ("{ a = 1; }}", "closes nothing"),
])
def test_structure_check_catches(src, problem):
    errors = nix_structure_errors(src)
    assert errors and problem in errors[0], errors


@pytest.mark.parametrize("src", [
    '{ a = "}{ \\" ]"; }',                         # brackets and an escaped quote inside a string
    "{ a = ''}} ''${x} ''' ''; }",                 # indented string with its escapes
    '{ a = "${ { b = 1; }.b }"; c = x.${y}; }',    # interpolation holding an attribute set
    "{ a = 1; # } [\n b = 2; /* ( */ }",           # brackets in comments
    "{ f = x': x'; }",                             # a quote in an identifier is not a string
])
def test_structure_check_accepts(src):
    assert nix_structure_errors(src) == []
