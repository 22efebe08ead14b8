"""`!pull local:0.5b` as a long job through the real four processes: the card shows the download from the
hub (a fake one serving the official bytes, slowly), Cancel stops it with what arrived kept, and the next
pull resumes from there (a range) and ends done, the file checked and in the cache. On the demo backend,
so the end says how to use it and no engine starts."""

from __future__ import annotations

import html
import re

import pytest

from models.catalogue import MODELS, model_path
from tests.fakes.hub import FakeHub
from tests.stack import Stack
from tests.util import SseReader, wait_for

MODEL = MODELS["0.5b"]
SOURCE = model_path(MODEL)  # the real cache's copy is what the fake hub serves
RATE = 30e6  # bytes/s: slow enough to cancel mid-way


def card(sse: SseReader, state: str) -> str | None:
    found = sse.matching(rf'class="msg card job {state}"')
    return html.unescape(found[-1].data) if found else None


@pytest.mark.skipif(not SOURCE.is_file(), reason=f"no {SOURCE} for the fake hub to serve (`make test` fetches it)")
@pytest.mark.timeout(300)
def test_a_cancelled_pull_resumes_and_ends_done(tmp_path):
    partial = tmp_path / "models" / ".fetching" / MODEL.file / (MODEL.file + ".download")
    with FakeHub(MODEL.repo, MODEL.file, SOURCE, rate=RATE) as hub:
        stack = Stack(LLM_BACKEND="demo", GHOSTWIRE_CACHE_DIR=str(tmp_path), GHOSTWIRE_MODEL_HUB=hub.url)
        try:
            stack.start()
            with SseReader(stack.url, tab="pull") as sse:
                assert stack.http.post("/pull", data={"name": "local:0.5b"}).status_code == 200
                running = wait_for(lambda: partial.exists() and partial.stat().st_size > 20e6 and card(sse, "running"),
                                   60, what="the download under way")
                assert "Fetching Qwen2.5-Coder 0.5B (0.5 GB)" in running
                assert "downloading from Hugging Face" in running
                job = re.search(r'id="job-([^"]+)"', running).group(1)
                assert stack.http.post(f"/stop/{job}").status_code == 204
                wait_for(lambda: card(sse, "cancelled"), 20, what="the card to say cancelled")
                kept = partial.stat().st_size
                assert not (tmp_path / "models" / MODEL.file).exists()
                hub.rate = 0
                assert stack.http.post("/chat", data={"msg": "!pull local:0.5b"}).status_code == 200
                done = wait_for(lambda: card(sse, "done"), 120, what="the second pull to end")
            assert "✓" in done
            assert (tmp_path / "models" / MODEL.file).stat().st_size == MODEL.size
            ranges = [r for p, r in hub.requests if p.startswith("/cdn/")]
            assert ranges == ["", f"bytes={kept}-"], f"resumed where the cancelled one stopped ({kept:,} bytes)"
            assert "STOPPED" in stack.ctl("status", "engine"), "the demo backend starts no engine"
        finally:
            stack.stop()
