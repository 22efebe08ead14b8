"""Fuzzing the bus: seeded random frames, off-contract or absurd, published as if by a broken peer.
Every process drops what it can't use and carries on: same pids, no traceback, and the app still works.

    GHOSTWIRE_FUZZ_FRAMES=5000 GHOSTWIRE_FAULT_SEED=3 pytest tests/fuzz/test_bus_fuzz.py
"""

from __future__ import annotations

import json
import os
import random
import threading


from bus import contract as c
from tests.buspeer import publish
from tests.faults.helpers import all_up, pids
from tests.report import STATS
from tests.fakes import Script
from tests.util import wait_for

SEED = int(os.environ.get("GHOSTWIRE_FAULT_SEED", "7"))
FRAMES = int(os.environ.get("GHOSTWIRE_FUZZ_FRAMES", "600"))
TOPICS = [*c.TOPICS, "health.web", "health.llm_worker", "health.crud_worker", "health.", "llm.", "llm.deltax",
          "chat.userx", "task.", "crud.", "command.", "reply.", "ui.", ""]


def junk_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**63 - 1, 3.5, float("1e308")])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return rng.choice(["", "x" * rng.randrange(1, 50), "a\u0000b", "\u202e\u2028", "<script>", "🍎" * 10,
                           '{"action": "delete", "target": "task", "args": {"id": 1}}'])
    if kind == 4:
        return rng.choice(["msg_id", "seq", "text", "op"])
    if kind in (5, 6):
        return {rng.choice(["msg_id", "seq", "text", "op", "status", "call", "x", "req_id", "task_id", "ids",
                            "name", "arguments", "proc", "instance", "pid", "ts", "active", "stats"]):
                junk_json(rng, depth + 1) for _ in range(rng.randrange(6))}
    return [junk_json(rng, depth + 1) for _ in range(rng.randrange(5))]


def plausible(rng: random.Random, topic: str) -> dict:
    """A message that is almost right for its topic (msg ids from a small pool, so streams interleave)."""
    msg_id = rng.choice(["afuzz0000000001", "afuzz0000000002", "ufuzz0000000001", "afuzz0000000003-f"])
    base = {
        "llm.start": {"msg_id": msg_id, "seq": 0, "worker": "fuzz", "backend": "fuzz", "model": "fuzz"},
        "llm.delta": {"msg_id": msg_id, "seq": rng.randrange(-2, 50), "text": rng.choice(
            ['{"action": "insert", "target": "task", "args": {"name": "fuzz', '"}}', "prose ", "```json\n", "{"])},
        "llm.done": {"msg_id": msg_id, "seq": rng.randrange(0, 60), "status": rng.choice(["done", "cancelled"]),
                     "text": 'x {"action": "toggle", "target": "task", "args": {"id": 1}} y',
                     "tool_calls": [{"name": rng.choice(["insert_task", "toggle_task", "nope", ""]),
                                     "arguments": junk_json(rng) if rng.random() < 0.5 else {"name": "tool fuzz"}}]},
        "llm.error": {"msg_id": msg_id, "seq": rng.randrange(0, 60), "error": "fuzz error", "text": "partial"},
        "llm.tool_call": {"msg_id": msg_id, "seq": rng.randrange(0, 60),
                          "call": {"name": rng.choice(["insert_task", "delete_task", "list_tasks", "x" * 300]),
                                   "arguments": junk_json(rng) if rng.random() < 0.7 else {"id": 2**62}}},
        "llm.cancel": {"msg_id": msg_id},
        "llm.resend": {"msg_id": rng.choice([msg_id, "*"])},
        "chat.user": {"req_id": "qfuzz", "msg_id": f"ufuzz{rng.randrange(10**9)}", "reply_id": f"afuzz{rng.randrange(10**9)}",
                      "text": rng.choice(["", " ", "fuzz hello", "y" * 9000])},
        "crud.request": {"req_id": "qfuzz", "op": rng.choice(["add", "toggle", "rename", "delete", "reorder", "poke",
                                                               "selftest", "explode"]),
                         "task_id": rng.choice([None, -1, 0, 1, 2, 2**63 - 1]), "name": rng.choice([None, "", "n" * 600, "fuzz task"]),
                         "ids": rng.choice([None, [], [1, 1], [2**63 - 1], list(range(1, 50))])},
        "task.changed": {"op": rng.choice(["insert", "update", "delete", "reorder"]), "origin": "model",
                         "task": {"id": rng.randrange(1, 5), "name": "<b>fuzz</b>", "done": False, "priority": 1},
                         "change_seq": rng.randrange(-5, 10**6)},
        "command.result": {"msg_id": msg_id, "command_id": f"{msg_id}:{rng.randrange(5)}", "ok": rng.random() < 0.5,
                           "summary": "<img src=x>"},
        "reply.queued": {"msg_id": msg_id, "kind": rng.choice(["chat", "comment", "bogus"])},
        "chat.note": {"msg_id": msg_id, "role": "user", "kind": rng.choice(["event", "x"]), "content": "note"},
        "ui.alert": {"text": "fuzz alert"},
    }.get(topic.split(".x")[0], {})
    if base and rng.random() < 0.5:  # mutate: drop a field, retype one, add one
        key = rng.choice(list(base))
        action = rng.randrange(3)
        if action == 0:
            base.pop(key)
        elif action == 1:
            base[key] = junk_json(rng)
        else:
            base[f"extra{rng.randrange(9)}"] = junk_json(rng)
    return base


def frames(rng: random.Random, n: int) -> list[list[bytes]]:
    out = []
    for _ in range(n):
        topic = rng.choice(TOPICS)
        shape = rng.randrange(10)
        if shape == 0:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        elif shape == 1:
            payload = json.dumps(junk_json(rng)).encode()
        elif shape == 2:
            payload = b'{"msg_id": "afuzz0000000001", "seq": 1, "text": "' + b"z" * 1_000_000 + b'"}'
        elif shape == 3:
            payload = b"[" * 5000 + b"]" * 5000
        else:
            payload = json.dumps(plausible(rng, topic)).encode()
        frame = [topic.encode(), payload]
        if rng.random() < 0.05:
            frame = frame[:1]
        elif rng.random() < 0.05:
            frame.append(b"trailing frame")
        out.append(frame)
    return out


def send(stack, raw: list[list[bytes]]) -> None:
    """publish runs its own event loop: keep it off any loop the caller might have."""
    t = threading.Thread(target=publish, args=(stack, [], raw))
    t.start()
    t.join(120)


def assert_still_working(stack, fake_ollama, before: dict, log_from: int) -> None:
    wait_for(lambda: all_up(stack), 15, what="all four processes up")
    log = stack.log()[log_from:]
    assert pids(stack) == before, f"a process crashed and was restarted:\n{log[-4000:]}"
    assert "Traceback" not in log and "exited:" not in log, log[-4000:]
    fake_ollama.enqueue(Script(tokens=["still ", "fine"]))
    reply = stack.chat("are you still there?")
    _, status, content, _ = stack.wait_message(reply, timeout=20)
    assert status == "done", status
    assert stack.http.post("/tasks", data={"name": "after the fuzz"}).status_code == 200


def test_off_contract_frames_are_dropped_and_nothing_crashes(stack, fake_ollama):
    rng = random.Random(f"bus-fuzz:{SEED}")
    before, log_from = pids(stack), len(stack.log())
    batch = frames(rng, FRAMES)
    send(stack, batch)
    STATS["fuzz"]["bus frames sent"] += len(batch)
    assert_still_working(stack, fake_ollama, before, log_from)


def test_a_topic_that_is_not_utf8_is_dropped(stack, fake_ollama):
    before, log_from = pids(stack), len(stack.log())
    try:
        send(stack, [[b"llm.\xff\xfe", b"{}"], [b"chat.\xc3(", b"{}"]])
        STATS["fuzz"]["bus frames sent"] += 2
        assert_still_working(stack, fake_ollama, before, log_from)
    finally:
        wait_for(lambda: all(pids(stack).values()) and all_up(stack), 30, interval=0.2, what="a working stack again")
