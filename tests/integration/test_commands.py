"""The ghost acts: commands embedded in a streamed reply run once each, live, in every tab."""

from __future__ import annotations

import html
import re

from bus import contract as c
from crud_worker.executor import MAX_COMMANDS_PER_REPLY
from tests.buspeer import publish
from tests.fakes import Script
from tests.util import SseReader, wait_for

# A chip's result as the stream sends it (FastHTML writes hx-swap-oob first, then id, then class).
CHIP_OK = r'hx-swap-oob="true" id="chip-[^"]+" class="chip ok"'
CHIP_FAILED = r'hx-swap-oob="true" id="chip-[^"]+" class="chip failed"'


def chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def task_names(stack) -> list[str]:
    return [name for _, name, _, _ in stack.tasks()]


def stream_text(sse: SseReader, reply: str) -> str:
    """The text a tab saw streaming into the bubble (chips and markup stripped)."""
    raw = "".join(e.data for e in sse.matching(f"beforeend:#body-{reply}"))
    return html.unescape(re.sub(r"<span id=\"chip-[^<]*</span>|<[^>]+>", "", raw))


def test_commands_split_across_chunks_run_as_they_close(stack, fake_ollama):
    reply_text = ('Sure! {"action": "insert", "target": "task", "args": {"name": "Buy {curly} \\"apples\\""}}\n'
                  "Use {braces} in prose freely.\n```json\n"
                  '{"operation": "insert", "target": "todo", "args": {"name": "Ölmühle 🍎"}}\n```\n'
                  '{"action": "insert", "target": "task", "args": {"name": "third"}} done.')
    fake_ollama.enqueue(Script(tokens=chunks(reply_text, 3), delay=0.005))
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("add three things")
        stack.wait_message(reply)
        wait_for(lambda: len(sse.matching(CHIP_OK)) >= 3, what="three chip results")
        wait_for(lambda: sse.matching(f'msg-{reply}" class="msg assistant chat done'), what="final bubble")
    assert {'Buy {curly} "apples"', "Ölmühle 🍎", "third"} <= set(task_names(stack))
    shown = stream_text(sse, reply)
    assert '"action"' not in shown and '"operation"' not in shown and "```" not in shown
    assert "{braces}" in shown, "braces in prose stay prose"
    assert len(sse.matching(r'beforeend:#task-list')) == 3
    with stack.db() as db:
        rows = db.execute("SELECT id, ok FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()
    assert rows == [(f"{reply}:0", 1), (f"{reply}:1", 1), (f"{reply}:2", 1)]


def test_bad_commands_are_refused_visibly_and_fed_back(stack, fake_ollama):
    bad = ('{"action": "fly", "target": "task", "args": {}} '
           '{"action": "insert", "target": "task", "args": {"name": ""}} '
           '{"action": "delete", "target": "task", "args": {"id": 99999}} '
           '{"action": "insert", "target": "task", "args": {"name": "' + "x" * 501 + '"}}')
    fake_ollama.enqueue(Script(tokens=chunks(bad, 7)))
    fake_ollama.enqueue(Script(tokens=["Sorry, ", "my mistake."]))
    before = len(stack.tasks())
    sent = len(fake_ollama.requests)
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("do something impossible")
        wait_for(lambda: stack.message(reply + "-f"), what="the follow-up reply")
        # The chips travel crud_worker → bus → web → SSE, apart from the follow-up's storing.
        failed = wait_for(lambda: len(sse.matching(CHIP_FAILED)) >= 4 and
                          sse.matching(CHIP_FAILED), what="four refusal chips")
    assert len(failed) == 4
    reasons = " ".join(e.data for e in failed)
    assert "fly" in reasons and "empty" in reasons and "99999" in reasons and "500" in reasons
    assert len(stack.tasks()) == before
    followup = fake_ollama.requests[sent + 1]["messages"][-1]["content"]
    assert followup.startswith("Command results:") and "99999" in followup


def test_list_results_go_back_to_the_model_at_most_twice(stack, fake_ollama):
    listing = '{"action": "list", "target": "task", "args": {}}'
    for _ in range(3):
        fake_ollama.enqueue(Script(tokens=["Let me look. ", listing]))
    sent = len(fake_ollama.requests)
    reply = stack.chat("what's on my list?")
    second = wait_for(lambda: stack.message(reply + "-f-f"), what="the second follow-up")
    assert second[1] == "done"
    assert stack.message(reply + "-f-f-f") is None
    assert "third" in fake_ollama.requests[sent + 1]["messages"][-1]["content"]
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) == sent + 3, timeout=5)


def test_replayed_deltas_and_done_execute_nothing_twice(stack):
    msg_id = "areplay0000000001"
    text = 'Adding. {"action": "insert", "target": "task", "args": {"name": "replayed once"}} ok'
    parts = chunks(text, 9)
    stream = [c.LlmStart(msg_id=msg_id, seq=0, worker="test", backend="test", model="test")]
    stream += [c.LlmDelta(msg_id=msg_id, seq=i + 1, text=p) for i, p in enumerate(parts)]
    stream.append(c.LlmDone(msg_id=msg_id, seq=len(parts) + 1, text=text, status="done"))
    publish(stack, stream + stream)
    stack.wait_message(msg_id)
    publish(stack, stream)
    publish(stack, [c.LlmDone(msg_id=msg_id, seq=99, text=text, status="done")])
    wait_for(lambda: "replayed once" in task_names(stack), what="the task")
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM commands WHERE msg_id = ?", [msg_id]).fetchone() == (1,)
    assert task_names(stack).count("replayed once") == 1


def test_a_gap_in_the_deltas_heals_from_the_full_text_at_done(stack):
    msg_id = "agap0000000000001"
    text = ('one {"action": "insert", "target": "task", "args": {"name": "gap first"}} two '
            '{"action": "insert", "target": "task", "args": {"name": "gap second"}} three')
    parts = chunks(text, 11)
    stream = [c.LlmStart(msg_id=msg_id, seq=0, worker="test", backend="test", model="test")]
    stream += [c.LlmDelta(msg_id=msg_id, seq=i + 1, text=p) for i, p in enumerate(parts) if i != 4]
    stream.append(c.LlmDone(msg_id=msg_id, seq=len(parts) + 1, text=text, status="done"))
    publish(stack, stream)
    wait_for(lambda: {"gap first", "gap second"} <= set(task_names(stack)), what="both tasks")
    publish(stack, stream)
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM commands WHERE msg_id = ?", [msg_id]).fetchone() == (2,)
    assert task_names(stack).count("gap first") == 1 and task_names(stack).count("gap second") == 1


def test_a_command_cut_off_by_stop_is_refused_not_guessed(stack):
    msg_id = "acut00000000000001"
    text = 'Deleting {"action": "delete", "target": "task", "args": {"id": 1'
    publish(stack, [c.LlmStart(msg_id=msg_id, seq=0, worker="test", backend="test", model="test"),
                    c.LlmDelta(msg_id=msg_id, seq=1, text=text),
                    c.LlmDone(msg_id=msg_id, seq=2, text=text, status="cancelled")])
    stack.wait_message(msg_id)
    with stack.db() as db:
        ok, result = wait_for(lambda: db.execute("SELECT ok, result FROM commands WHERE msg_id = ?",
                                                 [msg_id]).fetchone(), what="the refusal")
    assert ok == 0 and "stopped" in result


ITEM = re.compile(r'id="task-(\d+)"')


def test_the_persons_clicks_reach_every_tab_once(stack):
    with SseReader(stack.url, tab="a") as a, SseReader(stack.url, tab="b") as b:
        assert stack.http.post("/tasks", data={"name": "  walk   the dog "}).status_code == 200
        inserted = wait_for(lambda: a.matching("walk the dog"), what="insert event")
        task_id = int(ITEM.search(inserted[0].data).group(1))
        assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
        assert stack.http.put(f"/tasks/{task_id}", data={"name": "walk the cat"}).status_code == 200
        ids = [t[0] for t in stack.tasks()]
        new_order = [task_id] + [i for i in ids if i != task_id]
        assert stack.http.post("/tasks/order", data={"ids": [str(i) for i in new_order]}).status_code == 200
        assert stack.http.delete(f"/tasks/{task_id}").status_code == 200
        wait_for(lambda: b.matching(f'id="task-{task_id}"[^>]*hx-swap-oob="delete"|hx-swap-oob="delete"[^>]*id="task-{task_id}"'),
                 what="delete event in tab b")
    for tab in (a, b):
        mentions = [e for e in tab.snapshot() if f'id="task-{task_id}"' in e.data]
        assert [("beforeend:#task-list" in e.data) for e in mentions].count(True) == 1, "inserted exactly once"
        assert sum("walk the cat" in e.data for e in mentions) >= 1
    assert task_id not in [t[0] for t in stack.tasks()]


def test_bad_clicks_get_clear_errors(stack):
    for data in ({"name": ""}, {"name": "   "}, {"name": "n" * 501}):
        r = stack.http.post("/tasks", data=data)
        assert r.status_code == 422 and "Couldn't do that" in r.text
    assert "no task #424242" in stack.http.post("/tasks/424242/toggle").text
    assert stack.http.post("/tasks/order", data={"ids": ["x"]}).status_code == 422


def test_a_burst_of_clicks_gets_one_comment_that_sees_them_all(stack, fake_ollama):
    stack.http.post("/tasks", data={"name": "burst target"})
    task_id = wait_for(lambda: [t[0] for t in stack.tasks() if t[1] == "burst target"], what="task")[0]
    sent = len(fake_ollama.requests)
    for _ in range(3):
        assert stack.http.post(f"/tasks/{task_id}/toggle").status_code == 200
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) > sent, timeout=10)
    with stack.db() as db:
        wait_for(lambda: db.execute("SELECT status FROM messages WHERE kind = 'comment' ORDER BY created_at DESC"
                                    " LIMIT 1").fetchone() == ("done",), what="the comment stored")
    comments = [r for r in fake_ollama.requests[sent:] if "[event]" in r["messages"][-1]["content"]]
    assert len(comments) == 1
    last = comments[0]["messages"][-1]["content"]
    assert last.count("burst target") >= 3, "the comment sees every click of the burst"


def test_bang_test_sends_an_alert_down_the_whole_path(stack):
    with SseReader(stack.url, tab="x") as sse:
        assert stack.http.post("/chat", data={"msg": "!test"}).status_code == 200
        wait_for(lambda: sse.matching('role="alert" class="toast">Self-test'), what="the self-test alert")


def test_bang_help_shows_a_card_and_reteaches_the_model(stack, fake_ollama):
    sent = len(fake_ollama.requests)
    with SseReader(stack.url) as sse:
        assert stack.http.post("/chat", data={"msg": "!help"}).status_code == 200
        wait_for(lambda: sse.matching("Ghostwire help"), what="the help card in a tab")
    fake_ollama.wait_for(lambda: len(fake_ollama.requests) > sent, timeout=5)
    assert '"action": "insert"' in fake_ollama.requests[sent]["messages"][-1]["content"]


def test_thousands_of_commands_in_one_reply_run_up_to_the_cap_and_the_rest_are_refused(stack, fake_ollama):
    n = 2_000
    text = "Here you go: " + " ".join(
        f'{{"action": "insert", "target": "task", "args": {{"name": "bulk {i}"}}}}' for i in range(n))
    fake_ollama.enqueue(Script(tokens=chunks(text, 64)))
    fake_ollama.enqueue(Script(tokens=["That ", "was ", "a lot."]))
    sent = len(fake_ollama.requests)
    reply = stack.chat("add two thousand things")
    assert stack.wait_message(reply, timeout=60)[1] == "done"
    wait_for(lambda: stack.message(reply + "-f"), 30, what="the follow-up reply")
    with stack.db() as db:
        made = db.execute("SELECT count(*) FROM tasks WHERE name LIKE 'bulk %'").fetchone()[0]
        refused = db.execute("SELECT count(*) FROM commands WHERE msg_id = ? AND ok = 0 AND result LIKE "
                             "'%too many commands%'", [reply]).fetchone()[0]
    assert (made, refused) == (MAX_COMMANDS_PER_REPLY, n - MAX_COMMANDS_PER_REPLY)
    page = stack.http.get("/").text
    refused_chips = re.findall(r'class="chip failed"[^>]*>(✗ couldn\'t apply: too many commands[^<]*)', page)
    assert refused_chips == [f"✗ couldn't apply: too many commands in one reply (the limit is "
                             f"{MAX_COMMANDS_PER_REPLY}) (×{n - MAX_COMMANDS_PER_REPLY:,})"], "one chip says it for all"
    followup = fake_ollama.requests[sent + 1]["messages"][-1]["content"]
    assert len(followup) < 10_000 and f"{n - MAX_COMMANDS_PER_REPLY - 20} more" in followup


# formats real models write, through the four processes

def test_a_command_inside_think_tags_is_thinking_and_never_runs(stack, fake_ollama):
    thought = 'Maybe {"action": "insert", "target": "task", "args": {"name": "only a thought"}}? No.'
    fake_ollama.enqueue(Script(tokens=chunks(f"<think>{thought}</think>Nothing to add.", 5)))
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("think about it")
        # stored means done: the crud_worker runs a reply's commands before it stores the reply
        assert stack.wait_message(reply)[1] == "done"
        wait_for(lambda: sse.matching(f'msg-{reply}" class="msg assistant chat done'), what="final bubble")
    with stack.db() as db:
        assert db.execute("SELECT count(*) FROM commands WHERE msg_id = ?", [reply]).fetchone() == (0,)
    assert "only a thought" not in task_names(stack)
    appended = re.findall(rf'<span hx-swap-oob="beforeend:#(body|think)-{reply}">([^<]*)</span>', sse.text())
    assert html.unescape("".join(t for where, t in appended if where == "body")) == "Nothing to add."
    thinking = html.unescape("".join(e.data for e in sse.matching(f"think-{reply}")))
    assert "only a thought" in thinking, "the reasoning shows in the thinking box"
    page = stack.http.get("/").text
    assert f'id="thinkbox-{reply}"' in page and "only a thought" in html.unescape(page), "and again after a reload"


def test_a_hermes_tool_call_runs(stack, fake_ollama):
    text = ('On it.\n<tool_call>\n{"name": "insert_task", "arguments": {"name": "hermes task"}}\n</tool_call>\n'
            "Added.")
    fake_ollama.enqueue(Script(tokens=chunks(text, 4)))
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("add hermes task")
        wait_for(lambda: sse.matching(CHIP_OK), what="the chip result")
        stack.wait_message(reply)
    assert "hermes task" in task_names(stack)
    shown = stream_text(sse, reply)
    assert "tool_call" not in shown and "insert_task" not in shown and "On it." in shown
    with stack.db() as db:
        assert db.execute("SELECT id, ok FROM commands WHERE msg_id = ?", [reply]).fetchall() == [(f"{reply}:0", 1)]


def test_pythonic_calls_run_each_with_its_own_chip(stack, fake_ollama):
    fake_ollama.enqueue(Script(tokens=chunks('[insert_task(name="py one"), insert_task(name="py two")]', 6)))
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("add two, Llama style")
        wait_for(lambda: len(sse.matching(CHIP_OK)) >= 2, what="two chip results")
        stack.wait_message(reply)
    assert {"py one", "py two"} <= set(task_names(stack))
    with stack.db() as db:
        rows = db.execute("SELECT id, ok FROM commands WHERE msg_id = ? ORDER BY id", [reply]).fetchall()
    assert rows == [(f"{reply}:0", 1), (f"{reply}:0.1", 1)]
    page = stack.http.get("/").text
    assert page.count(f'id="chip-{reply}-0') == 2, "the final bubble shows both chips"


def test_an_unclosed_command_is_refused_with_a_visible_chip_never_repaired(stack, fake_ollama):
    text = '{"action": "insert", "target": "task", "args": {"name": "half\n\nAnd then some prose.'
    fake_ollama.enqueue(Script(tokens=chunks(text, 5)))
    fake_ollama.enqueue(Script(tokens=["Oops, ", "let me fix that."]))
    with SseReader(stack.url, tab="watcher") as sse:
        reply = stack.chat("add half")
        failed = wait_for(lambda: sse.matching(CHIP_FAILED), what="the refusal chip")
        wait_for(lambda: stack.message(reply + "-f"), what="the follow-up reply")
    assert "incomplete" in html.unescape(failed[0].data)
    assert not any(name.startswith("half") for name in task_names(stack))
    with stack.db() as db:
        assert db.execute("SELECT ok FROM commands WHERE msg_id = ?", [reply]).fetchall() == [(0,)]
    assert "And then some prose." in stream_text(sse, reply)


def test_a_refusal_the_model_repeats_in_its_follow_up_ends_there(stack, fake_ollama):
    """Small models answer "that was refused" by writing the same command again: one follow-up, not two."""
    bad = '{"action": "delete", "target": "task", "args": {"id": 77777}}'
    for _ in range(2):
        fake_ollama.enqueue(Script(tokens=["Deleting. ", bad]))
    fake_ollama.enqueue(Script(tokens=["probe answered"]))
    sent = len(fake_ollama.requests)
    with SseReader(stack.url, tab="repeat") as sse:
        reply = stack.chat("delete task 77777")
        wait_for(lambda: stack.message(reply + "-f"), what="the follow-up")
        # The crud_worker decides on a further follow-up before it reads the next message, and jobs
        # reach the model in order: once a later message is answered, a second follow-up would be in.
        probe = stack.chat("probe after the follow-up")
        stack.wait_message(probe)
        assert stack.message(reply + "-f-f") is None, "a repeated refusal was fed back a second time"
        chips = wait_for(lambda: len(sse.matching(CHIP_FAILED)) >= 2 and sse.matching(CHIP_FAILED), what="chips")
    assert len(fake_ollama.requests) == sent + 3 and len(chips) == 2
    assert fake_ollama.requests[-1]["messages"][-1]["content"].endswith("probe after the follow-up")
