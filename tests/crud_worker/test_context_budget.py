"""The prompt fits the context window: oldest history is dropped first, never the system prompt."""

from __future__ import annotations

from crud_worker import context, conversation, db as store


def test_history_is_trimmed_oldest_first_and_the_system_prompt_stays(tmp_path):
    db = store.connect(tmp_path / "g.db")
    with store.write(db):
        for n in range(30):
            conversation.store(db, msg_id=f"u{n:02}", role="user", kind="chat", content=f"question {n} " + "x" * 400,
                               created_at=f"2026-01-01T00:00:{n:02}")
            conversation.store(db, msg_id=f"a{n:02}", role="assistant", kind="chat", content=f"answer {n}",
                               created_at=f"2026-01-01T00:00:{n:02}.5")
    small = context.build_job(db, reply_id="r", kind="chat", num_ctx=2048)
    large = context.build_job(db, reply_id="r", kind="chat", num_ctx=32768)
    assert small.system.startswith("You are Ghostwire") and small.system == large.system
    assert small.num_ctx == 2048
    assert "question 29" in small.messages[-3].content, "the newest kept (then its answer, then the list)"
    assert len(small.messages) < len(large.messages)
    assert small.messages[0].role == "user", "history never starts with an orphaned assistant turn"
    budget = int(2048 * (1 - context.REPLY_RESERVE) * context.CHARS_PER_TOKEN)
    assert len(small.system) + sum(len(m.content) for m in small.messages) <= budget + 450
    kept = " ".join(m.content for m in small.messages)
    assert "question 0 " not in kept, "the oldest go first"
    roles = [m.role for m in large.messages]
    assert all(a != b for a, b in zip(roles, roles[1:])), "roles alternate (no reply was left out here)"
