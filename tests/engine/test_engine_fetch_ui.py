"""The demo banner's button, as a person uses it: on a machine with no Ollama and no model, a click on
"Use a real local model" fetches Qwen2.5-Coder-1.5B from the hub (a fake one here, serving the official
file's bytes), the progress card fills in every tab, and the page switches to the local engine by itself,
naming the model file. The hub path end to end; tests/models/ covers the mirror."""

from __future__ import annotations

import re
import socket

import pytest

from models.catalogue import DEFAULT, MODELS, model_path
from tests.engine.conftest import LOAD_TIMEOUT_S, local_stack, serving
from tests.fakes.hub import FakeHub

pytestmark = pytest.mark.browser
MODEL = MODELS[DEFAULT]
FETCH_TIMEOUT_S = 240  # 1.1 GB over loopback and its SHA-256 on a busy 2-core machine
SOURCE = model_path(MODEL)  # the real cache's copy is what the fake hub serves


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.skipif(not SOURCE.is_file(), reason=f"no {SOURCE} for the fake hub to serve (`make model` fetches it)")
@pytest.mark.timeout(FETCH_TIMEOUT_S + LOAD_TIMEOUT_S + 60)
def test_the_banner_button_fetches_the_model_and_the_page_switches_to_it(request, tmp_path, browser):
    with FakeHub(MODEL.repo, MODEL.file, SOURCE) as hub:
        env = {"LLM_BACKEND": "auto", "OLLAMA_HOST": closed_url(), "GHOSTWIRE_CACHE_DIR": str(tmp_path),
               "GHOSTWIRE_MODEL_HUB": hub.url, "LLM_MODEL_PATH": ""}
        for stack in local_stack(request, **env):
            page = browser.new_context().new_page()
            page.goto(stack.url)
            page.wait_for_selector("html[data-sse=open]", state="attached")
            offer = re.compile(r"Use a real local model — Qwen2\.5-Coder 1\.5B, 1\.1 GB")
            button = page.get_by_role("button", name=offer)
            assert button.count() == 1, "the demo banner offers the local model"
            assert "No Ollama answered" in page.inner_text("#status")
            button.click()
            page.wait_for_selector(".card.job >> text=downloading from Hugging Face", timeout=30_000)
            assert page.locator(".card.job progress").count() == 1, "a progress bar while it downloads"
            page.wait_for_selector(".card.job.done", timeout=FETCH_TIMEOUT_S * 1000)
            page.wait_for_selector(f"#status >> text=local · {MODEL.file}", timeout=LOAD_TIMEOUT_S * 1000)
            assert serving(stack)["model"] == MODEL.file
            why = page.get_attribute("#status .backend", "title") or ""
            assert "No Ollama answered" in why and "local engine" in why, f"the page says why: {why!r}"
            assert (tmp_path / "models" / MODEL.file).stat().st_size == MODEL.size, "in the stack's own cache"
            assert [r for p, r in hub.requests if p.startswith("/cdn/")] == [""], "one download, from the start"
