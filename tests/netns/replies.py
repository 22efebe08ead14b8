"""Scripted replies for the network tests, and reading what each tab was shown of one."""

from __future__ import annotations

import html
import json
import re

from tests.fakes import Script


def command(name: str) -> str:
    return json.dumps({"action": "insert", "target": "task", "args": {"name": name}})


def long_reply(tag: str, words: int, delay: float, commands: int = 3) -> tuple[Script, list[str]]:
    """`words` words `delay` s apart with `commands` insert commands spread through them (first, middle,
    last); returns the script and the task names it adds."""
    names = [f"{tag}-{n}" for n in range(commands)]
    tokens = [f" w{i}" for i in range(words)]
    for n, name in enumerate(names):
        at = n * (words - 1) // max(commands - 1, 1)
        tokens.insert(at + n, f"\n{command(name)}\n")
    return Script(tokens=tokens, delay=delay), names


def streamed_text(events, reply_id: str) -> str:
    """What a tab appended to the reply's bubble, live, in the order it arrived."""
    rx = re.compile(rf'<span hx-swap-oob="beforeend:#body-{re.escape(reply_id)}">(.*?)</span>', re.S)
    return "".join(html.unescape(m) for e in events for m in rx.findall(e.data))


def ends(events, reply_id: str) -> list[str]:
    """Every end ("done" / "failed" / "cancelled") a tab was shown for the reply, in order."""
    rx = re.compile(rf'<article[^>]* id="msg-{re.escape(reply_id)}" class="msg assistant \w+ (done|failed|cancelled)"')
    return [m.group(1) for e in events for m in rx.finditer(e.data)]


def ended(events, reply_id: str) -> str:
    """The first end a tab was shown for the reply, or "" while it has none."""
    shown = ends(events, reply_id)
    return shown[0] if shown else ""
