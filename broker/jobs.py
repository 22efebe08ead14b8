"""The job queue: each chat job goes to exactly one llm_worker that has a free slot.

Workers connect a DEALER to our ROUTER and hand us credits (`READY n`); jobs wait here
until some worker has one. A worker that stops beating is forgotten, and ROUTER_MANDATORY
makes a send to a vanished worker fail loudly instead of dropping the job.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

import zmq

from bus.client import HEARTBEAT_S, JOB, READY

log = logging.getLogger(__name__)
WORKER_TIMEOUT_S = 3 * HEARTBEAT_S


@dataclass
class Worker:
    credits: int
    last_seen: float


class JobQueue:
    def __init__(self, inbox: zmq.Socket, workers_sock: zmq.Socket):
        self.inbox = inbox
        self.router = workers_sock
        self.pending: deque[bytes] = deque()
        self.workers: dict[bytes, Worker] = {}
        self.dispatched = 0

    def on_inbox(self) -> None:
        while True:
            try:
                self.pending.append(self.inbox.recv(zmq.NOBLOCK))
            except zmq.Again:
                break
        self.dispatch()

    def on_worker(self) -> None:
        while True:
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            ident, kind, *rest = frames
            count = int(rest[0]) if rest and rest[0].isdigit() else 0
            worker = self.workers.get(ident)
            if worker is None:
                log.info("llm worker %s joined with %d free slots", ident.decode(errors="replace"), count)
                self.workers[ident] = Worker(credits=count, last_seen=time.monotonic())
            else:
                worker.last_seen = time.monotonic()
                if kind == READY:
                    worker.credits += count
        self.dispatch()

    def expire(self) -> None:
        cutoff = time.monotonic() - WORKER_TIMEOUT_S
        for ident in [i for i, w in self.workers.items() if w.last_seen < cutoff]:
            log.warning("llm worker %s stopped beating; forgetting it", ident.decode(errors="replace"))
            del self.workers[ident]

    def dispatch(self) -> None:
        while self.pending:
            ident = self._least_busy()
            if ident is None:
                return
            try:
                self.router.send_multipart([ident, JOB, self.pending[0]], zmq.NOBLOCK)
            except zmq.ZMQError as err:
                if err.errno not in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                    raise
                log.warning("llm worker %s is gone; job stays queued", ident.decode(errors="replace"))
                del self.workers[ident]
                continue
            self.pending.popleft()
            self.workers[ident].credits -= 1
            self.dispatched += 1

    def _least_busy(self) -> bytes | None:
        ready = [(w.credits, i) for i, w in self.workers.items() if w.credits > 0]
        return max(ready)[1] if ready else None

    def stats(self) -> dict[str, int]:
        return {
            "workers": len(self.workers),
            "free_slots": sum(w.credits for w in self.workers.values()),
            "queued": len(self.pending),
            "dispatched": self.dispatched,
        }
