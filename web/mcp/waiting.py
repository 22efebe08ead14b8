"""An agent's message and its reply: the agent waits (send_message with wait) for the reply's end, then for
the results of the commands its text holds, and gets the prose and those results back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import mcp.types as types

from bus import contract as c
from commands.ids import commands_of, tool_call_id
from commands.pieces import Block, Prose
from commands.splitter import split_all
from web.mcp import tools

WAIT_S = 120.0  # send_message(wait=true): the longest it waits for the reply to end
RESULTS_WAIT_S = 5.0  # after the reply ended, for the results of the commands in it


class ToolRefused(Exception):
    """A tool call that did nothing: str() is the reason, for the agent to read."""


@dataclass
class Waiter:
    """A reply an agent waits for: its end, then the results of the commands its text holds."""

    ended: asyncio.Future
    results: dict[str, c.CommandResult] = field(default_factory=dict)
    expected: set[str] = field(default_factory=set)
    all_in: asyncio.Event = field(default_factory=asyncio.Event)

    def check(self) -> None:
        if self.ended.done() and self.expected <= self.results.keys():
            self.all_in.set()


def expected_commands(end: c.LlmDone) -> set[str]:
    """The ids of the commands a reply held (the one rule of commands/ids.py): their results are awaited."""
    ids = {f.command_id for p in split_all(end.text) if isinstance(p, Block) for f in commands_of(end.msg_id, p)}
    return ids | {tool_call_id(end.msg_id, n) for n in range(len(end.tool_calls))}


async def reply_of(reply_id: str, user_id: str, waiter: Waiter) -> tuple:
    try:
        end = await asyncio.wait_for(asyncio.shield(waiter.ended), WAIT_S)
    except TimeoutError:
        raise ToolRefused(f"The reply {reply_id} did not end within {WAIT_S:.0f} s; it may still be going "
                          f"(read {tools.CHAT_URI}).") from None
    if isinstance(end, c.LlmError):
        raise ToolRefused(f"The reply failed: {end.error}")
    try:
        await asyncio.wait_for(waiter.all_in.wait(), RESULTS_WAIT_S)
    except TimeoutError:
        pass  # a command still waiting to be run: its result is missing below, the reply is still whole
    prose = "".join(p.text for p in split_all(end.text) if isinstance(p, Prose)).strip()
    results = [{"command_id": r.command_id, "ok": r.ok, "summary": r.summary, "state": r.state}
               for r in waiter.results.values()]
    lines = [f"{'✓' if r['ok'] else '✗'} {r['summary']}" for r in results]
    status = "" if end.status == "done" else f"\n[reply {end.status}]"
    text = prose + status + ("\n\nCommands:\n" + "\n".join(lines) if lines else "")
    return ([types.TextContent(type="text", text=text or "(an empty reply)")],
            {"message_id": user_id, "reply_id": reply_id, "status": end.status, "text": prose,
             "results": results})
