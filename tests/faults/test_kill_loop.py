"""SIGKILL each process at seeded-random points while a reply full of commands streams.

After supervisor has brought the process back: every task a completed command reported exists
exactly once, no command ran twice, the reply is stored exactly once (done, cancelled or failed,
with its text), and the next message works. Kill points are counted in `llm.delta` messages seen
on the bus, never in seconds.

    GHOSTWIRE_FAULT_RUNS=5 pytest tests/faults/test_kill_loop.py     # more runs in the default suite
    make test-slow                                                    # ≥ 50 runs per process
    GHOSTWIRE_FAULT_SEED=123 make test-slow                           # another set of kill points
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest

from tests.faults.helpers import PROCESSES, ReplyTap, all_up, ready_count, sigkill, wait_restarted
from tests.report import STATS
from tests.fakes import Script
from tests.util import wait_for

SEED = int(os.environ.get("GHOSTWIRE_FAULT_SEED", "7"))
RUNS = int(os.environ.get("GHOSTWIRE_FAULT_RUNS", "2"))
RUNS_SLOW = int(os.environ.get("GHOSTWIRE_FAULT_RUNS_SLOW", "50"))
COMMANDS = 4
DELAY = 0.012  # between token pieces: a reply of ~90 pieces streams for about a second


@pytest.fixture(scope="module")
def tap(stack):
    with ReplyTap(stack) as t:
        yield t


def make_reply(tag: str, rng: random.Random) -> tuple[list[str], str]:
    """A reply with COMMANDS insert commands (bare or fenced, between bits of prose), unique names."""
    names = [f"{tag} item{i} {rng.randrange(16**6):06x}" for i in range(COMMANDS)]
    parts = [f"Run {tag}, on it. "]
    for name in names:
        cmd = json.dumps({"action": "insert", "target": "task", "args": {"name": name}})
        parts.append(f"\n```json\n{cmd}\n```\n" if rng.random() < 0.3 else cmd)  # a fence starts its own line
        parts.append(rng.choice([" Done that one. ", "\nNext: ", " and ", " Braces {in prose} stay prose. "]))
    parts.append("That's all.")
    return names, "".join(parts)


def pieces(text: str, rng: random.Random) -> list[str]:
    out, i = [], 0
    while i < len(text):
        n = rng.randint(2, 7)
        out.append(text[i:i + n])
        i += n
    return out


def deltas_per_reply(stack, fake, tap) -> int:
    """How many llm.delta messages one of our replies makes on this machine (coalescing varies)."""
    if not hasattr(tap, "calibrated"):
        rng = random.Random(SEED)
        _, text = make_reply("calibrate", rng)
        fake.enqueue(Script(tokens=pieces(text, rng), delay=DELAY))
        reply = stack.chat("calibration run")
        stack.wait_message(reply)
        wait_for(lambda: reply in tap.ended, 5, what="the calibration reply's end on the bus")
        tap.calibrated = tap.deltas[reply]
    return tap.calibrated


def check_run(stack, reply: str, user_text: str, names: list[str], text: str, where: str, program: str) -> str:
    """The invariants after one kill. Returns the reply's status."""
    try:  # a dead worker's reply fails after ~5 s; a lost end is asked for again within ~2-4 s
        role, status, content, error = stack.wait_message(reply, timeout=30)
    except AssertionError:
        raise AssertionError(f"{where}: the reply was never stored\n{log_about(stack, reply)}") from None
    with stack.db() as db:
        stored = db.execute("SELECT count(*) FROM messages WHERE id = ?", [reply]).fetchone()[0]
        users = db.execute("SELECT count(*) FROM messages WHERE role = 'user' AND content = ?",
                           [user_text]).fetchone()[0]
        commands = db.execute("SELECT id, action, args, ok FROM commands WHERE msg_id = ?", [reply]).fetchall()
        per_name = Counter(n for (n,) in db.execute("SELECT name FROM tasks"))
    ok_names = [json.loads(args)["name"] for _, action, args, ok in commands if ok and action == "insert"]
    lost = [n for n in ok_names if per_name[n] == 0]
    doubled = [n for n in names if per_name[n] > 1]
    unlogged = [n for n in names if per_name[n] == 1 and n not in ok_names]
    twice = [n for n, k in Counter(ok_names).items() if k > 1]
    STATS["kill-loop"]["tasks checked"] += len(names)
    STATS["kill-loop"]["replies checked"] += 1
    STATS["kill-loop"]["lost"] += len(lost)
    STATS["kill-loop"]["doubled"] += len(doubled) + len(twice)
    STATS["kill-loop"][f"reply {status}"] += 1
    assert users == 1, f"{where}: the person's message is stored once"
    assert not lost, f"{where}: commands reported ok but their tasks are gone: {lost}"
    assert not doubled and not twice, f"{where}: executed twice: {doubled or twice}"
    assert not unlogged, f"{where}: tasks exist with no command logged for them: {unlogged}"
    dupes = [n for n, k in per_name.items() if k > 1]
    assert not dupes, f"{where}: task names doubled somewhere in the list: {dupes}"
    assert (role, stored) == ("assistant", 1), f"{where}: the reply is stored once"
    assert status in ("done", "cancelled", "failed"), where
    if status == "done":
        assert content == text, f"{where}: the stored reply is not the full text"
        assert sorted(ok_names) == sorted(names), \
            f"{where}: a finished reply ran every command once; commands logged: {commands}\n{log_about(stack, reply)}"
        assert sorted(c[0] for c in commands) == [f"{reply}:{i}" for i in range(COMMANDS)], where
    else:
        assert text.startswith(content), f"{where}: a cut reply keeps a prefix of what was produced"
        assert error, f"{where}: a failed reply says why"
    return status


def log_about(stack, *needles: str) -> str:
    return "\n".join(line for line in stack.log().splitlines() if any(n in line for n in needles))


def next_message_works(stack, fake, tag: str) -> None:
    fake.enqueue(Script(tokens=["pong ", tag]))
    reply = stack.chat(f"ping {tag}")
    _, status, content, _ = stack.wait_message(reply, timeout=30)
    assert (status, content) == ("done", f"pong {tag}"), f"{tag}: the next message after the restart"


def kill_loop(stack, fake, tap, program: str, runs: int, label: str) -> None:
    rng = random.Random(f"{SEED}:{program}:{label}")
    per_reply = deltas_per_reply(stack, fake, tap)
    statuses: Counter = Counter()
    for run in range(runs):
        tag = f"{program}-s{SEED}-{label}{run}"
        where = f"{tag} (GHOSTWIRE_FAULT_SEED={SEED}, run {run})"
        names, text = make_reply(tag, rng)
        kill_at = rng.randint(1, max(1, per_reply - 1))
        assert not fake._scripts, f"{where}: a script from an earlier run is still queued"
        fake.enqueue(Script(tokens=pieces(text, rng), delay=DELAY))
        pid, ready = stack.pid(program), ready_count(stack, program)
        user_text = f"fault run {tag}"
        reply = stack.chat(user_text)
        wait_for(lambda: tap.deltas[reply] >= kill_at or reply in tap.ended, 20,
                 interval=0.002, what=f"{where}: {kill_at} deltas")
        mid_reply = reply not in tap.ended
        sigkill(stack, program, pid)
        STATS["kill-loop"]["runs"] += 1
        STATS["kill-loop"]["kills mid-reply" if mid_reply else "kills after the end"] += 1
        wait_restarted(stack, program, pid, ready)
        status = check_run(stack, reply, user_text, names, text, where, program)
        if program != "llm_worker":
            assert status == "done", f"{where}: only the model's own worker dying may cut a reply"
        next_message_works(stack, fake, tag)
        assert all_up(stack), f"{where}: all four processes up"
        statuses[status] += 1
    print(f"\n{program}: {runs} SIGKILLs at seeded points (seed {SEED}), replies {dict(statuses)}, "
          f"{runs * COMMANDS} tasks checked")


@pytest.mark.parametrize("program", PROCESSES)
def test_sigkill_mid_reply_loses_and_doubles_nothing(stack, fake_ollama, tap, program):
    kill_loop(stack, fake_ollama, tap, program, RUNS, "r")


@pytest.mark.slow
@pytest.mark.timeout(max(600, RUNS_SLOW * 30))
@pytest.mark.parametrize("program", PROCESSES)
def test_sigkill_mid_reply_many_seeded_points(stack, fake_ollama, tap, program):
    kill_loop(stack, fake_ollama, tap, program, RUNS_SLOW, "slow")
