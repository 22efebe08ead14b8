"""Which messages are questions that ask for no change (crud_worker/questions.py): a reply to one only
suggests its commands."""

import pytest

from crud_worker.questions import asks_no_change


@pytest.mark.parametrize("text", [
    "what's on my list?", "how many tasks are done?", "which task should I do first?", "is 'buy bread' done?",
    "¿qué tengo pendiente?", "Was steht noch an?", "anything left for today ?  ",
])
def test_questions(text):
    assert asks_no_change(text)


@pytest.mark.parametrize("text", [
    "can you add milk?", "could you tick off email Sam?", "would you mark everything done?", "delete what's done",
    "hello!", "thanks, that's all", "add milk. what's left?", "¿puedes añadir pan?", "kannst du 'Zahnarzt' löschen?",
    "rename it to 'walk the cat'?", "remind me to call the bank?", "",
    "what did I finish yesterday?",  # names a change word: in doubt, a request
])
def test_not_questions_or_requests(text):
    assert not asks_no_change(text)
