"""The structured-output decoder: a constrained `{"say", "commands"}` reply back to ordinary text, the same
whatever the chunking, with each command handed on the moment it closes."""

from __future__ import annotations

import codecs
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bus import settings
from commands.splitter import Block, split_all
from commands.parse import parse_block
from commands.schema import reply_schema
from commands.spec import SPEC, Insert, Toggle
from llm_worker.backends.structured import COMMAND_BREAK, ReplyDecoder
from llm_worker.selector import Selector
from llm_worker.settings import LlmSettings

INSERT = {"action": "insert", "target": "task", "args": {"name": "Buy {apples} \"now\""}}
TOGGLE = {"action": "toggle", "target": "task", "args": {"id": 3}}
SAY = 'Done — added "it" \\ and ticked 😀 ✓\nnext line\ttab / slash'


def reply(say: str = SAY, commands=(INSERT, TOGGLE), **dumps) -> str:
    return json.dumps({"say": say, "commands": list(commands)}, **dumps)


def decode(chunks) -> str:
    d = ReplyDecoder()
    return "".join(d.feed(c) for c in chunks) + d.end()


def expected(say: str = SAY, commands=(INSERT, TOGGLE), **dumps) -> str:
    return say + "".join(COMMAND_BREAK + json.dumps(c, **dumps) + "\n" for c in commands)


@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped", "raw-utf8"])
def test_every_split_point_gives_the_same_text(ascii_only):
    text = reply(ensure_ascii=ascii_only)  # escaped: \uXXXX and the surrogate pair of 😀 cut everywhere
    want = expected(ensure_ascii=ascii_only)
    assert decode([text]) == want
    for cut in range(len(text) + 1):
        assert decode([text[:cut], text[cut:]]) == want, cut
    assert decode(list(text)) == want


def test_split_at_every_byte_of_the_utf8():
    """As an HTTP body arrives: bytes cut anywhere, decoded incrementally, then fed."""
    raw = reply(ensure_ascii=False).encode()
    for cut in range(len(raw) + 1):
        utf8 = codecs.getincrementaldecoder("utf-8")()
        assert decode([utf8.decode(raw[:cut]), utf8.decode(raw[cut:], final=True)]) == expected(ensure_ascii=False)


def test_say_streams_as_it_is_generated():
    d = ReplyDecoder()
    assert d.feed('{"say": "Hel') == "Hel"
    assert d.feed('lo\\') == "lo"           # the escape waits for its letter
    assert d.feed('n wor') == "\n wor"
    assert d.feed('ld\\u00') == "ld"         # and a \u escape for its four digits
    assert d.feed('e9", "comm') == "é"


def test_each_command_is_handed_on_the_moment_it_closes():
    d = ReplyDecoder()
    text = reply(say="ok")
    first_end = text.index("}}") + 2
    assert d.feed(text[:first_end - 1]) == "ok"   # one brace short: nothing yet
    out = d.feed(text[first_end - 1:first_end])
    assert out == COMMAND_BREAK + json.dumps(INSERT) + "\n"
    assert d.feed(text[first_end:]) == COMMAND_BREAK + json.dumps(TOGGLE) + "\n"
    assert d.end() == ""


def test_the_splitter_finds_the_commands_it_hands_on():
    pieces = split_all(decode([reply()]))
    assert [parse_block(p.raw) for p in pieces if isinstance(p, Block) and p.closed] == \
        [[Insert('Buy {apples} "now"')], [Toggle(3)]]
    assert SAY in "".join(p.text for p in pieces if not isinstance(p, Block))


def test_a_command_cut_off_is_handed_on_raw_so_it_is_refused():
    text = reply(say="ok")
    cut = text[: text.index('"now')]
    out = decode([cut])
    assert out.startswith("ok" + COMMAND_BREAK + '{"action": "insert"')
    assert [p.closed for p in split_all(out) if isinstance(p, Block)] == [False]  # refused, never run


def test_no_commands_and_compact_json():
    assert decode(['{"say":"hi there","commands":[]}']) == "hi there"
    assert decode(['  {\n "say" : "a" ,\n "commands" : [ ]\n}\n']) == "a"


def test_braces_and_quotes_inside_a_command_string_do_not_close_it():
    odd = {"action": "insert", "target": "task", "args": {"name": "a}]\\\"{["}}
    assert decode(list(reply(say="", commands=[odd]))) == COMMAND_BREAK + json.dumps(odd) + "\n"


def test_a_lone_surrogate_is_a_replacement_character():
    assert decode(['{"say": "a\\ud83d b\\udc00", "commands": []}']) == "a\ufffd b\ufffd"


def test_text_that_is_not_the_reply_object_passes_through():
    """A server that ignored the schema: whatever the model wrote reaches the splitter unchanged."""
    for text in ['Sure! {"action": "insert"}', '{"action": "insert", "args": {"name": "x"}}', "", "   plain"]:
        for cut in range(len(text) + 1):
            assert decode([text[:cut], text[cut:]]) == text, (text, cut)


def test_the_schema_is_the_command_language():
    """Every command the schema allows is one the command language runs (one SPEC, no second copy)."""
    variants = reply_schema()["properties"]["commands"]["items"]["anyOf"]
    actions = [v["properties"]["action"]["const"] for v in variants]
    assert actions == list(SPEC)
    for v in variants:
        assert list(v["properties"])[0] == "action"  # first key: the splitter's opener


@given(st.text(), st.lists(st.text(min_size=1), max_size=3), st.data())
def test_any_say_and_names_survive_any_chunking(say, names, data):
    commands = [{"action": "insert", "target": "task", "args": {"name": n}} for n in names]
    text = reply(say=say, commands=commands, ensure_ascii=data.draw(st.booleans()))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    got = decode(chunks)
    assert got.startswith(say)
    assert got == say + "".join(COMMAND_BREAK + json.dumps(c, ensure_ascii=False) + "\n" for c in commands) or \
        got == say + "".join(COMMAND_BREAK + json.dumps(c) + "\n" for c in commands)


def test_a_reply_cut_between_its_parts_shows_no_stray_syntax():
    for cut in ('{"say": "hi", "comm', '{"say": "hi", ', '{"say": "hi"}', '{"say": "hi", "commands": ['):
        assert decode([cut]) == "hi", cut


@pytest.mark.parametrize(("env", "on"), [
    ({"LLM_BACKEND": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, False),  # the default is off
    ({"LLM_BACKEND": "openai", "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "LLM_STRUCTURED": "auto"}, True),
    ({"LLM_BACKEND": "openai", "OPENAI_BASE_URL": "https://api.example.org/v1", "LLM_STRUCTURED": "auto"}, False),
    ({"LLM_BACKEND": "openai", "OPENAI_BASE_URL": "https://api.example.org/v1", "LLM_STRUCTURED": "on"}, True),
    ({"LLM_BACKEND": "ollama", "LLM_STRUCTURED": "on"}, True),
    ({"LLM_BACKEND": "ollama", "LLM_STRUCTURED": "auto"}, False),
    ({"LLM_BACKEND": "anthropic", "LLM_STRUCTURED": "on"}, False),  # Anthropic's API has no such mode
    ({"LLM_BACKEND": "demo", "LLM_STRUCTURED": "on"}, False),
])
def test_when_structured_output_is_used(env, on):
    assert Selector(settings.load(LlmSettings, environ=env)).structured() is on


def test_ollama_gets_the_schema_as_its_format_and_openai_as_json_schema():
    from llm_worker.backends.base import ChatRequest, Message
    from llm_worker.backends.ollama import OllamaBackend
    from llm_worker.backends.openai import OpenAIBackend
    req = ChatRequest(model="m", messages=[Message("user", "hi")], schema=reply_schema())
    assert OllamaBackend("http://127.0.0.1:11434").body(req, "m")["format"] == reply_schema()
    assert OpenAIBackend("https://api.example.org/v1").body(req, "m")["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "ghostwire_reply", "schema": reply_schema()}}


def test_commands_first_orders_the_grammar_and_decodes_to_the_same_commands():
    from llm_worker.backends.structured import ReplyDecoder as Decoder

    schema = reply_schema(commands_first=True)
    assert list(schema["properties"]) == schema["required"] == ["commands", "say"]
    assert list(reply_schema()["properties"]) == ["say", "commands"]
    text = '{"commands": [{"action": "insert", "target": "task", "args": {"name": "a"}}], "say": "Added."}'
    d = Decoder()
    out = "".join(d.feed(ch) for ch in text)
    assert [type(c) for b in out.split("\n") if b.startswith("{") for c in parse_block(b)] == [Insert]
    assert out.endswith("Added.")
