"""The MCP tools and resources Ghostwire offers, as data: the list's tools are the native tool
definitions the model gets (commands/schema.py `tool_definitions`), name for name and schema for
schema; `send_message` and `undo` are the agent's own."""

from __future__ import annotations

import mcp.types as types

from bus.contract import MAX_MESSAGE
from commands.schema import tool_definitions
from commands.spec import TOOL_NAMES

TASKS_URI = "tasks://list"
CHAT_URI = "chat://recent"
SEND_MESSAGE = "send_message"
UNDO = "undo"


def command_tools() -> list[types.Tool]:
    """Every native tool but the model's own undo (`undo_last_reply` takes back *its* last reply; an
    agent has `undo` instead)."""
    return [types.Tool(name=f["name"], description=f["description"], inputSchema=f["parameters"])
            for f in (d["function"] for d in tool_definitions()) if TOOL_NAMES[f["name"]] != "undo"]


AGENT_TOOLS = [
    types.Tool(name=SEND_MESSAGE, description=(
        "Say something to the ghost (the model in the chat) as the person would. Returns the reply's id; with "
        "wait=true, waits for the reply and returns its final text and the results of the commands it ran."),
        inputSchema={"type": "object", "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE, "description": "the message"},
            "wait": {"type": "boolean", "description": "wait for the reply (default false)"}},
            "required": ["text"], "additionalProperties": False}),
    types.Tool(name=UNDO, description=(
        "Undo a change to the list: without arguments your own newest change still in effect; with `change`, "
        "that change (its number is in every tool result). With redo=true, put an undone change back."),
        inputSchema={"type": "object", "properties": {
            "change": {"type": "integer", "minimum": 1, "description": "the change's number"},
            "redo": {"type": "boolean", "description": "redo instead of undo (default false)"}},
            "required": [], "additionalProperties": False}),
]


def all_tools() -> list[types.Tool]:
    return [*command_tools(), *AGENT_TOOLS]


RESOURCES = [
    types.Resource(uri=TASKS_URI, name="tasks", title="The todo list",
                   description="Every task as JSON: id, name, done, priority (list order). Subscribe to hear of "
                               "every change, whoever made it.", mimeType="application/json"),
    types.Resource(uri=CHAT_URI, name="conversation", title="The recent conversation",
                   description="The newest messages of the chat, oldest first, one per line.", mimeType="text/plain"),
]
URIS = tuple(str(r.uri) for r in RESOURCES)
