"""Which messages are questions that ask for no change, or small talk (crud_worker/questions.py): a reply to
one only suggests its commands."""

import pytest

from crud_worker.questions import asks_no_change


@pytest.mark.parametrize("text", [
    "what's on my list?", "how many tasks are done?", "which task should I do first?", "is 'buy bread' done?",
    "¿qué tengo pendiente?", "Was steht noch an?", "anything left for today ?  ",
    "hello!", "thanks, that's all", "Thank you!", "tell me a joke", "good morning", "bye!", "¡gracias!",
])
def test_questions_and_small_talk(text):
    assert asks_no_change(text)


@pytest.mark.parametrize("text", [
    "can you add milk?", "could you tick off email Sam?", "would you mark everything done?", "delete what's done",
    "thanks, add milk", "buy milk", "hello, walk the dog is done", "'email Sam' is done", "the ferns are watered",
    "yes", "ok", "go ahead", "add milk. what's left?", "¿puedes añadir pan?", "kannst du 'Zahnarzt' löschen?",
    "rename it to 'walk the cat'?", "remind me to call the bank?", "",
    "what did I finish yesterday?",  # names a change word: in doubt, a request
])
def test_not_questions_or_requests(text):
    assert not asks_no_change(text)
