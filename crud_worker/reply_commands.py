"""Running a reply's commands: each JSON block as it closes (or, after a gap, at the end) and each
native tool call, through `executor.execute`, publishing what changed and the result for its chip,
and keeping the feedback the model is given back in its follow-up. A reply nobody asked for, or one to
a question that asks for no change (questions.py), only suggests."""

from __future__ import annotations

import logging
import sqlite3
import time

from sqlite_utils import Database

from bus import contract as c
from bus.client import Bus
from commands.ids import commands_of, tool_call_id
from commands.parse import from_tool_call
from commands.spec import Refusal
from commands.splitter import Block
from crud_worker import questions, tasks, unsaved
from crud_worker.executor import execute
from crud_worker.reply import Reply, unasked
from crud_worker.settings import CrudSettings

log = logging.getLogger(__name__)


class ReplyCommands:
    def __init__(self, db: Database, bus: Bus, settings: CrudSettings):
        self.db, self.bus, self.settings = db, bus, settings

    async def run_block(self, reply: Reply, block: Block, ended_well: bool = True) -> None:
        for found in commands_of(reply.msg_id, block):
            command = found.command
            if not block.closed and not ended_well:
                command = Refusal(reason="the reply was stopped before this command was complete")
            await self.run(reply, found.command_id, reply.commands, block.raw, command)
            reply.commands += 1

    async def run_tool_call(self, reply: Reply, call: c.ToolCallMsg, n: int) -> None:
        raw = f"{call.name}({call.arguments})"
        await self.run(reply, tool_call_id(reply.msg_id, n), reply.commands + n, raw,
                       from_tool_call(call.name, call.arguments))

    def suggests_only(self, reply: Reply) -> bool:
        """Nobody asked for this reply, or its turn's message is a question that asks for no change (read
        once a reply: a reply may hold thousands of commands)."""
        if reply.suggests is None:
            row = self.db.execute("SELECT content FROM messages WHERE id = ? AND role = 'user' AND kind = 'chat'",
                                  [reply.ask]).fetchone() if reply.ask and not unasked(reply.msg_id) else None
            reply.suggests = unasked(reply.msg_id) or (row is not None and questions.asks_no_change(row[0]))
        return reply.suggests

    async def run(self, reply: Reply, command_id: str, ordinal: int, raw: str, command) -> None:
        began = time.perf_counter()
        try:
            outcome = execute(self.db, msg_id=reply.msg_id, command_id=command_id, ordinal=ordinal, raw=raw,
                              command=command, ask_timeout=self.settings.ask_timeout, suggest=self.suggests_only(reply))
        except sqlite3.Error as err:
            if (why := unsaved.reason(err)) is None:
                raise
            log.error("command %s not run: %s", command_id, err)
            await self.bus.publish(c.CommandResult(msg_id=reply.msg_id, command_id=command_id, ok=False,
                                                   summary=f"Not done: {why}"))
            return
        finally:
            reply.commands_ms += (time.perf_counter() - began) * 1000
        if outcome.feedback:
            reply.feedback.append(outcome.feedback)
        for change in tasks.group(outcome.changes):  # an Each's or an undo's many: one message
            await self.bus.publish(change)
        for flipped in outcome.flipped:
            await self.bus.publish(flipped)
        await self.bus.publish(outcome.result)
