"""The deployment files carry no secrets, machine paths or registry host names."""

from __future__ import annotations

import re

import pytest

from tests.deploy.parsing import ROOT

FILES = ["Dockerfile", ".dockerignore", "docker-compose.yml", "flake.nix", "docs/deploy.md"]
FORBIDDEN = {
    "a home or workspace path": r"(?<![\w.])/(home|Users|work)/",
    "a registry host": r"\b(docker\.io|ghcr\.io|quay\.io|pypi\.org|files\.pythonhosted\.org|registry\.npmjs\.org)\b",
    "an API key": r"\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,})",
    "a credential assignment": r"(?i)\b\w*(api_key|token|password|secret)\w*[ \t]*[:=][ \t]*['\"]?[A-Za-z0-9/+_-]{16,}",
}


@pytest.mark.parametrize("name", FILES)
def test_no_secrets_paths_or_hosts(name):
    text = (ROOT / name).read_text()
    for what, pattern in FORBIDDEN.items():
        m = re.search(pattern, text)
        assert not m, f"{name} contains {what}: {m.group(0)!r}"
