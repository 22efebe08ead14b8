"""The page's share of the conversation is bounded by count and by bytes, and says when it leaves some out."""

from __future__ import annotations

import pytest

from web.live.store import Store


@pytest.fixture
def store(tmp_path):
    from crud_worker import db as crud_db  # the schema as the one writer makes it

    path = tmp_path / "ghostwire.db"
    db = crud_db.connect(path)
    yield db, Store(path)
    db.conn.close()


def add(db, n: int, size: int, prefix: str = "m", day: str = "01") -> None:
    for i in range(n):
        db["messages"].insert({"id": f"{prefix}{i:05d}", "conversation_id": "default", "role": "assistant",
                               "kind": "chat", "content": "é" * (size // 2), "status": "done",
                               "created_at": f"2026-01-{day}T00:{i // 60:02d}:{i % 60:02d}.{i:06d}"})


def test_a_page_is_bounded_by_count(store):
    db, s = store
    add(db, 150, 10)
    page = s.messages(limit=100)
    assert len(page.messages) == 100 and page.older
    assert page.messages[-1].id == "m00149" and page.messages[0].id == "m00050", "the newest, oldest first"


def test_a_page_is_bounded_by_bytes_but_always_holds_the_newest(store):
    db, s = store
    add(db, 30, 10_000)  # 10,000 UTF-8 bytes each (5,000 two-byte characters)
    page = s.messages(limit=100, max_bytes=55_000)
    assert [m.id for m in page.messages] == [f"m{i:05d}" for i in range(25, 30)] and page.older
    add(db, 1, 200_000, prefix="z", day="02")  # newer, and alone over the bound
    page = s.messages(limit=100, max_bytes=55_000)
    assert [m.id for m in page.messages] == ["z00000"] and page.older


def test_a_short_conversation_is_whole(store):
    db, s = store
    add(db, 3, 10)
    page = s.messages()
    assert len(page.messages) == 3 and not page.older
