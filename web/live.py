"""What the web process knows between database reads: replies in flight, command results,
each process's health. Every bus message becomes at most one SSE fragment here."""

from __future__ import annotations

import html
import time
from collections import OrderedDict

from fasthtml.common import Div, Span, to_xml

from bus import contract as c
from commands import bang
from commands.ids import commands_of, is_tool_call_id, tool_call_id
from commands.splitter import Block, CommandSplitter, Hidden, Thinking
from web import components as ui, trust_ui
from web.store import ChipResult, StoredMessage, Store

ENDED_KEEP = 200
RESULTS_KEEP = 5_000
STALE_S = 3.5
PROCS = ("broker", "crud_worker", "llm_worker")


def oob(elt) -> str:
    return to_xml(elt, indent=False)


class Live:
    def __init__(self, store: Store):
        self.store = store
        self.replies: dict[str, ui.ReplyView] = {}
        self.splitters: dict[str, CommandSplitter] = {}
        self.next_seq: dict[str, int] = {}
        self.ended: OrderedDict[str, ui.ReplyView] = OrderedDict()
        self.results: OrderedDict[str, ChipResult] = OrderedDict()
        self.health: dict[str, c.Health] = {}
        self.seen: dict[str, float] = {}
        self.change_seq = 0
        self.chosen_model = store.setting("model")
        self.jobs: OrderedDict[str, c.JobProgress] = OrderedDict()
        self.heard: dict[str, float] = {}  # when each reply in flight last had news

    def open_reply(self, msg_id: str, kind: str = "chat") -> tuple[ui.ReplyView, bool]:
        if msg_id in self.replies:
            return self.replies[msg_id], False
        if msg_id in self.ended:
            return self.ended[msg_id], False
        view = self.replies[msg_id] = ui.ReplyView(id=msg_id, kind=kind)
        self.hear(msg_id)
        self.splitters[msg_id] = CommandSplitter()
        self.next_seq[msg_id] = 0
        return view, True

    def on_chat_user(self, m: c.ChatUser) -> str:
        view, new = self.open_reply(m.reply_id)
        if not new:
            return ""
        card = ui.help_card() if isinstance(bang.parse(m.text), bang.Help) else ""
        return oob(Div(ui.user_bubble(m.msg_id, m.text.strip()), card, self.bubble(view),
                       hx_swap_oob="beforeend:#chat-log"))

    def on_queued(self, m: c.ReplyQueued) -> str:
        view, new = self.open_reply(m.msg_id, m.kind)
        return oob(Div(self.bubble(view), hx_swap_oob="beforeend:#chat-log")) if new else ""

    def _stream(self, msg_id: str, seq: int) -> ui.ReplyView | None:
        """The live view a stream message belongs to; after a gap the display waits for `done` to heal."""
        view = self.replies.get(msg_id)
        if view is None:
            if msg_id in self.ended:
                return None
            view, _ = self.open_reply(msg_id)
            self.next_seq[msg_id] = seq  # joined late: show from here, `done` heals the rest
        if seq != self.next_seq[msg_id]:
            self.splitters[msg_id] = None  # gap: stop appending; the final render repairs it
        self.next_seq[msg_id] = seq + 1
        self.hear(msg_id)
        return view

    def on_start(self, m: c.LlmStart) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        view.status, view.model = "streaming", m.model
        return oob(Span(m.model, cls="meta model", id=f"model-{m.msg_id}", hx_swap_oob="true"))

    def on_delta(self, m: c.LlmDelta) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        view.status = "streaming"
        out = [self._think(view, m.thinking)] if m.thinking else []
        splitter = self.splitters.get(m.msg_id)
        if m.text and splitter is not None:
            for piece in splitter.feed(m.text):
                out.append(self._piece(view, piece))
        return "".join(out)

    def _think(self, view: ui.ReplyView, text: str) -> str:
        """Reasoning, whether the backend reported it apart or the model wrote it in <think> tags."""
        first = not view.thinking
        view.thinking += text
        if first:
            box = ui.thinking_box(view)
            box.attrs["hx-swap-oob"] = "true"
            return oob(box)
        return f'<span hx-swap-oob="beforeend:#think-{view.id}">{html.escape(text)}</span>'

    def _piece(self, view: ui.ReplyView, piece) -> str:
        if isinstance(piece, Block):
            chips = []
            for found in commands_of(view.id, piece):
                view.pieces.append(("chip", found.command_id))
                chips.append(ui.chip(found.command_id, self.results.get(found.command_id)))
            return oob(Div(*chips, hx_swap_oob=f"beforeend:#body-{view.id}"))
        if isinstance(piece, Thinking):
            return self._think(view, piece.text) if piece.text else ""
        if isinstance(piece, Hidden) or not piece.text:
            return ""  # fence lines around a command are never shown
        view.pieces.append(("text", piece.text))
        return f'<span hx-swap-oob="beforeend:#body-{view.id}">{html.escape(piece.text)}</span>'

    def on_tool_call(self, m: c.LlmToolCall) -> str:
        view = self._stream(m.msg_id, m.seq)
        if view is None:
            return ""
        command_id = tool_call_id(m.msg_id, sum(1 for k, v in view.pieces if k == "chip" and is_tool_call_id(v)))
        view.pieces.append(("chip", command_id))
        return oob(Div(ui.chip(command_id, self.results.get(command_id)), hx_swap_oob=f"beforeend:#body-{m.msg_id}"))

    def on_end(self, m: c.LlmDone | c.LlmError) -> str:
        view = self.replies.pop(m.msg_id, None) or self.ended.get(m.msg_id)
        if view is None:
            if self.store.message(m.msg_id):
                return ""  # an end published again for the crud_worker's sake: the tabs have it
            view = ui.ReplyView(id=m.msg_id)
        elif view.status in ("done", "cancelled", "failed"):
            return ""  # a replayed end: already rendered
        self.splitters.pop(m.msg_id, None)
        self.next_seq.pop(m.msg_id, None)
        self.heard.pop(m.msg_id, None)
        view.text, view.model = m.text, m.model or view.model
        if isinstance(m, c.LlmDone):
            view.status, view.thinking, view.stop_reason = m.status, m.thinking or view.thinking, m.stop_reason
        else:
            view.status, view.error = "failed", m.error
        self.ended[m.msg_id] = view
        while len(self.ended) > ENDED_KEEP:
            self.ended.popitem(last=False)
        if view.kind == "comment" and view.status == "cancelled" and not view.text:
            return oob(Div(id=f"msg-{m.msg_id}", hx_swap_oob="delete"))
        return oob(self.bubble(view, swap=True))

    def quiet(self, seconds: float) -> list[ui.ReplyView]:
        """Replies in flight with no news for `seconds`: their end may have been lost on the bus."""
        since = time.monotonic() - seconds
        return [v for v in self.replies.values() if self.heard.get(v.id, 0) < since]

    def hear(self, msg_id: str) -> None:
        self.heard[msg_id] = time.monotonic()

    def results_for(self, msg_ids: list[str]) -> dict[str, ChipResult]:
        """Command results of these replies: the stored ones, overlaid with any heard since."""
        return {**self.store.command_results(msg_ids), **self.results}

    def on_result(self, m: c.CommandResult) -> str:
        before = self.results.get(m.command_id)
        result = self.results[m.command_id] = ChipResult(m.ok, m.summary, m.state, m.action)
        while len(self.results) > RESULTS_KEEP:
            self.results.popitem(last=False)
        chip = ui.chip(m.command_id, result)
        chip.attrs["hx-swap-oob"] = "true"
        flipped = before.state != m.state if before else m.state != "done"
        if not flipped or m.msg_id in self.replies:
            return oob(chip)
        # Undone, redone or decided after the reply ended: its Undo all may change too.
        return oob(chip) + oob(trust_ui.undo_all_swap(m.msg_id, self.results_for([m.msg_id])))

    def bubble(self, view: ui.ReplyView, swap: bool = False):
        results = self.results
        if view.status not in ("queued", "streaming"):
            results = self.results_for([view.id])
        elt = ui.reply_bubble(view, results)
        if swap:
            elt.attrs["hx-swap-oob"] = "true"
        return elt

    def on_task(self, m: c.TaskChanged) -> str:
        gap = self.change_seq and m.change_seq != self.change_seq + 1
        self.change_seq = max(self.change_seq, m.change_seq)
        if gap or m.op == "reorder" or m.task is None:
            return self.task_list_swap()
        item = ui.task_item(m.task)
        if m.op == "insert":
            return oob(Div(item, hx_swap_oob="beforeend:#task-list"))
        item.attrs["hx-swap-oob"] = "delete" if m.op == "delete" else "true"
        return oob(item)

    def task_list_swap(self) -> str:
        lst = ui.task_list(self.store.tasks())
        lst.attrs["hx-swap-oob"] = "true"
        return oob(lst)

    def on_health(self, m: c.Health) -> None:
        self.health[m.instance] = m
        self.seen[m.instance] = time.monotonic()

    def up(self, proc: str) -> bool:
        now = time.monotonic()
        return any(h.proc == proc and now - self.seen[i] < STALE_S for i, h in self.health.items())

    def llm_workers(self) -> list[c.Health]:
        now = time.monotonic()
        return [h for i, h in self.health.items() if h.proc == "llm_worker" and now - self.seen[i] < STALE_S]

    def on_job(self, m: c.JobProgress) -> str:
        new = m.job_id not in self.jobs
        self.jobs[m.job_id] = m
        while len(self.jobs) > ENDED_KEEP:
            self.jobs.popitem(last=False)
        card = ui.job_card(m)
        if new:
            return oob(Div(card, hx_swap_oob="beforeend:#chat-log"))
        card.attrs["hx-swap-oob"] = "true"
        return oob(card)

    def status(self) -> dict:
        workers = self.llm_workers()
        lead = workers[0] if workers else None
        models = lead.models if lead else []
        chosen = self.chosen_model if self.chosen_model in models else ""
        return {
            "procs": {p: self.up(p) for p in PROCS},
            "backend": lead.backend if lead else "",
            "model": chosen or (lead.model if lead else ""),
            "models": models,
            "reachable": lead.reachable if lead else False,
            "note": lead.note if lead else "No LLM worker is running, so replies will wait.",
            "workers": len(workers),
        }

    def forget_stale(self) -> None:
        cutoff = time.monotonic() - 60
        for i in [i for i, t in self.seen.items() if t < cutoff]:
            self.seen.pop(i)
            self.health.pop(i)


def stored_end(m: StoredMessage) -> c.LlmDone | c.LlmError:
    """A stored reply's end, as the bus would have carried it."""
    if m.status == "failed":
        return c.LlmError(msg_id=m.id, seq=0, error=m.error or "", text=m.content, model=m.model or "")
    return c.LlmDone(msg_id=m.id, seq=0, text=m.content, status=m.status, model=m.model or "")
