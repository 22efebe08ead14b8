"""The prompt only grows at its end: each job's messages start with the previous job's, whatever the
person clicked, so a model server's prompt cache reads only what is new; the list goes beside the
newest message, only when it changed; history is trimmed in blocks, not a message a turn.

Driven through crud_worker's own functions on a real SQLite file (the same calls Replies makes)."""

from __future__ import annotations

import random

from bus.contract import ExportedTask
from crud_worker import context, conversation, db as store, prompts, tasks
from crud_worker.changelog import Actor

PERSON = Actor(kind="person", route="test")


class Talk:
    """A conversation driven step by step; every job it builds is kept in `jobs`."""

    def __init__(self, tmp_path, num_ctx: int = 8192):
        self.db = store.connect(tmp_path / "g.db")
        self.num_ctx, self.n, self.jobs = num_ctx, 0, []

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:05}"

    def store(self, role: str, kind: str, content: str, status: str = "done") -> str:
        msg_id = self._id(role[0])
        with store.write(self.db):
            conversation.store(self.db, msg_id=msg_id, role=role, kind=kind, content=content, status=status,
                               created_at=f"2026-01-01T00:00:00.{self.n:06}")
        return msg_id

    def job(self, kind: str = "chat", extra: str = ""):
        prepared = context.prepare(self.db, reply_id=self._id("j"), kind=kind, num_ctx=self.num_ctx, extra=extra)
        with store.write(self.db):
            context.remember(self.db, prepared)
        self.jobs.append(prepared.job)
        return prepared.job

    def chat(self, text: str, reply: str = "Sure.") -> None:
        self.store("user", "chat", text)
        self.job()
        self.store("assistant", "chat", reply)

    def click(self, what: str = "add") -> None:
        with store.write(self.db):
            if what == "add" or not tasks.all_tasks(self.db):
                tasks.add(self.db, f"task {self.n}", by=PERSON)
            elif what == "toggle":
                tasks.toggle(self.db, tasks.all_tasks(self.db)[0].id, by=PERSON)
            else:
                tasks.delete(self.db, tasks.all_tasks(self.db)[-1].id, by=PERSON)
        self.store("user", "event", f"The person did {what}.")


def starts_with(job, before) -> bool:
    return job.messages[:len(before.messages)] == before.messages


def dropped(before, after) -> int | None:
    """How many of `before`'s first messages `after` left out, the rest unchanged and first (None: `after`
    changed something else)."""
    old, new = before.messages, after.messages
    return next((d for d in range(len(old) + 1) if new[:len(old) - d] == old[d:]), None)


def test_after_a_click_the_next_turn_starts_with_the_last_and_carries_the_list(tmp_path):
    talk = Talk(tmp_path)
    talk.chat("hello")
    first = talk.jobs[-1]
    assert "[the list now" not in first.system, "the list is not in the stable part"
    assert first.messages[-1].content.startswith(prompts.list_note([])), "the first turn shows the list"
    talk.click("add")
    comment = talk.job("comment")
    assert starts_with(comment, first)
    assert "task " in comment.messages[-1].content and "[event]" in comment.messages[-1].content
    talk.store("assistant", "comment", "Nice one.")
    talk.chat("what now?")
    after = talk.jobs[-1]
    assert starts_with(after, comment) and after.system == first.system
    assert "[the list now" not in after.messages[-1].content, "unchanged since the comment saw it: not sent again"


def test_any_mix_of_clicks_imports_agents_comments_and_followups_keeps_the_prefix(tmp_path):
    talk, rng = Talk(tmp_path, num_ctx=32768), random.Random(23)
    talk.chat("hello")
    for step in range(90):
        move = rng.choice(["chat", "click", "click", "import", "agent", "comment", "cancelled", "followup", "help"])
        if move == "chat":
            talk.chat(f"message {step}")
        elif move == "click":
            talk.click(rng.choice(["add", "toggle", "delete"]))
        elif move == "import":
            with store.write(talk.db):
                tasks.import_all(talk.db, [ExportedTask(name=f"imported {step}.{k}") for k in range(3)], by=PERSON)
            talk.store("user", "event", "The person imported 3 tasks.")
        elif move == "agent":
            with store.write(talk.db):
                tasks.add(talk.db, f"agent task {step}", by=Actor(kind="agent", agent="bot"))
            talk.store("user", "agent", "The agent 'bot' added a task.")
        elif move in ("comment", "cancelled"):
            talk.click("toggle")
            talk.job("comment")
            if move == "comment":
                talk.store("assistant", "comment", "Ticked, finally.")
            else:  # the person talked over it: cancelled half-way, left out of every later prompt
                talk.store("assistant", "comment", "Tick", status="cancelled")
        elif move == "followup":
            talk.store("user", "chat", f"add something {step}")
            talk.job()
            with store.write(talk.db):
                tasks.add(talk.db, f"model task {step}", by=Actor(kind="model", reply_id="x"))
            talk.store("assistant", "chat", '{"action": "insert", "target": "task", "args": {"name": "x"}}')
            talk.store("user", "result", prompts.results_message(["Added 'x'"]))
            talk.job("followup")
            talk.store("assistant", "followup", "Added it.")
        else:
            talk.store("user", "chat", "!help")
            talk.job("help", extra=prompts.help_request())
            talk.store("assistant", "help", "I keep your list.")
    jobs = talk.jobs
    assert len(jobs) > 50
    for n, (before, after) in enumerate(zip(jobs, jobs[1:])):
        cut = dropped(before, after)
        assert cut == 0 or (cut or 0) >= context.HISTORY_LIMIT // 4, (n, cut, before.messages[-1], after.messages)
    assert sum(starts_with(after, before) for before, after in zip(jobs, jobs[1:])) >= len(jobs) * 0.8
    listed = [j for j in jobs if "[the list now" in j.messages[-1].content]
    assert 0 < len(listed) < len(jobs), "the list goes with a message only when it changed"


def test_history_is_trimmed_in_blocks(tmp_path):
    talk = Talk(tmp_path, num_ctx=2048)
    for n in range(120):
        talk.chat(f"question {n} " + "x" * 120, reply=f"answer {n} " + "y" * 60)
    jobs = talk.jobs
    breaks = [i for i in range(1, len(jobs)) if not starts_with(jobs[i], jobs[i - 1])]
    assert 0 < len(breaks) <= len(jobs) // 5, f"trimmed at {breaks}: not a block at a time"
    for i in breaks:
        cut = dropped(jobs[i - 1], jobs[i])
        assert cut is not None and cut >= 10, f"turn {i} dropped {cut} messages"
    budget = int(2048 * (1 - context.REPLY_RESERVE) * context.CHARS_PER_TOKEN)
    for job in jobs:
        assert len(job.system) + sum(len(m.content) for m in job.messages) <= budget
        assert job.messages[0].role == "user" and len(job.messages) <= context.HISTORY_LIMIT
    assert "question 119" in jobs[-1].messages[-1].content and "question 0 " not in jobs[-1].messages[0].content


def test_a_retry_sends_the_list_as_it_is_after_the_undo(tmp_path):
    talk = Talk(tmp_path)
    talk.click("add")
    talk.store("user", "chat", "tick it")
    first = talk.job()
    with store.write(talk.db):
        tasks.add(talk.db, "later", by=PERSON)
    again = talk.job()  # the same newest message, the list changed meanwhile
    assert "later" in again.messages[-1].content and "later" not in first.messages[-1].content


def test_window_start_moves_only_in_blocks():
    sizes, users = [100] * 50, [i % 2 == 0 for i in range(50)]
    starts = [context.window_start(sizes[:n], users[:n], budget=1000, limit=40) for n in range(1, 51)]
    assert starts == sorted(starts), "the start never moves back"
    assert len(set(starts)) <= 10 and all(users[s] for s in starts)
    for n, s in zip(range(1, 51), starts):
        assert sum(sizes[s:n]) <= 1000


def test_a_long_conversation_is_read_from_a_point_that_moves_in_steps(tmp_path, monkeypatch):
    monkeypatch.setattr(context, "REPLAY_ROWS", 60)
    monkeypatch.setattr(context, "REPLAY_STEP", 30)
    talk = Talk(tmp_path, num_ctx=32768)
    for n in range(80):
        talk.chat(f"message {n}")
    jobs = talk.jobs
    breaks = [i for i in range(1, len(jobs)) if not starts_with(jobs[i], jobs[i - 1])]
    assert breaks and len(breaks) <= len(jobs) // 5, breaks
    assert all(len(j.messages) <= context.HISTORY_LIMIT for j in jobs)
