"""The database's names: its tables, the columns its readers select, and the settings table's keys.

The crud_worker is the database's only writer (crud_worker/db.py makes the tables in its migrations;
its modules write them); the web reads it, read-only (web/live/store.py). Both take the names from here,
and tests/crud_worker/test_tables.py checks that a database the migrations made has every one.
"""

from __future__ import annotations

TASKS = "tasks"
MESSAGES = "messages"
CONVERSATIONS = "conversations"
ATTEMPTS = "attempts"
COMMANDS = "commands"
CHANGES = "changes"  # the change log
APPROVALS = "approvals"
SETTINGS = "settings"  # key → value: the keys below
TABLES = (TASKS, MESSAGES, CONVERSATIONS, ATTEMPTS, COMMANDS, CHANGES, APPROVALS, SETTINGS)

# The columns a reader selects, in the order its row type takes them.
TASK_COLUMNS = "id, name, done, priority"  # bus.contract.TaskRow.from_row
MESSAGE_COLUMNS = "id, role, kind, content, status, model, error, created_at, stats, shown"  # web.live.store._message
CONVERSATION_COLUMNS = "id, title, created_at, updated_at"  # web.live.store.StoredConversation
ATTEMPT_COLUMNS = "id, grp, n, chosen"
RESULT_COLUMNS = "id, ok, result, state, action"  # a command's result, as its chip shows it
CHANGE_COLUMNS = "seq, at, op, kind, actor, route, reply_id, undone_by, what, agent"  # web.live.store.StoredChange

# Settings keys. MODEL and ASK are also the `key` of `settings.changed` when they change.
MODEL = "model"  # the chat model the person chose ("" = the worker's own default)
ASK = "ask"  # the ask-first policies in force, JSON action → policy (the crud_worker writes, the web shows)
ASK_CHOSEN = "ask.chosen"  # the person's choices from the page, JSON {"delete": "ask"}
CHANGES_KEEP = "changes_keep"  # GHOSTWIRE_CHANGES_KEEP, written at start
TASK_ID_SEQ = "task_id_seq"  # task ids are never reused: the counter
CHANGE_SEQ = "change_seq"  # the change log's counter (task.changed's change_seq)
LAST_START = "last_start"  # the crud_worker's last start (its proof that writes work)

# Which columns of which table each reader's list names (checked against the migrations).
READ: dict[str, str] = {TASKS: TASK_COLUMNS, MESSAGES: MESSAGE_COLUMNS, CONVERSATIONS: CONVERSATION_COLUMNS,
                        ATTEMPTS: ATTEMPT_COLUMNS, COMMANDS: RESULT_COLUMNS + ", msg_id", CHANGES: CHANGE_COLUMNS,
                        SETTINGS: "key, value"}
