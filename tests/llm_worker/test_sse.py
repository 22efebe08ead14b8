from hypothesis import given
from hypothesis import strategies as st

from llm_worker.backends.sse import SSEDecoder, SSEEvent, SSEStream
from tests.llm_worker.helpers import run


def decode(*chunks: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_lf_frames_dispatch_on_blank_line():
    events = decode(b"data: one\n\ndata: two\n\n")
    assert [e.data for e in events] == ["one", "two"]
    assert all(e.event == "message" for e in events)


def test_cr_only_and_crlf_line_endings():
    assert [e.data for e in decode(b"data: a\r\rdata: b\r\n\r\n")] == ["a", "b"]


def test_crlf_split_across_chunks_is_one_line_end():
    # A CR at the end of one chunk and its LF at the start of the next must not look like a blank line.
    events = decode(b"data: first\r", b"\ndata: second\r", b"\n\r", b"\n")
    assert [e.data for e in events] == ["first\nsecond"]


def test_cr_at_chunk_end_dispatches_without_waiting_for_more():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r\r") == [SSEEvent(data="x")]


def test_comments_are_ignored():
    events = decode(b": keep-alive\n\n: OPENROUTER PROCESSING\ndata: real\n\n")
    assert [e.data for e in events] == ["real"]


def test_multiline_data_joined_with_newline():
    assert decode(b"data: line 1\ndata:line 2\ndata\n\n")[0].data == "line 1\nline 2\n"


def test_only_one_leading_space_is_stripped():
    assert decode(b"data:  two spaces\n\n")[0].data == " two spaces"


def test_event_name_id_and_retry():
    [event] = decode(b"event: message_start\nid: 7\nretry: 3000\nretry: soon\ndata: {}\n\n")
    assert (event.event, event.id, event.retry, event.data) == ("message_start", "7", 3000, "{}")


def test_id_persists_and_event_name_resets():
    first, second = decode(b"event: a\nid: 1\ndata: x\n\ndata: y\n\n")
    assert (first.event, second.event) == ("a", "message")
    assert second.id == "1"


def test_event_without_data_is_not_dispatched():
    assert decode(b"event: ping\n\ndata: after\n\n") == [SSEEvent(data="after")]


def test_unterminated_event_at_eof_is_dropped():
    assert decode(b"data: complete\n\ndata: cut off") == [SSEEvent(data="complete")]


def test_bom_and_utf8_split_inside_a_character():
    payload = "data: caf\u00e9 \u2603\n\n".encode()
    cut = payload.index("\u2603".encode()) + 1
    events = decode(b"\xef\xbb\xbf" + payload[:cut], payload[cut:])
    assert events == [SSEEvent(data="caf\u00e9 \u2603")]


STREAM = (b"event: a\r\ndata: {\"x\": 1}\r\n\r\n: comment\r\ndata: two\rdata: lines\r\rdata: [DONE]\n\n")


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    assert decode(*chunks) == decode(STREAM)
    assert [e.data for e in decode(STREAM)] == ['{"x": 1}', "two\nlines", "[DONE]"]


def test_stream_wrapper_yields_events_from_byte_chunks():
    async def chunks():
        for piece in (b"data: a", b"\n\nda", b"ta: b\n", b"\n"):
            yield piece

    async def go():
        return [e.data async for e in SSEStream(chunks())]

    assert run(go()) == ["a", "b"]
