"""Command ids: the one rule for naming a command, formed alike by the crud_worker (which runs and
logs each command under its id) and the web (which names each chip by it). See the bus contract."""

from __future__ import annotations

import msgspec

from .pieces import Block
from .parse import INCOMPLETE, parse_block
from .spec import Command, Refusal

_TOOL = "tool"


def command_id(msg_id: str, block: int, k: int = 0) -> str:
    """The k-th command (from 0) of the reply's block-th command block (from 0)."""
    return f"{msg_id}:{block}" if k == 0 else f"{msg_id}:{block}.{k}"


def tool_call_id(msg_id: str, n: int) -> str:
    """The reply's n-th native tool call (from 0)."""
    return f"{msg_id}:{_TOOL}{n}"


def is_tool_call_id(command_id: str) -> bool:
    return command_id.rpartition(":")[2].startswith(_TOOL)


class Found(msgspec.Struct, frozen=True):
    """One command of a block, with its id."""

    command_id: str
    command: Command | Refusal


def commands_of(msg_id: str, block: Block) -> list[Found]:
    """The commands a block holds, each with its id: how both the crud_worker (which runs them) and
    the web (which shows a chip for each) know what a block is. A block that never closed is one
    refusal, never repaired."""
    found = parse_block(block.raw) if block.closed else [Refusal(INCOMPLETE)]
    return [Found(command_id(msg_id, block.index, k), cmd) for k, cmd in enumerate(found)]
