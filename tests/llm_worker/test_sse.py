"""The SSE decoding the backends rely on (httpx-sse, as the core reads it), chunk by chunk over httpx.

Kept from the tests of the decoder httpx-sse replaced: above all a CRLF split across two network
chunks is one line end, not a phantom blank line. Where httpx-sse differs from the WHATWG rules
(a leading BOM, a lone CR held until the next chunk) no model server sends such bytes.
"""

import httpx
import httpx_sse
from hypothesis import given
from hypothesis import strategies as st

from tests.llm_worker.helpers import run


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: tuple[bytes, ...]):
        self.chunks = chunks

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk


def decode(*chunks: bytes) -> list[tuple[str, str]]:
    async def go():
        response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))
        return [(e.event, e.data) async for e in httpx_sse.EventSource(response).aiter_sse() if e.data]

    return run(go())


def data(*chunks: bytes) -> list[str]:
    return [d for _, d in decode(*chunks)]


def test_lf_frames_dispatch_on_blank_line():
    assert decode(b"data: one\n\ndata: two\n\n") == [("message", "one"), ("message", "two")]


def test_cr_only_and_crlf_line_endings():
    assert data(b"data: a\r\rdata: b\r\n\r\n") == ["a", "b"]


def test_crlf_split_across_chunks_is_one_line_end():
    # A CR at the end of one chunk and its LF at the start of the next must not look like a blank line.
    assert data(b"data: first\r", b"\ndata: second\r", b"\n\r", b"\n") == ["first\nsecond"]


def test_comments_are_ignored():
    assert data(b": keep-alive\n\n: ping - 2026-12-01 19:28:53.895379+00:00\r\n\r\ndata: real\n\n") == ["real"]


def test_multiline_data_joined_with_newline():
    assert data(b"data: line 1\ndata:line 2\ndata\n\n") == ["line 1\nline 2\n"]


def test_only_one_leading_space_is_stripped():
    assert data(b"data:  two spaces\n\n") == [" two spaces"]


def test_event_names_reset_after_each_event():
    assert decode(b"event: a\nid: 1\ndata: x\n\ndata: y\n\n") == [("a", "x"), ("message", "y")]


def test_unterminated_event_at_eof_is_dropped():
    assert data(b"data: complete\n\ndata: cut off") == ["complete"]


def test_utf8_split_inside_a_character():
    payload = "data: caf\u00e9 \u2603\n\n".encode()
    cut = payload.index("\u2603".encode()) + 1
    assert data(payload[:cut], payload[cut:]) == ["caf\u00e9 \u2603"]


STREAM = (b"event: a\r\ndata: {\"x\": 1}\r\n\r\n: comment\r\ndata: two\rdata: lines\r\rdata: [DONE]\n\n")


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    assert decode(*chunks) == decode(STREAM)
    assert data(STREAM) == ['{"x": 1}', "two\nlines", "[DONE]"]
