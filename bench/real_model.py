"""`python -m bench.real_model`: does a real small model do what it is asked, and nothing else?

The requests of bench/accuracy_cases.py go through the real four processes to llama.cpp's own server
(`engine`, started here at temperature 0 with a fixed seed, so a run repeats) serving Qwen2.5-Coder
(`--model 1.5b|0.5b`, from the model cache). Each request runs in a conversation of its own on its
seeded list (a fresh app each, the seed imported with `POST /tasks/import`, the model's comment on
the import awaited, as a person would read it), then the request and its follow-ups. Tallied per request:

  asked      the list ends as asked (a request that must change nothing: unchanged)
  wrong      the list changed, not as asked
  nothing    a change was asked for and the list is unchanged
  unasked    changes made by a reply nobody asked for (the import's comment and its follow-ups)
  suggested  commands such a reply suggested instead (waiting for Allow: never run here)
  claim      replies whose words claim a change none of their commands made: flagged on the bubble
  unflagged  replies of a request that changed nothing which say "done / added / …" and are not flagged

with seconds per request and the prompt tokens the engine evaluated (its own log). Modes: `embedded`
(the default: commands in the text), `tools` (LLM_NATIVE_TOOLS=1), `structured` (LLM_STRUCTURED=on) and
`structured-commands-first` (LLM_STRUCTURED_ORDER=commands-first too).
`--no-comments` imports the seed before the request's conversation is made and sends the request at
once, so no comment is ever made and the conversation holds only the request (faster; then `unasked`
and `suggested` are 0 by construction).
`--layout both` runs every request twice, one after the other on the same engine: with the list beside
the newest message, as the app sends it, and with the list at the end of the system prompt (the layout
before the prompt cache was planned for, bench/layouts.py, applied to each request on its way).
Writes bench/results/accuracy-MODEL-MODE….json and prints a README table row per layout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.accuracy_cases import CASES, Case, Tasks, same
from bench.engine import Engine
from bench.layouts import list_in_system
from bench.recorder import Recorder
from models.catalogue import MODELS, model_path
from tests.stack import Stack
from tests.util import wait_for, wait_steady

REPLY_TIMEOUT_S = 240
MODES = {"embedded": {}, "tools": {"LLM_NATIVE_TOOLS": "1"}, "structured": {"LLM_STRUCTURED": "on"},
         "structured-commands-first": {"LLM_STRUCTURED": "on", "LLM_STRUCTURED_ORDER": "commands-first"}}
LAYOUTS = {"message": None, "system": list_in_system}  # what each layout does to a request on its way
LAYOUT_WORDS = {"message": "beside the newest message", "system": "at the end of the system prompt"}
# the bench's own judge of a claim, broader than the app's (crud_worker/claims.py) on purpose
CLAIM_WORDS = re.compile(r"\b(added|deleted|removed|marked|renamed|updated|ticked|unticked|completed|cleared|checked)\b"
                         r"|\bdone\s*[.!]", re.I)



@dataclass
class Outcome:
    kind: str
    request: str
    verdict: str  # asked | wrong | nothing
    unasked: int
    suggested: int
    claims: int
    unflagged: int
    seconds: float
    prompt_evaluated: int
    before: list
    after: list
    commands: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, stack: Stack, engine: Engine, comments: bool):
        self.stack, self.engine, self.comments = stack, engine, comments

    def db_rows(self, sql: str, *args) -> list[tuple]:
        with self.stack.db() as db:
            return db.execute(sql, args).fetchall()

    def tasks(self) -> Tasks:
        return tuple((n, bool(d)) for _, n, d, _ in self.stack.tasks())

    def reset(self, seed: Tasks) -> str:
        """A new conversation with the seed as the whole list; returns its id once the import's comment ended.
        (With a fresh app per request, the list is empty and the seed's ids are 1…n.)"""
        for task_id, *_ in self.stack.tasks():  # in the last request's conversation, never the new one's
            assert self.stack.http.delete(f"/tasks/{task_id}").status_code == 200
        wait_for(lambda: not self.stack.tasks(), 10, what="an empty list")
        if seed and not self.comments:  # the import's event goes to the last conversation, before the new one
            self._import(seed, {})
        conversation = self.stack.http.post("/conversations", headers={"Accept": "application/json"}).json()["id"]
        if seed and not self.comments:  # the request follows at once: no comment on the import is ever queued
            return conversation
        if seed:
            self._import(seed, {"Ghostwire-Conversation": conversation})
            try:
                self.chain(wait_for(lambda: self._comment(conversation), REPLY_TIMEOUT_S, interval=0.2,
                                    what="the comment on the import"))
            except AssertionError as e:  # a comment that runs on and on: the request cancels it
                print(f"  (no end to the comment: {e})", flush=True)
        return conversation

    def _import(self, seed: Tasks, head: dict) -> None:
        body = {"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": n, "done": d} for n, d in seed]}
        r = self.stack.http.post("/tasks/import", headers=head,
                                 files={"file": ("seed.json", json.dumps(body), "application/json")})
        assert r.status_code == 200, r.text

    def _comment(self, conversation: str) -> str | None:
        rows = self.db_rows("SELECT id FROM messages WHERE conversation_id = ? AND kind = 'comment'", conversation)
        return rows[0][0] if rows else None

    def chain(self, reply: str) -> list[str]:
        """A reply and the follow-ups it led to, each awaited until stored. A follow-up is known to come
        once the engine has stayed idle a second after its reply (its request would have reached it), so
        no follow-up still running is left to hold the engine during the next request."""
        ids = []
        while True:
            wait_for(lambda: self.db_rows("SELECT 1 FROM messages WHERE id = ?", reply), REPLY_TIMEOUT_S,
                     interval=0.2, what=f"reply {reply}")
            ids.append(reply)
            # a follow-up of its own, and that one's (two at most), may each run as long as a reply
            wait_steady(lambda: not self.engine.busy(), 1.0, 3 * REPLY_TIMEOUT_S, interval=0.2, what="the engine idle")
            if not self.db_rows("SELECT 1 FROM messages WHERE id = ?", reply + "-r"):
                return ids
            reply += "-f"

    def run(self, case: Case) -> Outcome:
        conversation = self.reset(case.seed)
        comments = [r[0] for r in self.db_rows("SELECT id FROM messages WHERE conversation_id = ? AND role = "
                                                "'assistant'", conversation)]
        before = self.tasks()
        mark = self.engine.log_size()
        started = time.monotonic()
        r = self.stack.http.post("/chat", data={"msg": case.text, "conversation_id": conversation})
        assert r.status_code == 200, r.text
        replies = self.chain(r.headers["ghostwire-reply-id"])
        seconds = time.monotonic() - started
        after = self.tasks()
        verdict = "asked" if same(after, case.expect) else "nothing" if same(after, before) else "wrong"
        ids = replies + comments
        marks = ",".join("?" * len(ids))
        unasked = self.db_rows(f"SELECT count(*) FROM changes WHERE reply_id IN ({marks}) AND reply_id LIKE 'c%'",
                               *ids)[0][0]
        suggested = self.db_rows(f"SELECT count(*) FROM approvals WHERE msg_id IN ({marks})", *ids)[0][0]
        texts = self.db_rows(f"SELECT id, content, json_extract(stats, '$.unbacked_claim') FROM messages"
                             f" WHERE id IN ({marks})", *ids)
        claims = sum(bool(flag) for _, _, flag in texts)
        unflagged = sum(1 for i, text, flag in texts if i in replies and not flag and same(after, before)
                        and case.expect != case.seed and CLAIM_WORDS.search(_prose(text)))
        commands = [f"{msg_id[-2:]} {result}" for msg_id, result in self.db_rows(
            f"SELECT msg_id, result FROM commands WHERE msg_id IN ({marks}) ORDER BY created_at", *ids)]
        return Outcome(case.kind, case.text, verdict, unasked, suggested, claims, unflagged, round(seconds, 1),
                       self.engine.evaluated_since(mark), list(before), list(after), commands,
                       [t for i, t, _ in texts if i in replies])


def _prose(text: str) -> str:
    return re.sub(r"\{.*?\}\s*$|\{[^\n]*\}", "", text, flags=re.M)


def table(model: str, mode: str, outcomes: list[Outcome], machine: str) -> str:
    verdicts = Counter(o.verdict for o in outcomes)
    n = len(outcomes)
    total = lambda key: sum(getattr(o, key) for o in outcomes)  # noqa: E731
    secs = sorted(o.seconds for o in outcomes)
    return (f"| {model} | {mode} | {verdicts['asked']}/{n} ({100 * verdicts['asked'] // n} %) | {verdicts['wrong']} | "
            f"{verdicts['nothing']} | {total('unasked')} | {total('suggested')} | {total('claims')} | "
            f"{total('unflagged')} | {secs[n // 2]:.0f} | {total('prompt_evaluated') // n} | {machine} |")


def main() -> int:
    args = parse_args()
    cases = [c for c in CASES if not args.only or c.kind in args.only.split(",")]
    cases = cases[:args.limit] if args.limit else cases
    engine = Engine(model_path=model_path(MODELS[args.model]), n_ctx=args.n_ctx, threads=args.threads, greedy=True)
    if reason := engine.unavailable():
        print(reason, file=sys.stderr)
        return 2
    layouts = tuple(LAYOUTS) if args.layout == "both" else (args.layout,)
    outcomes: dict[str, list[Outcome]] = {layout: [] for layout in layouts}
    with engine, contextlib.ExitStack() as keep:
        env = dict(LLM_BACKEND="openai", LLM_NUM_CTX=str(args.n_ctx), GHOSTWIRE_LLM_SLOTS="1", **MODES[args.mode])
        apps = {layout: keep.enter_context(App(env, engine, LAYOUTS[layout], args.fresh)) for layout in layouts}
        for case in cases:  # each case under every layout, one after the other: the same engine, the same hour
            for layout, app in apps.items():
                outcomes[layout].append(o := Bench(app.stack_for_case(), engine, comments=not args.no_comments).run(case))
                print(f"{layout[:3]} {o.kind:12} {o.verdict:7} u{o.unasked} s{o.suggested} c{o.claims} f{o.unflagged} "
                      f"{o.seconds:5.1f} s {o.prompt_evaluated:5} tok  {o.request!r} -> {o.commands} "
                      f"{o.replies[-1][:80]!r}", flush=True)
    print("\n| model | mode | as asked | wrong change | nothing | unasked change | suggested | flagged claim |"
          " unflagged claim | s per request (median) | prompt tokens evaluated per request | machine |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")
    for layout, mine in outcomes.items():
        print(table(args.model, f"{args.mode}, list {LAYOUT_WORDS[layout]}", mine, args.machine))
    for layout, mine in outcomes.items():
        print(f"list {LAYOUT_WORDS[layout]}: " + ", ".join(
            f"{kind} {sum(o.verdict == 'asked' for o in mine if o.kind == kind)}/{sum(o.kind == kind for o in mine)}"
            for kind in dict.fromkeys(o.kind for o in mine)))
    suffix = ("-no-comments" if args.no_comments else "") + ("" if args.fresh else "-no-fresh") + \
        ("" if args.layout == "message" else f"-layout-{args.layout}")
    out = Path(__file__).parent / "results" / f"accuracy-{args.model}-{args.mode}{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"model": args.model, "mode": args.mode, "temperature": 0, "n_ctx": args.n_ctx,
                               "outcomes": {layout: [asdict(o) for o in mine] for layout, mine in outcomes.items()}},
                              indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


class App:
    """The four processes for one prompt layout: straight to the engine, or through a recorder that lays
    each request out the other way. With `fresh`, a new app for every case."""

    def __init__(self, env: dict, engine: Engine, rewrite: Callable[[dict], dict] | None, fresh: bool):
        self.env, self.engine, self.fresh = env, engine, fresh
        self.recorder = Recorder(engine.url, rewrite=rewrite) if rewrite else None
        self.stack: Stack | None = None

    def __enter__(self) -> App:
        if self.recorder:
            self.recorder.start()
        return self

    def stack_for_case(self) -> Stack:
        if self.stack is None or self.fresh:
            if self.stack is not None:
                self.stack.stop()
            url = self.recorder.url if self.recorder else self.engine.v1
            self.stack = Stack(**self.env, OPENAI_BASE_URL=url).start(timeout=60)
        return self.stack

    def __exit__(self, *exc) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.recorder:
            self.recorder.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("1.5b", "0.5b"), default="1.5b")
    parser.add_argument("--mode", choices=tuple(MODES), default="embedded")
    parser.add_argument("--n-ctx", type=int, default=4096, help="the engine's context (and LLM_NUM_CTX)")
    parser.add_argument("--only", default="", help="run only the cases of these kinds (comma-separated)")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N cases")
    parser.add_argument("--machine", default="2 shared cores", help="for the table row")
    parser.add_argument("--threads", type=int, default=0,
                        help="the engine's threads (0: every core; 1 keeps a shared machine from thrashing)")
    parser.add_argument("--fresh", action=argparse.BooleanOptionalAction, default=True,
                        help="a fresh app for each request (ids 1…n); --no-fresh: one app, the list deleted and"
                             " imported again each time (ids grow, as in a list used for months)")
    parser.add_argument("--layout", choices=(*LAYOUTS, "both"), default="message",
                        help="where the model is shown the list: beside the newest message (the app's), at the end of"
                             " the system prompt (the layout before, applied on the way), or both, case by case")
    parser.add_argument("--no-comments", action="store_true",
                        help="send each request at once after the import, so the model never comments on it (faster)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
