"""The quiet line under a reply: what it says for figures known and unknown."""

from __future__ import annotations

import re

from bus.contract import ReplyStats, Timing, Usage
from web.render import speed_line
from web.fragment import to_html


def text(stats: ReplyStats | None) -> str:
    return re.sub(r"<[^>]+>", "", to_html(speed_line.line("a1", stats)))


def test_known_figures_read_as_a_line():
    line = text(ReplyStats(msg_id="a1", model="llama3.2:3b", timing=Timing(first_token_ms=212.4, tokens_per_s=38.25),
                           usage=Usage(prompt_tokens=1234, completion_tokens=56), commands=2, commands_ms=3.42))
    assert line == "llama3.2:3bfirst token 212 ms38.2 tok/s1,234 in · 56 out2 commands in 3.4 ms"


def test_unknown_figures_are_left_out_never_zero_nor_a_question_mark():
    line = text(ReplyStats(msg_id="a1", model="m"))
    assert line == "m", "a stopped reply's line once read '? tok/s ? in · ? out'"
    assert text(ReplyStats(msg_id="a1", model="m", usage=Usage(completion_tokens=3))) == "m3 out"
    assert "first token" not in line and "command" not in line, "nothing said of what didn't happen"


def test_a_model_named_by_its_path_shows_its_file_name():
    html = to_html(speed_line.line("a1", ReplyStats(msg_id="a1", model="/models/SmolLM2-135M.Q4_1.gguf")))
    assert ">SmolLM2-135M.Q4_1.gguf<" in html and 'title="/models/SmolLM2-135M.Q4_1.gguf"' in html


def test_before_the_figures_come_the_line_is_an_empty_place_to_swap():
    assert to_html(speed_line.line("a1", None)) == '<div id="stats-a1" class="reply-meta"></div>'


def test_seconds_past_one_and_a_slow_first_token():
    assert "first token 2.50 s" in text(ReplyStats(msg_id="a1", timing=Timing(first_token_ms=2500)))


def test_a_model_name_with_a_slash_that_is_no_path_shows_whole():
    """Ollama names models from a registry "hf.co/org/model:q4": the rule (bus.contract.shown_model,
    the same the llm_worker lists models by) keeps them whole."""
    html = to_html(speed_line.line("a1", ReplyStats(msg_id="a1", model="hf.co/org/model:q4")))
    assert ">hf.co/org/model:q4<" in html


def test_a_server_that_says_its_cache_shows_what_it_read_and_what_it_had():
    line = text(ReplyStats(msg_id="a1", usage=Usage(prompt_tokens=1520, cached_tokens=1497, completion_tokens=40)))
    assert "1,520 in (23 read, 1,497 cached) · 40 out" in line
    assert "cached" not in text(ReplyStats(msg_id="a1", usage=Usage(prompt_tokens=1520))), "unsaid: nothing claimed"
