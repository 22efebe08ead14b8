"""Fault-test tools: a tap on the live bus, waiting for a killed process to be back, the tallies."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import httpx

from tests.bustap import BusTap, Frame
from tests.report import STATS
from tests.util import wait_for

PROCESSES = ("broker", "llm_worker", "crud_worker", "web")
INTER_TOKEN_TIMEOUT = 1.0  # the shared fault stack's: a stalled model fails fast (test_model_faults)
# Each process logs exactly one "ready:" line per start, once its bus handshake is done.
READY = {p: f"{p:<11} INFO    ready:" for p in PROCESSES}



class ReplyTap(BusTap):
    """Counts each reply's deltas and notes its start and end, as they go by."""

    def __init__(self, stack, also: tuple[bytes, ...] = ()):
        super().__init__(f"ipc://{stack.run_dir}/events-out.sock", topics=(b"llm.", b"health.", *also))
        self.also = also  # more topic prefixes to watch: their messages are kept in `heard`
        self.heard: list[tuple[bytes, bytes]] = []  # (topic, payload) of the `also` topics
        self.deltas: Counter = Counter()
        self.ended: dict[str, str] = {}  # msg_id -> "done:<status>" | "error"
        self.ended_at: dict[str, float] = {}  # msg_id -> time.monotonic() when the end went by
        self.started: set[str] = set()

    def on_frame(self, frame: Frame) -> None:
        if self.also and frame.topic.startswith(self.also):
            self.heard.append((frame.topic, frame.payload))
        if not frame.topic.startswith(b"llm."):
            return
        try:
            body = json.loads(frame.payload)
        except ValueError:
            return
        msg_id = body.get("msg_id", "")
        if frame.topic == b"llm.delta":
            self.deltas[msg_id] += 1
        elif frame.topic == b"llm.start":
            self.started.add(msg_id)
        elif frame.topic in (b"llm.done", b"llm.error"):
            self.ended_at.setdefault(msg_id, frame.t_ns / 1e9)
            self.ended[msg_id] = f"done:{body.get('status')}" if frame.topic == b"llm.done" else "error"


def ready_count(stack, program: str) -> int:
    return stack.log().count(READY[program])


def running(stack, program: str) -> bool:
    """Supervisor says RUNNING only once the process has stayed up for `startsecs`: killing it
    earlier would count as a failed start, and three of those make supervisor give up on it."""
    return " RUNNING " in f" {stack.ctl('status', program)} "


def sigkill(stack, program: str, pid: int | None = None) -> int:
    pid = pid or stack.pid(program)
    os.kill(pid, signal.SIGKILL)
    STATS["kills"][program] += 1
    return pid


def wait_restarted(stack, program: str, old_pid: int, ready_before: int, timeout: float = 30) -> None:
    """The killed process is back: a new pid, its 'ready' line logged, RUNNING, and /health is ok."""

    def new_pid() -> bool:
        try:
            pid = stack.pid(program)
        except ValueError:
            return False
        return pid not in (0, old_pid)

    wait_for(new_pid, timeout, interval=0.05, what=f"supervisor to restart {program}")
    wait_for(lambda: ready_count(stack, program) > ready_before, timeout, interval=0.02,
             what=f"{program} to log ready again")
    wait_for(lambda: running(stack, program), timeout, interval=0.1, what=f"{program} RUNNING")
    wait_for(stack.healthy, timeout, interval=0.05, what="/health ok after the restart")


def all_up(stack) -> bool:
    try:
        body = stack.health()
    except (httpx.HTTPError, ValueError):  # a dead web answers nothing, or not JSON
        return False
    return body["ok"] and all(body["processes"][p]["up"] for p in PROCESSES)


class Timer:
    def __init__(self):
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def pids(stack) -> dict[str, int]:
    """Every program's pid, STARTING ones included (0 for one that is not running)."""
    return dict(zip(PROCESSES, (int(p) for p in stack.ctl("pid", *PROCESSES).split())))
