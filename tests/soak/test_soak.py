"""A soak, in `make test-slow`: GHOSTWIRE_SOAK_S (default 30 min) of a realistic mix on the real
four processes — two tabs open throughout and a third that reconnects every half minute, a chat turn
every few seconds whose reply carries commands, clicks on the list, and one process SIGKILLed every
GHOSTWIRE_SOAK_KILL_S (default 3 min) in turn. Every process's RSS and open descriptors are sampled.

Passes when nothing is lost (every accepted message has its reply stored and shown in both tabs;
every accepted click is stored), nothing is doubled (no task twice), and memory and descriptors are
flat after warm-up: what the fitted slope adds over the measured stretch stays under FLAT_MB / FLAT_FDS."""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import defaultdict

import httpx
import pytest

from tests.faults.helpers import PROCESSES, pids, sigkill
from tests.report import STATS
from tests.fakes import FakeOllama, Script
from tests.netns.replies import command, ends
from tests.soak.sampling import Sample, sample, trends
from tests.stack import Stack
from tests.util import Event, SseReader, wait_for

DURATION_S = float(os.environ.get("GHOSTWIRE_SOAK_S", 1800))
KILL_EVERY_S = float(os.environ.get("GHOSTWIRE_SOAK_KILL_S", 180))
CHAT_EVERY_S = 4.0
CLICK_EVERY_S = 3.0
RECONNECT_EVERY_S = 30.0
SAMPLE_EVERY_S = 5.0
WARMUP_S = max(60.0, DURATION_S / 5)  # caches and the web's 5,000-event replay buffer fill up first
FLAT_MB = 8.0   # what RSS may gain over the measured stretch (allocator noise is a few MB)
FLAT_FDS = 4.0  # tabs come and go: a few descriptors either way
SETTLE_S = 60.0
pytestmark = [pytest.mark.slow, pytest.mark.timeout(DURATION_S + 5 * SETTLE_S)]


class Tab(threading.Thread):
    """A browser tab's event stream: reconnects with Last-Event-ID whenever it drops (a web restart)."""

    def __init__(self, url: str, name: str):
        super().__init__(daemon=True, name=name)
        self.url, self.name = url, name
        self.events: list[Event] = []
        self.reconnects = 0
        self.halt = threading.Event()
        self.reader: SseReader | None = None

    def run(self) -> None:
        last = ""
        while not self.halt.is_set():
            self.reader = SseReader(self.url, tab=self.name, last_event_id=last)
            self.reader.run()  # returns when the stream ends or fails
            got = self.reader.snapshot()
            self.events.extend(got)
            last = next((e.id for e in reversed(got) if e.id), last)
            self.reconnects += 1
            self.halt.wait(0.5)  # the page's own `retry:` pause before reconnecting

    def seen(self) -> list[Event]:
        return self.events + (self.reader.snapshot() if self.reader else [])

    def drop(self) -> None:
        """Close the stream now: the tab reconnects as a page does after a network blip."""
        if self.reader:
            self.reader._stop.set()

    def stop(self) -> None:
        self.halt.set()
        self.drop()


def test_soak(fake_ollama: FakeOllama):
    rng = random.Random(int(os.environ.get("GHOSTWIRE_FAULT_SEED", 7)))
    stack = Stack(LLM_BACKEND="ollama", OLLAMA_HOST=fake_ollama.url).start()
    tabs = [Tab(stack.url, f"soak{n}") for n in range(3)]  # soak2 is the one that reconnects
    for t in tabs:
        t.start()
    accepted_chats: list[str] = []
    accepted_clicks: list[str] = []
    refused: dict[str, int] = defaultdict(int)
    samples: dict[str, list[Sample]] = defaultdict(list)
    kills = 0
    t0 = time.monotonic()
    due = {"chat": 0.0, "click": 1.0, "kill": KILL_EVERY_S, "reconnect": RECONNECT_EVERY_S, "sample": 0.0}
    try:
        while (now := time.monotonic() - t0) < DURATION_S:
            if now >= due["chat"]:
                n = len(accepted_chats) + sum(refused.values())
                words = [f" w{i}" for i in range(rng.randint(10, 40))]
                words.insert(rng.randrange(len(words)), f"\n{command(f'soak chat {n}')}\n")
                fake_ollama.enqueue(Script(tokens=words, delay=0.02))
                try:
                    r = stack.http.post("/chat", data={"msg": f"soak message {n}"})
                    if r.status_code == 200:
                        accepted_chats.append(r.headers["ghostwire-reply-id"])
                    else:
                        refused["chat"] += 1
                except httpx.TransportError:  # the web itself was killed
                    refused["chat (web down)"] += 1
                due["chat"] = now + CHAT_EVERY_S * rng.uniform(0.5, 1.5)
            if now >= due["click"]:
                name = f"soak click {len(accepted_clicks) + refused['click']}"
                try:
                    if stack.http.post("/tasks", data={"name": name}).status_code == 200:
                        accepted_clicks.append(name)
                    else:
                        refused["click"] += 1
                    if (ids := [t[0] for t in stack.tasks()]) and rng.random() < 0.5:
                        stack.http.post(f"/tasks/{rng.choice(ids)}/toggle")
                except httpx.TransportError:
                    refused["click"] += 1
                due["click"] = now + CLICK_EVERY_S * rng.uniform(0.5, 1.5)
            if now >= due["kill"]:
                victim = PROCESSES[kills % len(PROCESSES)]
                pid = pids(stack)[victim]
                if pid:
                    sigkill(stack, victim, pid)
                    kills += 1
                due["kill"] = now + KILL_EVERY_S
            if now >= due["reconnect"]:
                tabs[2].drop()
                due["reconnect"] = now + RECONNECT_EVERY_S
            if now >= due["sample"]:
                for program, pid in pids(stack).items():
                    if pid and (s := sample(pid, now)):
                        samples[program].append(s)
                due["sample"] = now + SAMPLE_EVERY_S
            time.sleep(max(0.0, min(due.values()) - (time.monotonic() - t0)))  # pacing the load, not waiting on it

        # Settle: everything restarted, every accepted reply ended and stored, every tab told.
        wait_for(stack.healthy, SETTLE_S, interval=0.2, what="all four up after the run")

        def unended() -> list[str]:
            with stack.db() as db:
                done = {r for (r,) in db.execute("SELECT id FROM messages WHERE role = 'assistant'")}
            return [r for r in accepted_chats if r not in done]
        wait_for(lambda: not unended(), SETTLE_S, interval=0.5, what="every accepted message's reply stored")

        def untold() -> dict[str, int]:
            return {t.name: sum(1 for r in accepted_chats if not ends(t.seen(), r)) for t in tabs[:2]
                    if any(not ends(t.seen(), r) for r in accepted_chats)}
        wait_for(lambda: not untold(), SETTLE_S, interval=0.5, what="both tabs shown every reply's end")
        with stack.db() as db:
            task_names = [n for (n,) in db.execute("SELECT name FROM tasks")]
            done_replies = db.execute("SELECT content FROM messages WHERE role = 'assistant' AND status = 'done'"
                                      " AND content LIKE '%soak chat%'").fetchall()
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        for t in tabs:
            t.stop()
        soak_log = stack.log()
        stack.stop()

    assert "Traceback" not in soak_log, "a process logged a traceback"
    assert integrity == "ok"
    doubled = {n for n in task_names if task_names.count(n) > 1}
    assert not doubled, f"tasks stored twice: {sorted(doubled)[:10]}"
    lost = [n for n in accepted_clicks if n not in task_names]
    assert not lost, f"accepted clicks not stored: {lost[:10]}"
    commanded = [n for (content,) in done_replies for n in re.findall(r'"name": "(soak chat \d+)"', content)]
    unrun = [n for n in commanded if n not in task_names]
    assert not unrun, f"commands in completed replies that never ran: {unrun[:10]}"
    elapsed = time.monotonic() - t0
    s = STATS["soak"]
    s["minutes"] = round(elapsed / 60, 1)
    s["chats accepted"] = len(accepted_chats)
    s["clicks accepted"] = len(accepted_clicks)
    s["refused while a process was down"] = sum(refused.values())
    s["kills"] = kills
    s["tab reconnects"] = sum(t.reconnects for t in tabs)
    s["commands run (once each)"] = len(commanded)
    s["lost / doubled"] = f"{len(lost) + len(unrun)} / {len(doubled)}"
    flat = []
    for tr in trends(samples, WARMUP_S):
        mb, fds = tr.growth()
        s[f"{tr.program} RSS MB at warm-up / slope MB per min"] = f"{tr.rss_start_mb:.1f} / {tr.rss_mb_per_min:+.3f}"
        s[f"{tr.program} fds at warm-up / slope per min"] = f"{tr.fds_start} / {tr.fds_per_min:+.3f}"
        flat.append((tr.program, round(mb, 2), round(fds, 2), round(tr.minutes, 1)))
    assert flat, "too short a run to measure a trend after warm-up"
    growing = [f for f in flat if f[1] > FLAT_MB or f[2] > FLAT_FDS]
    assert not growing, f"memory or descriptors grew after warm-up (program, MB, fds, over minutes): {growing}"
