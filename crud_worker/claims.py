"""Words that get ahead of the facts: a reply that says it changed the list when nothing changed.

A small model often answers "Done!" or "I've added it" and writes no command. Such a reply is caught
at its end (replies.py): its bubble says "no change was made" (ReplyStats.unbacked_claim), and, when
the person asked, the model is told in a follow-up turn so it can write the command it forgot.

Only the reply's prose is read (never its commands or thinking), and only first-person or passive
statements of a finished change count, so "you've completed 3 tasks" or "shall I add it?" are not
claims — and a reply that is nothing but the request said back ("Mark everything as done."), which
a person reads as done. English, with the commonest past participles of a few other languages.

In a reply the person asked for, a change told of "the user" or "the person" counts too: the 0.5B
answered "delete 'buy bread' and 'email Sam'" with "The user deleted 'buy bread' and 'email Sam'." and
no command. A comment on a click says so truly (the person did it): in a reply nobody asked for, only
the model's own "I've added…" is a claim (the demo's "Ticked off 'eggs'." on the person's tick was flagged).
A task said to be done ("Email Sam is done.") is a claim, but not in reply to a question or small talk
(questions.py): "is 'buy bread' done?" is rightly answered "Yes, it is done." (the 1.5B did).
"""

from __future__ import annotations

import re

_PAST = (r"added|deleted|removed|marked|renamed|updated|ticked|unticked|checked(?: off)?|completed|cleared|created"
         r"|changed|toggled|crossed(?: off)?|put|moved")
_MINE = rf"\bI(?:'ve| have)?\s+(?:just\s+|now\s+|also\s+)?(?:{_PAST})\b"  # I've added, I marked
_CLAIMS = re.compile(
    _MINE +
    rf"|\b(?:has|have)\s+(?:now\s+)?been\s+(?:{_PAST})\b"  # 'x' has been deleted
    r"|\b(?:is|are)\s+now\s+(?:done|complete|completed|marked|ticked|unticked|checked|deleted|removed|gone|renamed"
    r"|called|on (?:your|the) list|in (?:your|the) list|off (?:your|the) list|open|not done)\b"
    r"|\b(?:is|are)\s+(?:deleted|removed|gone|cleared|added|renamed|ticked|unticked)\b"  # "… is deleted."
    r"|\b(?:added|deleted|removed|renamed|ticked|unticked|cleared|updated)\s*[.!](?:\s|$)"  # "Done tasks removed."
    rf"|(?:^|[.!?\n]\s*|[-*]\s+)(?:done|all set|(?:{_PAST}))\b(?!\s+(?:by|tasks?\b))"  # "Done." "Added 'x'."
    r"|,\s*done\s*[.!]"  # "Fix the bike, done."
    # the request said back as the whole reply: "Mark everything as done." "Delete what's done."
    r"|^\s*(?:mark|tick|untick|check|uncheck|complete|delete|remove|clear)\b[^.!?\n]*\bdone\s*[.!]?\s*$"
    r"|\b(?:añadid[oa]|agregad[oa]|eliminad[oa]|borrad[oa]|hinzugefügt|gelöscht|erledigt|ajouté|supprimé"
    r"|aggiunt[oa]|eliminat[oa]|adicionad[oa]|excluíd[oa])\b",
    re.IGNORECASE)


_MY_CLAIM = re.compile(_MINE, re.IGNORECASE)
# "Email Sam is done." (not "done already"): a claim, except as the answer to "is 'email Sam' done?".
_STATE = re.compile(r"\b(?:is|are)\s+(?:done|complete|completed|ticked off)\s*[.!]", re.IGNORECASE)
_NARRATED = re.compile(rf"\bthe (?:user|person)(?:'s| has)?\s+(?:just\s+|now\s+|also\s+)?(?:{_PAST})\b", re.IGNORECASE)


def claims_change(prose: str, asked: bool = True, words_asked: bool = False) -> bool:
    """The prose states, as done, a change to the list (`asked`: in reply to the person's own message;
    `words_asked`: one that asked for words, a question or small talk, where "it is done." is an answer)."""
    if not asked:  # a remark on what the person did ("Ticked off 'eggs'."): only "I've added" is the model's
        return _MY_CLAIM.search(prose) is not None
    return (_CLAIMS.search(prose) is not None or _NARRATED.search(prose) is not None
            or (not words_asked and _STATE.search(prose) is not None))
