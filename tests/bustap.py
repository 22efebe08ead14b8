"""The one bus tap of the tests and the bench: a SUB socket behind the broker, exactly as `web` and
`crud_worker` subscribe, read in a thread of its own so each frame is stamped the moment `recv`
returns (not whenever some event loop gets round to it).

A plain SUB socket: when the broker is killed ZeroMQ reconnects it and re-sends the subscription by
itself, so a tap outlives broker restarts (it misses what the dead broker never forwarded, like any
other receiver). Subclasses see each frame as it arrives through `heard`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import zmq

from bus import contract as c

POLL_MS = 50


class Frame(NamedTuple):
    t_ns: int
    topic: bytes
    payload: bytes


class BusTap:
    def __init__(self, endpoint: str, topics: Iterable[bytes] = (b"",)):
        self.endpoint = endpoint
        self.topics = tuple(topics)
        self.frames: list[Frame] = []
        self._halt = threading.Event()
        self._heard = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bus-tap", daemon=True)

    @classmethod
    def of(cls, stack, topics: Iterable[bytes] = (b"",)) -> BusTap:
        return cls(f"ipc://{stack.run_dir}/events-out.sock", topics)

    def _run(self) -> None:
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 100_000)
        sub.connect(self.endpoint)
        for topic in self.topics:
            sub.subscribe(topic)
        try:
            while not self._halt.is_set():
                if sub.poll(POLL_MS):
                    topic, payload, *_ = sub.recv_multipart()
                    frame = Frame(time.monotonic_ns(), topic, payload)
                    self.frames.append(frame)
                    self._heard.set()
                    self.heard(frame)
        finally:
            ctx.destroy(linger=0)

    def heard(self, frame: Frame) -> None:
        """Called in the tap's thread for every frame; the base class only keeps them."""

    def start(self) -> BusTap:
        self._thread.start()
        return self

    def wait_live(self, timeout: float = 10) -> None:
        """Every process beats on `health.` each second: once one beat is through, the subscription
        is live (subscribe to `health.` for this)."""
        assert self._heard.wait(timeout), f"the bus tap heard nothing in {timeout}s"

    def close(self) -> None:
        self._halt.set()
        self._thread.join(5)

    def __enter__(self) -> BusTap:
        self.start()
        self.wait_live()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def mark(self) -> int:
        return len(self.frames)

    def messages(self, since: int = 0) -> Iterator[tuple[int, c.Msg]]:
        """Frames from `since` on, decoded by the contract (unknown topics are skipped)."""
        for t, topic, payload in self.frames[since:]:
            try:
                yield t, c.decode(topic, payload)
            except KeyError:  # a topic outside the contract (the ready probes, say)
                continue
