"""The MCP server: outside agents act on the list through the same bus requests as the page.

It never writes SQLite: a change is an `AgentCall` to the crud_worker (validation, limits, the change
log, ask-first and undo apply as to the model's commands), a message is the `ChatUser` that `POST
/chat` sends, an undo the `UndoRequest` of the undo routes. It reads what the page reads (the web's
read-only Store). Built on the SDK's low-level server because the list's tools carry the command
schema's own JSON schemas (tools.py), not schemas generated from Python signatures. Every call is
made by the agent named in its session's `initialize` (clientInfo.name).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import anyio
import msgspec
import mcp.types as types
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import AnyUrl

from bus import contract as c
from bus.client import new_id
from commands.parse import from_tool_call
from commands.spec import List, Refusal
from web.live.hub import CrudUnavailable, Hub
from web.mcp import tools
from web.mcp.waiting import ToolRefused, Waiter, expected_commands, reply_of

log = logging.getLogger("web.mcp")
CHAT_LINES = 50  # messages in the conversation resource


class _ClientLeft(logging.Filter):
    """The SDK logs a traceback at ERROR whenever a client ends its session (its event stream's writer
    finds the stream closed): that is a client leaving, not a failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], anyio.ClosedResourceError))


logging.getLogger("mcp").setLevel(logging.WARNING)  # not a line per request ("Processing request of type …")
logging.getLogger("mcp.server.streamable_http").addFilter(_ClientLeft())


class _Server(Server):
    def get_capabilities(self, *args) -> types.ServerCapabilities:
        caps = super().get_capabilities(*args)
        if caps.resources is not None:  # the SDK never says so itself; our resources can be subscribed to
            caps.resources.subscribe = True
        return caps


class Agents:
    """The MCP side of the web process; `running` must wrap the app's lifespan (the SDK's session manager)."""

    def __init__(self, hub_of, max_sessions: int = 100, idle_s: float = 300.0):
        self.hub_of = hub_of  # () -> Hub: the hub is made in the lifespan, after this
        self.max_sessions, self.idle_s = max_sessions, idle_s
        self.server = _Server("ghostwire", instructions=(
            "Ghostwire is a person's todo list with a model (the ghost) in the chat beside it. The list's tools "
            "are the ones the ghost has; every change you make shows in the person's open tabs with your name, "
            "and they can undo it."))
        # Bounded: at most `max_sessions` open, an idle one ended after `idle_s` (the SDK's default is 30 min),
        # so a client that opens sessions and never ends them can't hold the memory or the door.
        self.manager = StreamableHTTPSessionManager(app=self.server, max_sessions=max_sessions,
                                                    session_idle_timeout=idle_s)
        self.subscribers: dict[ServerSession, set[str]] = {}
        self.waiters: dict[str, Waiter] = {}
        self.changed: asyncio.Queue[str] = asyncio.Queue()
        s = self.server
        s.list_tools()(self.list_tools)
        s.call_tool()(self.call_tool)
        s.list_resources()(self.list_resources)
        s.read_resource()(self.read_resource)
        s.subscribe_resource()(self.subscribe)
        s.unsubscribe_resource()(self.unsubscribe)

    @asynccontextmanager
    async def running(self, hub: Hub):
        hub.listeners.append(self.on_bus)
        async with self.manager.run():
            notifier = asyncio.create_task(self.notify())
            notifier.add_done_callback(_report_end)
            try:
                yield
            finally:
                notifier.cancel()
                await asyncio.gather(notifier, return_exceptions=True)

    def open_sessions(self) -> int:
        return len(self.manager._server_instances)  # the SDK (pinned) keeps no public count

    def init_options(self):
        return self.server.create_initialization_options(NotificationOptions())

    # --- what the bus says -------------------------------------------------------------------------

    def on_bus(self, m: c.Msg) -> None:
        match m:
            case c.TaskChanged():
                self.changed.put_nowait(tools.TASKS_URI)
            case c.ChatUser() | c.ChatNote() | c.LlmDone() | c.LlmError():
                self.changed.put_nowait(tools.CHAT_URI)
        match m:
            case c.LlmDone() | c.LlmError() if (w := self.waiters.get(m.msg_id)) and not w.ended.done():
                w.ended.set_result(m)
                if isinstance(m, c.LlmDone):
                    w.expected = expected_commands(m)
                w.check()
            case c.CommandResult() if (w := self.waiters.get(m.msg_id)):
                w.results[m.command_id] = m
                w.check()

    async def notify(self) -> None:
        """`notifications/resources/updated` to each session subscribed to a resource that changed (a
        burst of changes: one notification per resource)."""
        while True:
            uris = {await self.changed.get()}
            while not self.changed.empty():
                uris.add(self.changed.get_nowait())
            for session, subscribed in list(self.subscribers.items()):
                for uri in uris & subscribed:
                    try:
                        await session.send_resource_updated(AnyUrl(uri))
                    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                        self.subscribers.pop(session, None)  # that client has gone

    # --- resources --------------------------------------------------------------------------------

    async def list_resources(self) -> list[types.Resource]:
        return tools.RESOURCES

    async def read_resource(self, uri: AnyUrl) -> list[ReadResourceContents]:
        store = self.hub_of().store
        if str(uri) == tools.TASKS_URI:
            body = msgspec.json.encode({"tasks": store.tasks()}).decode()
            return [ReadResourceContents(body, "application/json")]
        if str(uri) == tools.CHAT_URI:
            recent = store.messages(store.newest_conversation(), limit=CHAT_LINES).messages  # where the person last was
            lines = [f"{who(m.role, m.kind, m.model)}: {m.content}" for m in recent]
            return [ReadResourceContents("\n".join(lines) or "(no messages yet)", "text/plain")]
        raise ToolRefused(f"there is no resource {str(uri)[:100]!r} (there are {', '.join(tools.URIS)})")

    async def subscribe(self, uri: AnyUrl) -> None:
        if str(uri) not in tools.URIS:
            raise ToolRefused(f"there is no resource {str(uri)[:100]!r} (there are {', '.join(tools.URIS)})")
        self.subscribers.setdefault(self.server.request_context.session, set()).add(str(uri))

    async def unsubscribe(self, uri: AnyUrl) -> None:
        self.subscribers.get(self.server.request_context.session, set()).discard(str(uri))

    # --- tools ------------------------------------------------------------------------------------

    async def list_tools(self) -> list[types.Tool]:
        return tools.all_tools()

    async def call_tool(self, name: str, arguments: dict) -> types.CallToolResult | tuple:
        """Arguments were checked against the tool's JSON schema by the SDK; the command schema checks
        them again, as for the model. A refusal is a tool error with readable text."""
        try:
            if name == tools.SEND_MESSAGE:
                return await self.send_message(str(arguments["text"]), bool(arguments.get("wait", False)))
            if name == tools.UNDO:
                return await self.undo(arguments.get("change"), bool(arguments.get("redo", False)))
            if name not in {t.name for t in tools.command_tools()}:
                raise ToolRefused(f"there is no tool {name[:60]!r}; the tools are "
                              f"{', '.join(t.name for t in tools.all_tools())}")
            command = from_tool_call(name, arguments)
            if isinstance(command, Refusal):
                raise ToolRefused(f"Couldn't do that: {command.reason}.")
            if isinstance(command, List):
                return self.list_tasks(command.done)
            return await self.change(name, arguments)
        except ToolRefused as err:
            return types.CallToolResult(content=[types.TextContent(type="text", text=str(err))], isError=True)

    def client(self) -> str:
        params = self.server.request_context.session.client_params
        return params.clientInfo.name if params else ""

    async def ask(self, msg: c.AgentCall | c.ChatUser | c.UndoRequest) -> c.CrudReply:
        try:
            return await self.hub_of().request(msg)
        except CrudUnavailable as err:
            raise ToolRefused(str(err)) from None

    async def change(self, name: str, arguments: dict) -> tuple:
        reply = await self.ask(c.AgentCall(req_id=new_id("q"), msg_id=new_id("g"), client=self.client(), tool=name,
                                           arguments=arguments))
        if not reply.ok:
            raise ToolRefused(f"Couldn't do that: {reply.error}.")
        summary = reply.done[0] if reply.done else "Done"
        text = summary
        if reply.state == "asking":
            text += (". The person asked to approve this first: it waits for their Allow or Deny in Ghostwire, and "
                     "runs only if they allow it (list_tasks shows the outcome).")
        elif reply.change_seq:
            text += f" (change #{reply.change_seq}; undo with the undo tool, change={reply.change_seq})"
        structured = {"summary": summary, "state": reply.state, "change": reply.change_seq,
                      "task": msgspec.to_builtins(reply.task) if reply.task else None}
        return [types.TextContent(type="text", text=text)], structured

    def list_tasks(self, done: bool | None) -> tuple:
        rows = [t for t in self.hub_of().store.tasks() if done is None or t.done == done]
        lines = [f"#{t.id} [{'x' if t.done else ' '}] {t.name}" for t in rows]
        text = "\n".join(lines) if lines else "(no tasks)"
        return [types.TextContent(type="text", text=text)], {"tasks": msgspec.to_builtins(rows)}

    async def undo(self, change: int | None, redo: bool) -> tuple:
        agent = self.client()
        msg = (c.UndoRequest(req_id=new_id("q"), scope="change", target=str(change), redo=redo, agent=agent)
               if change is not None else
               c.UndoRequest(req_id=new_id("q"), scope="last", redo=redo, by="agent", agent=agent))
        reply = await self.ask(msg)
        if not reply.ok:
            raise ToolRefused(f"Couldn't {'redo' if redo else 'undo'}: {reply.error}.")
        text = f"{'Redid' if redo else 'Undid'}: " + "; ".join(reply.done)
        return [types.TextContent(type="text", text=text)], {"done": reply.done}

    async def send_message(self, text: str, wait: bool) -> tuple:
        text = text.strip()
        if not text:
            raise ToolRefused("Type a message first: the text is empty.")
        user_id, reply_id = new_id("u"), new_id("a")
        waiter = Waiter(asyncio.get_running_loop().create_future())
        if wait:  # before the message goes: a fast reply can't end unseen
            self.waiters[reply_id] = waiter
        try:
            reply = await self.ask(c.ChatUser(req_id=new_id("q"), msg_id=user_id, reply_id=reply_id, text=text,
                                              agent=self.client(), conversation_id=self.hub_of().store.newest_conversation()))
            if not reply.ok:
                raise ToolRefused(f"Couldn't send it: {reply.error}.")
            if not wait:
                return ([types.TextContent(type="text", text=f"Sent; the reply's id is {reply_id}.")],
                        {"message_id": user_id, "reply_id": reply_id})
            return await reply_of(reply_id, user_id, waiter)
        finally:
            self.waiters.pop(reply_id, None)


def _report_end(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception():
        log.error("MCP resource notifications stopped", exc_info=task.exception())


def who(role: str, kind: str, model: str | None = None) -> str:
    if kind in ("event", "agent", "result"):
        return kind
    if role == "user":
        return f"agent {model}" if model else "person"  # a user message names a model only when an agent sent it
    return "ghost"
