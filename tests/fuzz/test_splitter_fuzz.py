"""Fuzzing the command splitter with whole replies the way models write them: every command is
found exactly once, however the reply is chunked, and its JSON never shows in the final render."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings, strategies as st

from commands.parse import parse_block
from commands.spec import Insert
from commands.splitter import Block, CommandSplitter, split_all
from web.render.markdown import render_reply, with_chips

PROSE = st.text(alphabet=st.sampled_from(list("abcdefghij ,.!?:;-'\"\n") + ["é", "🍎", "Ω"]), min_size=0, max_size=30)


def command(name: str) -> str:
    return json.dumps({"action": "insert", "target": "task", "args": {"name": name}})


def hermes(name: str) -> str:
    return "<tool_call>\n" + json.dumps({"name": "insert_task", "arguments": {"name": name}}) + "\n</tool_call>"


STYLES = {
    "bare": lambda n: command(n),
    "bare on its own line": lambda n: f"\n{command(n)}\n",
    "fenced": lambda n: f"\n```json\n{command(n)}\n```\n",
    "fenced, no info string": lambda n: f"\n```\n{command(n)}\n```\n",
    "a JSON array of one": lambda n: f"[{command(n)}]",
    "pythonic": lambda n: f"[insert_task(name={n!r})]",
    "hermes tool call": hermes,
}
INLINE_FENCE = lambda n: f" ```json\n{command(n)}\n```\n"  # noqa: E731 - "Sure! ```json" on the same line as prose
THINK = lambda n: f"<think>Should I? {command(n)} {hermes(n)}</think>"  # noqa: E731 - reasoning is never run


@st.composite
def replies(draw, styles):
    n = draw(st.integers(min_value=1, max_value=6))
    names = [f"task {i} {draw(st.integers(0, 999))}" for i in range(n)]
    parts = [draw(PROSE)]
    for name in names:
        style = draw(st.sampled_from(sorted(styles)))
        if draw(st.booleans()):
            parts.append(THINK("decoy " + name))
        parts += [styles[style](name), draw(PROSE)]
    return names, "".join(parts)


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in zip(points, points[1:])]


def found(pieces) -> list[str]:
    commands = [c for p in pieces if isinstance(p, Block) for c in parse_block(p.raw)]
    assert all(isinstance(c, Insert) for c in commands), commands
    return [c.name for c in commands]


def check(names: list[str], text: str, cuts: list[int]) -> None:
    assert found(split_all(text)) == names, text
    splitter = CommandSplitter()
    streamed = []
    for chunk in chunked(text, cuts):
        streamed += splitter.feed(chunk)
    streamed += splitter.finish()
    assert found(streamed) == names, "the same commands however the reply is chunked"
    html = with_chips(render_reply(text), lambda b: "<span class=chip></span>")
    assert '"action"' not in html and "&quot;action&quot;" not in html, "command JSON never shows"
    assert "insert_task" not in html and "decoy" not in html, "nor tool calls, nor reasoning"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies(STYLES), st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_every_command_is_found_once_however_it_is_chunked(reply, cuts):
    names, text = reply
    check(names, text, cuts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(reply=(["x", "y"], "Sure! ```json\n" + command("x") + "\n```\nAlso: " + command("y") + " bye"), cuts=[])
@example(reply=(["x", "y", "z"], command("x") + " ```json\n" + command("y") + "\n```\n:" + command("z")), cuts=[])
@given(replies({**STYLES, "fenced after prose on the same line": INLINE_FENCE}),
       st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_a_fence_opened_mid_line_does_not_swallow_later_commands(reply, cuts):
    names, text = reply
    check(names, text, cuts)
