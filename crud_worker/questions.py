"""A question asks for words, not for a change: "is 'buy bread' done?", "what's left?", "¿qué tengo
pendiente?". A small model often answers one with a command anyway (the 0.5B ticked 'buy bread' when
asked whether it was done), so a reply to a person's message that is a question and names no change
only suggests its commands: each waits for Allow / Deny (executor.execute's `suggest`), as a comment's
do. A request phrased as a question ("can you add milk?") names its change and keeps its policy.

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


def asks_no_change(text: str) -> bool:
    """The person's message is a question that names no change to the list."""
    stripped = text.strip()
    return stripped.endswith(("?", "？")) and _CHANGE.search(stripped) is None
