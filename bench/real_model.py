"""`python -m bench.real_model`: can a real small model drive the todo list? The same 15 requests
(add / tick / delete × 5) through the real four processes and the local engine running
Qwen2.5-Coder-0.5B-Instruct (`make test-model` fetches it), tallied per request from the commands table:
ran (a command applied), refused (only commands that couldn't apply), nothing (no command at all),
and of those that ran, how many ran what was asked (an insert for "add", a toggle or update for
"tick", a delete for "delete"), with the time per reply. `--structured on|off` sets LLM_STRUCTURED.
Prints a table and writes bench/results/real_model[-structured-MODE].json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.engine.server import eval_speed, model_file, why_unavailable
from tests.stack import Stack
from tests.util import wait_for

SEEDED = ["walk the dog", "buy bread", "clean the kitchen", "email Sam", "fix the bike"]
REQUESTS = (
    [("add", f"add {name}") for name in ["buy apples", "call mom", "water the plants", "pay rent", "book the dentist"]]
    + [("tick", text) for text in [f"tick off '{SEEDED[0]}'", f"I bought the bread, mark '{SEEDED[1]}' done",
                                   f"mark '{SEEDED[2]}' as done", f"'{SEEDED[3]}' is done, tick it",
                                   f"complete the task '{SEEDED[4]}'"]]
    + [("delete", text) for text in [f"delete '{SEEDED[0]}'", f"remove '{SEEDED[1]}' from the list",
                                     f"delete the task '{SEEDED[2]}'", f"get rid of '{SEEDED[3]}'",
                                     f"please delete '{SEEDED[4]}'"]]
)
REPLY_TIMEOUT_S = 180
ASKED = {"add": {"insert"}, "tick": {"toggle", "update"}, "delete": {"delete"}}  # the action each kind asks for


@dataclass
class Outcome:
    kind: str
    request: str
    verdict: str  # ran | refused | nothing
    asked: bool   # a command that ran was the action the request asked for
    status: str
    error: str
    seconds: float
    commands: list[str]
    reply: str


def verdict(oks: list[int]) -> str:
    return "ran" if any(oks) else "refused" if oks else "nothing"


def run_one(stack: Stack, kind: str, text: str) -> Outcome:
    started = time.monotonic()
    reply = stack.chat(text)
    try:
        status, content, error = wait_for(lambda: _ended(stack, reply), REPLY_TIMEOUT_S, interval=0.2,
                                          what=f"reply to {text!r}")
    except AssertionError:  # wait_for's deadline: the reply is still going; its commands so far count
        status, content, error = "still streaming", "", ""
    with stack.db() as db:
        rows = db.execute("SELECT ok, result, action FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()
    asked = any(ok and action in ASKED[kind] for ok, _, action in rows)
    return Outcome(kind, text, verdict([ok for ok, _, _ in rows]), asked, status, error or "",
                   round(time.monotonic() - started, 1), [result for _, result, _ in rows], content[:300])


def _ended(stack: Stack, reply: str) -> tuple[str, str, str | None] | None:
    with stack.db() as db:
        return db.execute("SELECT status, content, error FROM messages WHERE id = ?", [reply]).fetchone()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-ctx", type=int, default=4096, help="the server's context (and Ghostwire's LLM_NUM_CTX)")
    parser.add_argument("--structured", choices=("auto", "on", "off"), default="auto",
                        help="LLM_STRUCTURED for the stack (auto is on for this local server)")
    args = parser.parse_args()
    if reason := why_unavailable():
        print(reason, file=sys.stderr)
        return 2
    stack = Stack(LLM_BACKEND="local", LLM_MODEL_PATH=str(model_file()), LLM_NUM_CTX=str(args.n_ctx),
                  GHOSTWIRE_LLM_SLOTS="1", LLM_STRUCTURED=args.structured)
    outcomes: list[Outcome] = []
    engine_log = ""
    try:
        stack.start()
        wait_for(lambda: stack.health()["backend"] == "local" and stack.health()["reachable"], 120,
                 what="the local engine serving")
        for name in SEEDED:
            assert stack.http.post("/tasks", data={"name": name}).status_code < 300
        wait_for(lambda: len(stack.tasks()) == len(SEEDED), 10, what="the seeded tasks")
        for kind, text in REQUESTS:
            outcomes.append(out := run_one(stack, kind, text))
            print(f"{kind:6} {out.verdict:7} {out.seconds:5.1f} s  {text!r} -> {(out.reply or out.error)[:70]!r}",
                  flush=True)
    finally:
        engine_log = stack.log()
        stack.stop()
    tally = {kind: Counter(o.verdict for o in outcomes if o.kind == kind) for kind in ("add", "tick", "delete")}
    total = Counter(o.verdict for o in outcomes)
    for kind in tally:
        tally[kind]["asked"] = sum(o.asked for o in outcomes if o.kind == kind)
        tally[kind]["seconds"] = round(sum(o.seconds for o in outcomes if o.kind == kind), 1)
    total["asked"], total["seconds"] = sum(o.asked for o in outcomes), round(sum(o.seconds for o in outcomes), 1)
    print(f"\nLLM_STRUCTURED={args.structured}\n| request | ran | of which as asked | refused | nothing | s per reply |"
          "\n|---|---|---|---|---|---|")
    for kind, c in [*tally.items(), ("all", total)]:
        n = c["ran"] + c["refused"] + c["nothing"]
        print(f"| {kind} | {c['ran']} | {c['asked']} | {c['refused']} | {c['nothing']} | {c['seconds'] / n:.1f} |")
    print(eval_speed(engine_log))
    suffix = "" if args.structured == "auto" else f"-structured-{args.structured}"
    out = Path(__file__).parent / "results" / f"real_model{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"n_ctx": args.n_ctx, "structured": args.structured,
                               "tally": {k: dict(v) for k, v in tally.items()},
                               "outcomes": [asdict(o) for o in outcomes]},
                              indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
