"""In-flight state is data and the chat's fragments are built from it: a reply's deltas become typed
pieces (prose, a command's chip, reasoning) in web/live/inflight.py, with no HTML; web/chat/stream.py
turns them into the swaps every tab receives, each element carrying its own hx-swap-oob."""

from __future__ import annotations

from bus import contract as c
from web.chat.stream import ChatStream
from web.live.health import Processes
from web.live.inflight import InFlight, ShownChip, ShownText, Thought
from web.render.pool import RenderCache


class NoStore:
    """A reply the database holds nothing of yet."""

    def conversation_of(self, msg_id: str) -> None:
        return None

    def command_results(self, msg_ids: list[str]) -> dict:
        return {}


def test_deltas_become_typed_pieces_and_the_state_holds_no_html():
    state = InFlight(NoStore())
    state.queued(c.ReplyQueued(msg_id="a1", kind="chat", conversation_id="cv1", answer="a1"))
    _, first = state.delta(c.LlmDelta(msg_id="a1", seq=0, text="Sure <b>", thinking="hmm"))
    _, second = state.delta(c.LlmDelta(msg_id="a1", seq=1, text='{"action": "list"} done', thinking=" more"))
    assert first == [Thought("hmm", first=True), ShownText("Sure <b>")]
    assert second[0] == Thought(" more", first=False)
    assert ShownChip("a1:0") in second and ShownText(" done") in second
    view = state.replies["a1"]
    assert view.thinking == "hmm more" and view.status == "streaming"
    assert view.pieces == [ShownText("Sure <b>"), ShownChip("a1:0"), ShownText(" done")], "as given: escaped when built"


def test_the_chat_builds_each_piece_as_its_own_swap():
    state = InFlight(NoStore())
    stream = ChatStream(state, Processes(""), RenderCache())
    state.queued(c.ReplyQueued(msg_id="a1", kind="chat", conversation_id="cv1", answer="a1"))
    html = stream.pieces(*state.delta(c.LlmDelta(msg_id="a1", seq=0, text='Sure <b> {"action": "list"}',
                                                 thinking="hmm")))
    assert html.startswith('<details hx-swap-oob="true" id="thinkbox-a1" class="thinking">'), html
    assert '<div id="think-a1" class="thinking-text">hmm</div>' in html
    assert '<span hx-swap-oob="beforeend:#body-a1">Sure &lt;b&gt; </span>' in html, "prose escaped, appended"
    assert '<div hx-swap-oob="beforeend:#body-a1"><span id="chip-a1-0" class="chip pending">' in html
    more = stream.pieces(*state.delta(c.LlmDelta(msg_id="a1", seq=1, thinking=" more")))
    assert more == '<span hx-swap-oob="beforeend:#think-a1"> more</span>', "later reasoning is appended"


def test_a_stream_after_its_end_adds_nothing():
    state = InFlight(NoStore())
    state.queued(c.ReplyQueued(msg_id="a1", kind="chat", conversation_id="cv1", answer="a1"))
    assert state.end(c.LlmDone(msg_id="a1", seq=1, text="hi", status="done")) is not None
    assert state.delta(c.LlmDelta(msg_id="a1", seq=2, text="late")) is None
