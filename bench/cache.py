"""`python -m bench.cache` (or `python -m bench cache`): does a real model server read only what is new?

Replays one scripted conversation — messages, clicks, an import, an outside agent's change, and a message
typed and sent while the model's comment on a click still streams — through the real four processes against the
local engine (`python -m engine`, llama.cpp's server; LLM_BACKEND=openai at it), then the same messages
with no list changes on a fresh app. Every model request passes a recorder (bench/recorder.py), so per
request it reports: the prompt's length and the tokens the server evaluated and took from its cache (its
own `timings`), the new tokens (the newest message, the last reply and the list as it is now), and for a
person's message Enter → the first thing the page shows of the reply (SSE: prose, or a command's chip),
beside the floor: the same prompt sent straight to the engine after its history (so only the newest
message is new), timed to the same first thing. Writes bench/results/cache.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

import anyio
import httpx
from sqlite_utils import Database

from bench import cache_report
from bench.engine import Engine
from bench.recorder import Exchange, Recorder
from commands.splitter import Block, CommandSplitter, Prose
from crud_worker import prompts, tasks
from models.catalogue import MODELS, model_path
from tests.mcp.client import session
from tests.stack import Stack
from tests.util import SseReader, wait_for, wait_steady

ROOT = Path(__file__).resolve().parents[1]
STEPS = [
    ("chat", "Hi! I need help keeping track of my chores this week."),
    ("add", "water the plants"),
    ("chat", "What is on my list now?"),
    ("toggle", "water the plants"),
    ("chat", "Add 'buy milk' please."),
    ("import", ["pay rent", "call mom", "book the dentist"]),
    ("chat", "Which tasks are still open?"),
    ("agent", "email Sam"),
    ("chat", "Thanks. Anything I should do first today?"),
    ("chat", "Tell me a very short joke about chores."),
    ("talk_over", "How many tasks are done?"),
]
QUICK = STEPS[:4] + STEPS[-1:]
SETTLE_S = 1.5  # quiet this long (past the 0.8 s comment window) before the next step
TURN_TIMEOUT_S = 600  # a reply on a busy 2-core machine
FLOOR_TOKENS = 96  # enough for a reply's first command to close
TYPING_CPS = 8  # a fast typist (about 100 words a minute): the talk-over message takes this long to write


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__)
    ap.add_argument("--engine", help="an engine already running (its root URL); else one is started")
    ap.add_argument("--model", choices=tuple(MODELS), default="1.5b", help="the model an engine started here serves")
    ap.add_argument("--quick", action="store_true", help="five steps instead of eleven")
    ap.add_argument("--ask", action="store_true",
                    help="the model's commands wait for Allow (never given), so only the person, the import and "
                         "the agent change the list: what a turn costs when the model changes nothing unasked")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cache.json")
    return ap.parse_args(argv)


class Run:
    """One app (the four processes) talking to the engine through a recorder."""

    def __init__(self, engine_url: str, label: str, ask: bool = False):
        self.label, self.engine_url, self.ask = label, engine_url, ask
        self.recorder = Recorder(engine_url, on_request=self.list_note)
        self.stack: Stack | None = None
        self.turns: list[dict] = []
        self.last_step = ""  # what the person did before a message: a click, an import…

    def list_note(self) -> str:
        """The list as it is when a request arrives (the 'list as it is now' of the new tokens)."""
        if self.stack is None:
            return ""
        conn = sqlite3.connect(f"file:{self.stack.data_dir / 'ghostwire.db'}?mode=ro", uri=True)
        try:
            return prompts.list_note(tasks.all_tasks(Database(conn)))
        finally:
            conn.close()

    def __enter__(self) -> Run:
        self.recorder.start()
        asking = {"GHOSTWIRE_ASK": "insert,update,delete,toggle", "GHOSTWIRE_ASK_TIMEOUT": "7200"} if self.ask else {}
        self.stack = Stack(LLM_BACKEND="openai", OPENAI_BASE_URL=self.recorder.url, **asking)
        self.stack.start(timeout=60)
        self.sse = SseReader(self.stack.url, tab=f"bench-{self.label}").__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.sse.__exit__(*exc)
        self.stack.stop()
        self.recorder.stop()

    def settle(self) -> None:
        """Every model request so far has ended and its reply is stored, and it stays so for SETTLE_S."""
        def quiet() -> bool:
            with self.stack.db() as db:
                stored = db.execute("SELECT count(*) FROM messages WHERE role = 'assistant'").fetchone()[0]
            return not self.recorder.busy() and stored >= len(self.recorder.exchanges)
        wait_steady(quiet, SETTLE_S, TURN_TIMEOUT_S, interval=0.1, what=f"{self.label}: replies to end")

    def chat(self, text: str, step: str) -> None:
        sent = time.monotonic()
        reply = self.stack.chat(text)
        first = wait_for(lambda: self.sse.matching(f"beforeend:#body-{reply}"), TURN_TIMEOUT_S, interval=0.02,
                         what=f"the first token of {reply}")[0].at
        self.turns.append({"step": step, "after": self.last_step, "text": text, "reply": reply,
                           "exchange": len(self.recorder.exchanges) - 1, "sent": sent,
                           "enter_to_first_ms": round((first - sent) * 1000)})

    def type_out(self, text: str) -> None:
        """What the chat box sends while a person types `text` at TYPING_CPS: POST /typing at the first key
        and once a second after (htmx's throttle); the message itself is sent after, at Enter."""
        began, takes = time.monotonic(), len(text) / TYPING_CPS
        while (typed := time.monotonic() - began) < takes:
            assert self.stack.http.post("/typing").status_code == 204
            time.sleep(min(1.0, takes - typed))  # a person's pace, not a wait for the app

    def allow_agents(self) -> None:
        """Under --ask the agent's call waits too: the bench, as the person, allows it."""
        for command_id in _pending_agent_calls(self.stack) if self.ask else []:
            assert self.stack.http.post(f"/approve/{command_id}", data={"decision": "allow"}).status_code == 200

    def task_id(self, name: str) -> int:
        """The task of that name, else the first (the model may have renamed or deleted it unasked)."""
        found = self.stack.tasks()
        if not found:
            assert self.stack.http.post("/tasks", data={"name": name}).status_code == 200
            found = wait_for(self.stack.tasks, 30, what="the task added")
        return next((t[0] for t in found if t[1] == name), found[0][0])

    def step(self, kind: str, arg) -> None:
        http = self.stack.http
        if kind == "chat":
            self.chat(arg, "chat")
        elif kind == "add":
            assert http.post("/tasks", data={"name": arg}).status_code == 200
        elif kind == "toggle":
            assert http.post(f"/tasks/{self.task_id(arg)}/toggle").status_code == 200
        elif kind == "import":
            body = {"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": n, "done": False} for n in arg]}
            assert http.post("/tasks/import", content=json.dumps(body),
                             headers={"Content-Type": "application/json"}).status_code == 200
        elif kind == "agent":
            anyio.run(_agent_adds, self.stack.url, arg)
            self.allow_agents()
        elif kind == "talk_over":  # a click; while the model's comment on it streams, a message is typed and sent
            task = self.task_id("")
            before = len(self.recorder.exchanges)
            assert http.post(f"/tasks/{task}/toggle").status_code == 200
            wait_for(lambda: len(self.recorder.exchanges) > before and self.recorder.exchanges[before].first_byte,
                     TURN_TIMEOUT_S, interval=0.01, what="the comment streaming")
            self.type_out(arg)
            self.chat(arg, "talk_over")
        self.last_step = kind
        self.settle()


def _pending_agent_calls(stack: Stack) -> list[str]:
    with stack.db() as db:
        return [r[0] for r in db.execute("SELECT command_id FROM approvals WHERE decision IS NULL AND msg_id IN"
                                         " (SELECT id FROM messages WHERE kind = 'agent')")]


async def _agent_adds(url: str, name: str) -> None:
    async with session(url, name="bench agent") as s:
        await s.call_tool("insert_task", {"name": name})


def replay(engine_url: str, steps: list, label: str, ask: bool = False) -> tuple[list, list]:
    with Run(engine_url, label, ask) as run:
        for n, (kind, arg) in enumerate(steps, 1):
            began = time.monotonic()
            run.step(kind, arg)
            print(f"bench.cache {label}: step {n}/{len(steps)} {kind} in {time.monotonic() - began:.1f} s",
                  file=sys.stderr, flush=True)
        return run.recorder.exchanges, run.turns


def shows_something(pieces: list) -> bool:
    """What the page would show: prose with something in it, or a command (its chip appears when it closes)."""
    return any(isinstance(p, Block) or isinstance(p, Prose) and p.text.strip() for p in pieces)


def floor(engine_url: str, before: Exchange | None, x: Exchange) -> dict:
    """The same prompt straight to the engine, its cache left as the request before left it (that
    prompt and its reply): the same new tokens, without Ghostwire around them. Timed, as the page is,
    to the first thing a person would see: the reply read through the same command splitter, so a
    reply that starts with a command is seen when the command closes (its chip), not at its `{`."""
    with httpx.Client(base_url=engine_url, timeout=TURN_TIMEOUT_S) as client:
        if before is not None:
            history = [*before.body["messages"], {"role": "assistant", "content": before.text}]
            client.post("/v1/chat/completions", json={"messages": history, "max_tokens": 1})
        started = time.monotonic()
        first, timings, splitter = None, {}, CommandSplitter()
        with client.stream("POST", "/v1/chat/completions", json={
                "messages": x.body["messages"], "max_tokens": FLOOR_TOKENS, "stream": True,
                "stream_options": {"include_usage": True}}) as r:
            for line in r.iter_lines():
                if not line.startswith("data: {"):
                    continue
                chunk = json.loads(line[6:])
                timings = chunk.get("timings") or timings
                text = "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])
                if first is None and text and shows_something(splitter.feed(text)):
                    first = time.monotonic()
        first = first or time.monotonic()  # nothing shown within FLOOR_TOKENS: the reply's end
    return {"floor_ms": round((first - started) * 1000), "floor_evaluated": timings.get("prompt_n")}


def tokens(engine_url: str, text: str) -> int:
    if not text:
        return 0
    return len(httpx.post(f"{engine_url}/tokenize", json={"content": text}, timeout=60).json()["tokens"])


def new_tokens(engine_url: str, body: dict, note: str) -> int:
    """The newest message, the last reply, and the list as it is now (when the newest does not carry it)."""
    messages = body["messages"]
    last_reply = next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), "")
    newest = messages[-1]["content"]
    return (tokens(engine_url, newest) + tokens(engine_url, last_reply)
            + (0 if note and note in newest else tokens(engine_url, note)))


def _kind(x: Exchange) -> str:
    newest = x.body["messages"][-1]["content"]
    return "follow-up" if "Command results:" in newest else "comment" if "[event]" in newest else "model"


def rows(engine_url: str, exchanges: list, turns: list) -> list[dict]:
    by_exchange = {t["exchange"]: t for t in turns}
    out = []
    for n, x in enumerate(exchanges):
        t = x.timings
        row = {"n": n + 1, "kind": by_exchange.get(n, {}).get("step") or _kind(x),
               "prompt": x.usage.get("prompt_tokens"), "evaluated": t.get("prompt_n"), "cached": t.get("cache_n"),
               "cut": x.cut, "new": new_tokens(engine_url, x.body, x.note),
               "list_sent": "[the list now" in x.body["messages"][-1]["content"]}
        if n in by_exchange:
            row["enter_to_first_ms"] = by_exchange[n]["enter_to_first_ms"]
            sent = by_exchange[n]["sent"]  # where the time went: to the engine, then its first token
            row["enter_to_engine_ms"] = round((x.at - sent) * 1000)
            row["enter_to_engine_first_ms"] = round((x.first_byte - sent) * 1000) if x.first_byte else None
            row["text"] = by_exchange[n]["text"]
            row["after"] = by_exchange[n]["after"]
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    steps = QUICK if args.quick else STEPS
    started = time.monotonic()
    engine = Engine(args.engine, model_path=model_path(MODELS[args.model]))
    if not args.engine and (reason := engine.unavailable()):
        raise SystemExit(reason)
    with engine:
        changing_x, changing_t = replay(engine.url, steps, "changes", args.ask)
        plain = [("chat", arg) if kind in ("chat", "talk_over") else None for kind, arg in steps]
        still_x, still_t = replay(engine.url, [s for s in plain if s], "no-changes", args.ask)
        changing, still = rows(engine.url, changing_x, changing_t), rows(engine.url, still_x, still_t)
        every = [*changing_x, *still_x]  # in the order the engine saw them
        for table, offset in ((changing, 0), (still, len(changing_x))):
            for row in table:
                if "enter_to_first_ms" in row:
                    k = offset + row["n"] - 1
                    row.update(floor(engine.url, every[k - 1] if k else None, every[k]))
        results = {"machine": engine.describe(), "ask": args.ask, "elapsed_s": round(time.monotonic() - started, 1),
                   "changes": changing, "no_changes": still}
    results["goals"] = cache_report.goals(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(cache_report.table(results))
    print(f"\nwrote {args.out} in {results['elapsed_s']} s")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
