"""The crud_worker in-process: its real parts (Handlers, Attempts, Trust, Replies, the Commentator) on an
in-memory database made by the real migrations, with a bus and a job queue that record what they are
given. For what happens inside the crud_worker; what crosses processes is tested on the real stack."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlite_utils import Database

from bus import contract as c
from crud_worker import db as store
from crud_worker.attempts import Attempts
from crud_worker.comments import Commentator
from crud_worker.handlers import Handlers
from crud_worker.replies import Replies
from crud_worker.settings import CrudSettings
from crud_worker.trust import Trust


@dataclass
class RecordingBus:
    """All the crud_worker asks of a bus is `publish`: here it keeps what it was given, in order."""

    sent: list[c.Msg] = field(default_factory=list)

    async def publish(self, msg: c.Msg) -> None:
        self.sent.append(msg)

    def of(self, kind: type) -> list:
        return [m for m in self.sent if isinstance(m, kind)]

    def answer(self, req_id: str) -> c.CrudReply:
        """The one answer to request `req_id` (fails if there is none, or more than one)."""
        [reply] = [m for m in self.of(c.CrudReply) if m.req_id == req_id]
        return reply


@dataclass
class RecordingJobs:
    jobs: list[c.LlmJob] = field(default_factory=list)

    async def send(self, job: c.LlmJob) -> None:
        self.jobs.append(job)


def memory_db() -> Database:
    db = Database(sqlite3.connect(":memory:", isolation_level=None))
    store.migrations.apply(db)
    return db


@dataclass
class Rig:
    db: Database
    bus: RecordingBus
    jobs: RecordingJobs
    replies: Replies
    comments: Commentator
    attempts: Attempts
    handlers: Handlers
    trust: Trust

    async def stream(self, reply_id: str, *chunks: str) -> None:
        """A worker's whole reply as the bus would carry it: start, one delta a chunk, done."""
        await self.replies.on_start(c.LlmStart(msg_id=reply_id, seq=0, worker="w1", backend="fake", model="m"))
        for n, text in enumerate(chunks, start=1):
            await self.replies.on_delta(c.LlmDelta(msg_id=reply_id, seq=n, text=text))
        await self.replies.on_done(c.LlmDone(msg_id=reply_id, seq=len(chunks) + 1, text="".join(chunks),
                                             status="done", model="m"))

    def tasks(self) -> list[tuple[int, str, bool]]:
        return [(r[0], r[1], bool(r[2])) for r in self.db.execute("SELECT id, name, done FROM tasks ORDER BY id")]


def rig(**settings) -> Rig:
    db, bus, jobs = memory_db(), RecordingBus(), RecordingJobs()
    cfg = CrudSettings(**settings)
    replies = Replies(db, bus, jobs, cfg)  # type: ignore[arg-type]: a bus is what it publishes on
    comments = Commentator(replies)
    attempts = Attempts(db, bus, replies, comments)  # type: ignore[arg-type]
    handlers = Handlers(db, bus, replies, comments, attempts, cfg.ask_timeout)  # type: ignore[arg-type]
    trust = Trust(db, bus, replies, comments, cfg)  # type: ignore[arg-type]
    trust.prepare()
    return Rig(db, bus, jobs, replies, comments, attempts, handlers, trust)
