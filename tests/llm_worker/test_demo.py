import json
import re
import time

import pytest

from llm_worker.backends.base import ChatRequest, Done, Message, TextDelta, Usage
from llm_worker.backends.demo import DemoBackend, tokenize
from tests.llm_worker.helpers import chat, first_then_close, request, run, text

COMMAND = re.compile(r'\{"action".*?\}\}')


def reply(last: str, history: list[Message] = ()) -> str:
    return text(chat(DemoBackend(rate=0), ChatRequest(model="", messages=[*history, Message("user", last)])))


def commands(reply_text: str) -> list[dict]:
    return [json.loads(m) for m in COMMAND.findall(reply_text)]


@pytest.mark.parametrize("said, expected", [
    ("add milk", {"action": "insert", "target": "task", "args": {"name": "milk"}}),
    ("add buy apples", {"action": "insert", "target": "task", "args": {"name": "buy apples"}}),
    ("Add 'call mum' to my list!", {"action": "insert", "target": "task", "args": {"name": "call mum"}}),
    ("mark milk done", {"action": "toggle", "target": "task", "args": {"name": "milk"}}),
    ("tick milk", {"action": "toggle", "target": "task", "args": {"name": "milk"}}),
    ("complete milk", {"action": "toggle", "target": "task", "args": {"name": "milk"}}),
    ("mark oat milk as done.", {"action": "toggle", "target": "task", "args": {"name": "oat milk"}}),
    ("remove milk", {"action": "delete", "target": "task", "args": {"name": "milk"}}),
    ("delete milk from my list", {"action": "delete", "target": "task", "args": {"name": "milk"}}),
    ("rename milk to oat milk", {"action": "update", "target": "task", "args": {"id": "milk", "name": "oat milk"}}),
    ("what's on my list?", {"action": "list", "target": "task", "args": {}}),
    ("list", {"action": "list", "target": "task", "args": {}}),
    ("show my tasks", {"action": "list", "target": "task", "args": {}}),
    ("delete what's done", {"action": "delete", "target": "task", "args": {"tasks": "done"}}),
    ("clear the completed tasks", {"action": "delete", "target": "task", "args": {"tasks": "done"}}),
    ("mark everything as done", {"action": "update", "target": "task", "args": {"tasks": "all", "done": True}}),
    ("tick off all the tasks", {"action": "update", "target": "task", "args": {"tasks": "all", "done": True}}),
])
def test_intents_give_the_right_command(said, expected):
    assert commands(reply(said)) == [expected]


def test_list_says_it_will_look():
    assert "look" in reply("what's on my list?").lower() or "check" in reply("what's on my list?").lower()


def test_commas_add_several_tasks():
    assert [c["args"]["name"] for c in commands(reply("add milk, eggs, bread"))] == ["milk", "eggs", "bread"]


def test_commands_come_both_bare_and_fenced():
    replies = [reply(f"add task {i}") for i in range(12)]
    fenced = [r for r in replies if "```json\n{" in r]
    assert fenced and len(fenced) < len(replies)
    assert all(len(commands(r)) == 1 for r in replies)


def test_json_is_streamed_in_several_tokens():
    events = chat(DemoBackend(rate=0), request("add milk"))
    pieces = [e.text for e in events if isinstance(e, TextDelta)]
    assert not any('{"action": "insert"' in p for p in pieces)
    assert sum('"' in p for p in pieces) > 5


def test_deterministic():
    for said in ("add milk", "what's on my list?", "hello there", "[event] The user completed task 'milk'"):
        assert chat(DemoBackend(rate=0), request(said)) == chat(DemoBackend(rate=0), request(said))


def test_only_the_last_user_message_counts():
    history = [Message("user", "add milk"), Message("assistant", "Added.")]
    assert commands(reply("remove eggs", history))[0]["action"] == "delete"


def test_command_results_are_summarised_without_a_command():
    results = ("Command results:\n- Listed 3 tasks\n- list (3 tasks):\n#1 [ ] milk\n#2 [x] eggs\n#3 [ ] bread\n"
               "Answer the person using these results. Correct any refused command if you can.")
    said = reply(results)
    assert "Here's what you've got: milk, bread" in said and "eggs" in said
    assert commands(said) == [] and "{" not in said


def test_empty_results():
    said = reply("Command results:\n- list (0 tasks):")
    assert commands(said) == [] and "Nothing" in said


@pytest.mark.parametrize("event", [
    "[event] The user completed task 'milk'",
    "[event] The user added task 'buy apples'",
    "[event] The user deleted task 'eggs'",
    "[event] The user marked task 'milk' not done",
    "[event] The user renamed task 'milk' to 'oat milk'",
    "[event] The user reordered the list",
])
def test_events_get_one_short_comment_and_no_command(event):
    said = reply(event)
    assert 0 < len(said.split()) < 40
    assert commands(said) == [] and "{" not in said


def test_completed_event_mentions_the_task():
    assert "milk" in reply("[event] The user completed task 'milk'")


def test_an_agents_event_is_about_its_task_not_the_agent():
    said = reply("[event] The agent 'Claude Desktop' (an outside program, through MCP) added 'water the plants'")
    assert "water the plants" in said and "Claude Desktop" not in said


@pytest.mark.parametrize("said", ["!help", "[help] The person typed !help.", "tell me a joke", "hi"])
def test_anything_else_explains_the_demo_and_how_to_get_a_real_model(said):
    answer = reply(said)
    assert "demo model" in answer and "ollama.com" in answer and "ollama pull llama3.2" in answer
    assert commands(answer) == []


def test_tokens_rejoin_to_the_exact_text():
    sample = 'Hi there!\n\n```json\n{"action": "insert", "args": {"name": "don\u2019t panic"}}\n```  '
    assert "".join(tokenize(sample)) == sample


def test_usage_and_done_close_the_stream():
    events = chat(DemoBackend(rate=0), request("add milk"))
    assert isinstance(events[-2], Usage) and events[-2].completion_tokens == len(events) - 2
    assert events[-1] == Done("stop")


def test_rate_paces_tokens():
    started = time.monotonic()
    events = chat(DemoBackend(rate=200), request("add milk"))
    elapsed = time.monotonic() - started
    tokens = len(events) - 2
    assert elapsed >= (tokens - 1) / 200 * 0.9  # a floor proves the pacing; a ceiling would only time the machine


def test_rate_zero_is_fast():
    started = time.monotonic()
    for _ in range(20):
        chat(DemoBackend(rate=0), request("rename milk to oat milk"))
    assert time.monotonic() - started < 1.0


def test_probe_always_reachable():
    found = run(DemoBackend().probe())
    assert found.reachable and found.model == "ghostwire-demo"


def test_can_be_stopped_midway():
    assert len(run(first_then_close(DemoBackend(rate=1000), request("add milk"), n=2))) == 2


# What the crud_worker sends, as it sends it (crud_worker/handlers.py, trust.py, prompts.py): the demo must
# read each for what it is. These are the texts the model gets, not the person's lines.
def test_a_message_merged_after_an_event_is_answered():
    merged = "[event] The user added task 'eggs'\n\nadd milk"
    assert commands(reply(merged)) == [{"action": "insert", "target": "task", "args": {"name": "milk"}}]


def test_an_event_after_a_message_is_commented_on():
    assert commands(reply("add milk\n\n[event] The user completed task 'eggs'")) == []
    assert "eggs" in reply("add milk\n\n[event] The user completed task 'eggs'")


def test_an_undo_reads_as_an_undo():
    said = reply("[event] The user undid: Added 'milk'. Don't make these changes again unless they ask.")
    assert said.startswith(("Taken back", "Undone")) and "milk" in said
    assert "grows" not in said and "added" not in said.lower()
    both = reply("[event] The user undid: Added 'eggs'; Added 'flour'. Don't make these changes again unless "
                 "they ask.")
    assert "eggs" in both and "flour" in both and "added" not in both.lower()
    assert reply("[event] The user redid: Removed 'milk'").startswith(("Back again", "Redone"))


def test_a_task_named_like_an_action_is_not_read_as_one():
    said = reply("[event] The user completed task 'add more salt'")
    assert "done" in said.lower() or "ticked" in said.lower()


@pytest.mark.parametrize("line, expected, never", [
    ("the person allowed you to delete 'milk': Removed 'milk'", "You said yes, so it's done: Removed 'milk'.",
     "the person allowed"),
    ("the person denied your command to delete 'milk'; it did not run. Don't repeat it unless asked.",
     "Denied. Fine, I won't delete 'milk'.", "did not run"),
    ("nobody answered whether you may delete 'milk' within 5 minutes; it did not run",
     "Nobody answered, so I didn't delete 'milk'.", "within"),
    ('refused {"action": "delete", "target": "task", "args": {"name": "x"}}: there is no task named \'x\'',
     "That one didn't work: there is no task named 'x'.", "{"),
])
def test_a_decision_or_refusal_is_said_in_its_own_words_never_echoed(line, expected, never):
    said = reply("Command results:\n- " + line + "\nAnswer the person using these results. Correct any refused "
                 "command if you can.")
    assert expected in said and never not in said and "For the record" not in said


def test_a_poke_names_an_open_task_from_the_snapshot():
    listing = "[the list now (#id [x] = done)]\n#1 [x] laundry\n#2 [ ] call mum"
    events = chat(DemoBackend(rate=0), ChatRequest(model="", system="", messages=[
        Message("user", f"{listing}\n\nadd bread"), Message("assistant", "Added."),
        Message("user", "[event] The user poked you: give them a short nudge about their list.")]))
    assert "call mum" in text(events) and "laundry" not in text(events)


def test_a_delete_is_never_said_done_before_it_ran():
    """It may wait for Allow (ask first): the opener asks, the chip tells."""
    for said in (reply(f"delete task {i}") for i in range(8)):
        assert "never existed" not in said and "Poof" not in said


def test_a_poke_with_everything_done_says_so():
    listing = "[the list now (#id [x] = done)]\n#1 [x] laundry"
    said = text(chat(DemoBackend(rate=0), ChatRequest(model="", system="", messages=[
        Message("user", f"{listing}\n\n[event] The user poked you: give them a short nudge about their list.")])))
    assert "ticked off" in said and "empty" not in said
