"""Speed on every reply, through the real four processes: the figures are measured where they are
true (first token and rate by the llm_worker, command time by the crud_worker), stored with the
reply, shown live in its quiet line and again after a reload; what the server didn't count stays
left out, never 0 or "?"."""

from __future__ import annotations

import json
import re

import msgspec

from bus.contract import ReplyStats, Timing, Usage
from tests.fakes import Script
from tests.fakes._http import go_json, rfc3339_now
from tests.util import SseReader, wait_for

COMMAND = '{"action": "insert", "target": "task", "args": {"name": "stats apples"}}'


def stored_stats(stack, reply: str) -> ReplyStats:
    def row():
        with stack.db() as db:
            found = db.execute("SELECT stats FROM messages WHERE id = ?", [reply]).fetchone()
        return found and found[0]
    return msgspec.json.decode(wait_for(row, 15, what=f"the stats of {reply} stored"), type=ReplyStats)


def stats_line(html: str, reply: str) -> str:
    """The text of the reply's quiet line in a page or fragment (tags dropped)."""
    match = re.search(rf'<div[^>]*id="stats-{reply}"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no stats line for {reply}"
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_figures_are_stored_and_shown_live_and_after_a_reload(stack, fake_ollama):
    tokens = ["Adding ", "it. ", COMMAND, " Done ", "and ", "dusted."]
    fake_ollama.enqueue(Script(tokens=tokens, delay=0.03, prompt_tokens=41))
    with SseReader(stack.url, tab="stats") as sse:
        reply = stack.chat("add stats apples")
        live = wait_for(lambda: sse.matching(f'id="stats-{reply}"[^>]*>[^<]*<span'), 15, what="the live stats line")
    stats = stored_stats(stack, reply)
    assert (stats.usage.prompt_tokens, stats.usage.completion_tokens) == (41, len(tokens))
    assert stats.model == "llama3.2:3b"
    assert stats.timing.first_token_ms is not None and stats.timing.first_token_ms > 0
    # five tokens after the first, 30 ms apart: about 33 tok/s; the machine's load only slows it
    assert stats.timing.tokens_per_s is not None and 0 < stats.timing.tokens_per_s < 5 / 0.03 * 1.5
    assert stats.commands == 1 and stats.commands_ms > 0
    shown_live = stats_line(live[-1].data, reply)
    shown_later = stats_line(stack.http.get("/").text, reply)
    assert shown_live == shown_later, "the reloaded page shows what the live one did"
    rate = f"{stats.timing.tokens_per_s:,.1f} tok/s"
    for expected in ("llama3.2:3b", "first token", rate, f"41 in · {len(tokens)} out", "1 command in"):
        assert expected in shown_later, (expected, shown_later)


def no_counts_reply(text: str) -> list[bytes]:
    """An Ollama stream whose final line carries no token counts (as some proxies send it)."""
    line = {"model": "llama3.2:3b", "created_at": rfc3339_now(), "message": {"role": "assistant", "content": text},
            "done": False}
    end = {**line, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
    return [go_json(line) + b"\n", go_json(end) + b"\n"]


def test_usage_the_server_did_not_report_stays_unknown(stack, fake_ollama):
    fake_ollama.enqueue(Script(raw=no_counts_reply("No counts from me.")))
    reply = stack.chat("how many tokens?")
    stats = stored_stats(stack, reply)
    usage, timing = stats.usage or Usage(), stats.timing or Timing()
    assert (usage.prompt_tokens, usage.completion_tokens, timing.tokens_per_s) == (None, None, None)
    with stack.db() as db:
        raw = json.loads(db.execute("SELECT stats FROM messages WHERE id = ?", [reply]).fetchone()[0])
    counts = raw.get("usage", {})
    assert "prompt_tokens" not in counts and "completion_tokens" not in counts, "unknown is absent, not 0"
    shown = stats_line(stack.http.get("/").text, reply)
    assert " in" not in shown and "tok/s" not in shown and "?" not in shown, shown
    assert "0 in" not in shown and "0 out" not in shown
