"""Compressed responses: `/events` negotiates zstd, br or gzip, flushes after every event (so an event
is readable before the next one is sent), and decodes to exactly the events of a plain stream."""

from __future__ import annotations

import re
import threading
import time
import zlib

import brotli
import httpx
import pytest
import zstandard

from tests.fakes import Script
from tests.util import wait_for

ENCODINGS = ("zstd", "br", "gzip")
# The stream's keep-alive comment comes every 15 s: an event that decodes within this is not riding
# on a later write's flush.
FLUSHED_WITHIN_S = 5.0


def decoder(encoding: str):
    if encoding == "gzip":
        return zlib.decompressobj(wbits=31).decompress
    if encoding == "br":
        return brotli.Decompressor().process
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress
    return lambda b: b


class RawStream(threading.Thread):
    """`GET /events` with one Accept-Encoding (or none), decoding the raw bytes as they arrive."""

    def __init__(self, url: str, accept: str | None, after: str = ""):
        super().__init__(daemon=True)
        self.url, self.accept, self.after = url, accept, after
        self.text = ""
        self.encoding: str | None = None
        self.opened = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self._halt.is_set():  # the stack going away after the test is not a failure
                raise

    def _read(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client:
            client.headers.pop("accept-encoding")
            headers = {"Accept-Encoding": self.accept} if self.accept is not None else {}
            with client.stream("GET", f"{self.url}/events?after={self.after}", headers=headers) as r:
                self.encoding = r.headers.get("content-encoding")
                decode = decoder(self.encoding or "")
                self.opened.set()
                for raw in r.iter_raw():
                    self.text += decode(raw).decode()
                    if self._halt.is_set():
                        return

    def __enter__(self) -> RawStream:
        self.start()
        assert self.opened.wait(10), "the event stream did not open"
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()

    def events(self) -> list[tuple[str, str]]:
        """(id, data) of every complete event so far; comments (keep-alives) left out."""
        out = []
        for block in self.text.split("\n\n")[:-1]:
            fields = [ln.partition(":") for ln in block.split("\n") if ln and not ln.startswith(":")]
            ids = [v.strip() for k, _, v in fields if k == "id"]
            data = "\n".join(v[1:] if v.startswith(" ") else v for k, _, v in fields if k == "data")
            if data:
                out.append((ids[0] if ids else "", data))
        return out


def until(stream: RawStream, needle: str) -> list[tuple[str, str]]:
    """The stream's events up to and including the first whose data holds `needle`."""
    events = stream.events()
    end = next(i for i, (_, data) in enumerate(events) if needle in data)
    return events[:end + 1]


def page_event_id(stack) -> str:
    return re.search(r'sse-connect="/events\?after=([^"&]+)', stack.http.get("/").text).group(1)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_each_encoding_is_negotiated_and_decodes_to_the_plain_streams_events(stack, fake_ollama, encoding):
    after = page_event_id(stack)
    fake_ollama.enqueue(Script(tokens=[f"tok{i} " for i in range(40)] + ["ünïcødé ✓ 🎉"], delay=0.01))
    with RawStream(stack.url, encoding, after) as packed, RawStream(stack.url, None, after) as plain:
        reply = stack.chat(f"compressed with {encoding}")
        final = f'id="msg-{reply}" class="msg assistant chat done"'
        for s in (packed, plain):
            wait_for(lambda s=s: any(final in d for _, d in s.events()), 15, what=f"the final bubble ({s.accept})")
    assert packed.encoding == encoding and plain.encoding is None
    assert until(packed, final) == until(plain, final) and len(until(plain, final)) > 10
    assert "ünïcødé ✓ 🎉" in packed.text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_event_is_readable_before_the_next_is_sent(stack, encoding):
    """`!test` sends one alert event and then the stream is quiet: it must decode from what has come,
    within FLUSHED_WITHIN_S (a third of the keep-alive interval), not when a later write pushes it out."""
    with RawStream(stack.url, encoding, page_event_id(stack)) as packed:
        wait_for(lambda: ": connected" in packed.text, FLUSHED_WITHIN_S, what="the opening comment, decoded")
        sent = time.monotonic()
        r = stack.http.post("/chat", data={"msg": "!test"})
        assert r.status_code == 200
        wait_for(lambda: any("alert" in d.lower() for _, d in packed.events()), FLUSHED_WITHIN_S,
                 what=f"the !test event decoded from a {encoding} stream that sent nothing after it")
        assert time.monotonic() - sent < FLUSHED_WITHIN_S


def test_a_client_that_asks_for_no_encoding_gets_plain_text(stack):
    with RawStream(stack.url, None) as plain:
        wait_for(lambda: ": connected" in plain.text, 5, what="the opening comment")
    assert plain.encoding is None


def test_the_page_and_its_assets_are_compressed(stack):
    page = httpx.get(stack.url, headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("content-encoding") == "gzip" and "<html" in page.text
    # Scripts and styles; the 310-byte favicon is under the compressor's minimum size, as it should be.
    assets = [a for a in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text) if a.endswith((".js", ".css"))]
    assert len(assets) >= 3
    for asset in assets:
        r = httpx.get(stack.url + asset, headers={"Accept-Encoding": "br"})
        assert r.status_code == 200 and r.headers.get("content-encoding") == "br", asset
