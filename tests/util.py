"""Test helpers: wait on a condition with a deadline (never a bare sleep), read an SSE stream."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import httpx


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll until `predicate()` is truthy and return its value; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_steady(predicate, seconds: float, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Wait until `predicate()` holds and keeps holding for `seconds` (looked at every 50 ms): a quiet that
    lasts, not a moment between two bursts."""
    def stays() -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not predicate():
                return False
            time.sleep(0.05)
        return True

    wait_for(lambda: predicate() and stays(), timeout, interval=interval, what=what)


@dataclass
class Event:
    id: str
    event: str
    data: str
    at: float


class SseReader(threading.Thread):
    """Reads `GET /events` in a thread, keeping every event with the time it arrived."""

    def __init__(self, url: str, tab: str = "", last_event_id: str = "", headers: dict | None = None,
                 conversation: str = ""):
        super().__init__(daemon=True)
        self.url = f"{url}/events?tab={tab}" + (f"&conversation={conversation}" if conversation else "")
        self.headers = dict(headers or {})
        if last_event_id:
            self.headers["Last-Event-ID"] = last_event_id
        self.events: list[Event] = []
        self.comments: list[str] = []
        self.opened = threading.Event()
        self.status = 0
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError as err:
            if not self._stop.is_set():
                self.error = err

    def _read(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client:
            with client.stream("GET", self.url, headers=self.headers) as r:
                self.status = r.status_code
                self.opened.set()
                fields: dict[str, list[str]] = {}
                for line in r.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line == "":
                        if "data" in fields:
                            with self._lock:
                                self.events.append(Event(id="".join(fields.get("id", [""])),
                                                         event="".join(fields.get("event", [""])),
                                                         data="\n".join(fields["data"]), at=time.monotonic()))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)

    def __enter__(self) -> "SseReader":
        self.start()
        assert self.opened.wait(10), "SSE stream did not open"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)

    def matching(self, pattern: str) -> list[Event]:
        rx = re.compile(pattern)
        return [e for e in self.snapshot() if rx.search(e.data)]

    def text(self) -> str:
        return "\n".join(e.data for e in self.snapshot())


def settle(stack, fake, seconds: float = 0.3) -> None:
    """Every model request so far has its reply stored, and it stays that way for `seconds` (follow-ups
    and comments from earlier steps must not eat the next step's scripts; longer than the crud_worker's
    0.8 s comment window where a comment on setting up the list could come)."""
    def answered() -> bool:
        with stack.db() as db:
            stored = db.execute("SELECT count(*) FROM messages WHERE role = 'assistant'").fetchone()[0]
        return stored >= len(fake.requests) and not fake._scripts

    wait_steady(answered, seconds, 30, what="the stack to settle")
