"""Which words claim a change to the list (crud_worker/claims.py): a reply that says so while nothing
changed is flagged "no change was made"."""

import pytest

from crud_worker.claims import claims_change


@pytest.mark.parametrize("text", [
    "Done.", "Done! Anything else?", "I've added 'milk'.", "I added it.", "I have marked both tasks done.",
    "'Buy bread' has been deleted.", "Sure! Added 'milk' to your list.", "The task is now done.",
    "Milk is now on your list.", "Marked it done.", "All set!", "- Removed 'walk the dog'", "Erledigt!",
    "He añadido la tarea: añadido.", "Tâche ajouté.", "I've just renamed it to 'Buy oat milk'.",
    "Email Sam is done.", "Bob's birthday gift is deleted.", "The completed tasks are gone, busy day.",
    "Done tasks cleared.", "Done tasks removed.", "Fix the bike, done.", "Milk, eggs and butter, done. Omelette time?",
    "Mark everything as done.", "Mark everything as not done.", "Delete what's done.", "Tick all my tasks done",
])
def test_claims(text):
    assert claims_change(text)


@pytest.mark.parametrize("text", [
    "You have 3 tasks.", "Shall I add it?", "You've completed 2 of 5 tasks. Nice!", "What should I add?",
    "I can add that for you.", "Hello! How can I help?", "Your done tasks: walk the dog.", "Done tasks are hidden.",
    "I will delete it.", "Nothing to do.", "Should it be marked done?", "Added by you yesterday: milk.",
    "No, 'buy bread' is not done.", "Yes, 'clean the kitchen' is done already.", "Is it done?",
    "Which one should be removed?", "Should it be deleted?", "What have you added?",
    "Mark it done once you've walked the dog. Then the kitchen.", "Two are done, three to go.",
    "Clean the kitchen first: it's the biggest.", "Mark 'walk the dog' done when you're back?",
])
def test_not_claims(text):
    assert not claims_change(text)


@pytest.mark.parametrize("text", [
    "The user deleted 'buy bread' and 'email Sam'.", "The user deleted what's done.", "The person has added milk.",
    "The user's marked it done.",
])
def test_a_change_told_of_the_user_is_a_claim_in_a_reply_they_asked_for_not_in_a_comment(text):
    """In a comment on the person's click it is the truth: they did it."""
    assert claims_change(text) and not claims_change(text, asked=False)


@pytest.mark.parametrize("text", ["Ticked off \u201ccollect eggs\u201d. I'd clap if I had hands.", "Done! Busy day.",
                                  "'milk' has been deleted.", "Eggs are done."])
def test_a_comment_on_the_persons_change_tells_it_and_claims_nothing(text):
    assert claims_change(text) and not claims_change(text, asked=False)


def test_a_comment_that_says_the_model_made_a_change_claims_it():
    assert claims_change("I've added 'milk' for you.", asked=False)


@pytest.mark.parametrize("text", ["Yes, it is done.", "Email Sam is done!", "They are complete."])
def test_a_task_said_done_answers_a_question_but_claims_a_change_asked_for(text):
    """The 1.5B answered "is 'buy bread' done?" with "Yes, it is done."; said to "email Sam is done, tick it"
    with no command, the same words claim the tick."""
    assert claims_change(text) and not claims_change(text, words_asked=True)


@pytest.mark.parametrize("text", ["I've marked it done.", "Added 'milk'.", "The user deleted 'milk'."])
def test_a_change_said_made_is_a_claim_even_in_reply_to_a_question(text):
    assert claims_change(text, words_asked=True)


@pytest.mark.parametrize("text", ["The user has 3 tasks.", "The user can add more later.", "The person asked twice."])
def test_the_user_without_a_change_is_no_claim(text):
    assert not claims_change(text)
