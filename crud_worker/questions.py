"""A question asks for words, not for a change: "is 'buy bread' done?", "what's left?", "¿qué tengo
pendiente?". A small model often answers one with a command anyway (the 0.5B ticked 'buy bread' when
asked whether it was done), so a reply to a person's message that is a question and names no change
only suggests its commands: each waits for Allow / Deny (executor.execute's `suggest`), as a comment's
do. A request phrased as a question ("can you add milk?") names its change and keeps its policy.

Small talk asks for words too ("thanks, that's all" had the 1.5B tick three tasks): a message every word
of which is a greeting, a thanks, a goodbye or the like (`_SMALL_TALK`, a closed list, so "thanks, add
milk" or a bare "buy milk" is still a request).

A question: the message ends with "?". A change named: a verb that changes a list, in English or the
commonest stems of a few other languages. When in doubt it is a request (the policy as before).
"""

from __future__ import annotations

import re

_CHANGE = re.compile(
    r"\b(?:add|put|insert|create|make|remind|tick|untick|check|uncheck|mark|complete|finish|cross|delete|remove"
    r"|drop|clear|get rid|rename|change|call it|move|reopen|undo|update|set|toggle|write|note"
    r"|añad|agreg|borr|elimin|quit|marc|cambi|renombr|apunt"  # Spanish
    r"|füg|hinzu|lösch|entfern|markier|hak|änder|umbenenn|notier"  # German
    r"|ajout|supprim|coch|renomm|aggiung|cancell|segn|rinomin|adicion|exclu|remov|renome)",  # French, Italian, Portuguese
    re.IGNORECASE)


_SMALL_TALK = frozenset("""
hi hello hey yo hiya morning evening night good thanks thank you ty thx cheers that that's thats is it all for
now bye goodbye see later cool nice great lol haha how are doing what's up tell me a joke another one
hola gracias adiós adios buenos días dias hallo danke tschüss bonjour salut merci ciao grazie""".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def asks_no_change(text: str) -> bool:
    """The person's message is a question that names no change to the list, or small talk."""
    stripped = text.strip()
    if _CHANGE.search(stripped) is not None:
        return False
    words = [w.casefold().replace("’", "'") for w in _WORD.findall(stripped)]
    return stripped.endswith(("?", "？")) or (bool(words) and all(w in _SMALL_TALK for w in words))
