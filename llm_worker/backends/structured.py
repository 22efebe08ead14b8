"""Structured-output mode: the reply is constrained (by the server's grammar) to
`{"say": "...", "commands": [command, ...]}` (schema: `commands.schema.reply_schema`), and this
decoder turns that JSON stream back into the ordinary text the rest of Ghostwire reads: the `say`
text as it is generated, and each command, the moment its object closes, as a bare JSON command on
its own lines. So the crud_worker's splitter, the chips and the stored reply are as for any reply.

Why our own decoder and not a partial-JSON parser (jiter 0.19's partial mode): that re-parses the
whole prefix on every delta, quadratic in the reply (measured, 4-character deltas: 20 KB 12 ms against
3 ms here, 200 KB 784 ms against 33 ms), and it gives values, not what is new since the last delta.
This reads each character once, and holds back only an escape sequence cut between two deltas (`\\u`
and its four digits, a surrogate pair).

Text that is not such an object (a server that ignored the schema) passes through unchanged.
"""

from __future__ import annotations

import re

__all__ = ["HINT", "HINT_COMMANDS_FIRST", "ReplyDecoder"]

HINT = ("\n\nReply with one JSON object: \"say\" is what you tell the person, \"commands\" is the list of "
        "commands to run (empty when nothing should change).")
HINT_COMMANDS_FIRST = ("\n\nReply with one JSON object: \"commands\" is the list of commands to run (empty when "
                       "nothing should change), then \"say\" is what you tell the person.")
COMMAND_BREAK = "\n\n"  # before each command: a blank line also ends anything unclosed in the say text

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_SAY_STOP = re.compile(r'["\\]')
_WS = " \t\r\n"

# states
(_BEFORE, _KEY_OR_END, _KEY, _COLON, _VALUE, _SAY, _ESCAPE, _AFTER_VALUE, _ITEM_OR_END, _ITEM, _AFTER_ITEM,
 _DONE, _RAW) = range(13)
_KEYS = ("say", "commands")


class ReplyDecoder:
    """Feed the constrained reply's text deltas in order; each call returns the plain text now decided."""

    def __init__(self) -> None:
        self.state = _BEFORE
        self.ours = False          # the say text or a command has begun: this is the reply object
        self.raw: list[str] = []   # what was read since the last text we gave out, while it may not be ours
        self.key: list[str] = []
        self.escape = ""           # an escape sequence of the say text read so far, without its backslash
        self.high = ""             # a high surrogate waiting for its low half
        self.item: list[str] = []  # the command being read, raw
        self.depth = 0
        self.in_string = self.item_escape = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            state = self.state
            if state == _RAW:
                out.append(text[i:])
                break
            if state == _SAY:  # the hot path: plain runs of the say text are copied at once
                stop = _SAY_STOP.search(text, i)
                end = stop.start() if stop else n
                if end > i:
                    out.append(self._unpaired() + text[i:end])
                    i = end
                    continue
                if text[i] == '"':
                    out.append(self._unpaired())
                self.state = _AFTER_VALUE if text[i] == '"' else _ESCAPE
                i += 1
                continue
            ch = text[i]
            i += 1
            if state == _ESCAPE:
                out.append(self._escape(ch))
            elif state == _ITEM:
                if self._item_char(ch):
                    out.append(COMMAND_BREAK + "".join(self.item) + "\n")
                    self.state = _AFTER_ITEM
            elif state == _KEY:
                self._key_char(ch)
            elif ch in _WS:
                self.raw.append(ch)
            elif self._structure(ch):
                self.raw.append(ch)
                if self.state in (_SAY, _ITEM):
                    self.ours, self.raw = True, []  # the say text or a command: the object is ours
            else:
                self._give_up(out, ch)
            if self.state == _RAW and state == _KEY:
                self._give_up(out, "")
        return "".join(out)

    def end(self) -> str:
        """At the end of the reply: what is still held (a command cut off is given raw, so it is refused)."""
        if not self.ours:
            return "".join(self.raw)  # never got as far as the say text or a command: show whatever it was
        tail = self._unpaired()
        if self.state == _ITEM:
            tail += COMMAND_BREAK + "".join(self.item)
        return tail

    def _give_up(self, out: list[str], ch: str) -> None:
        """Not the reply object after all: give back what was held, and pass the rest through."""
        self.state = _RAW
        out.append(("" if self.ours else "".join(self.raw)) + ch)
        self.raw = []

    # --- the object around the say text and the commands ----------------------------------------

    def _structure(self, ch: str) -> bool:
        """One character outside strings and commands; False when it doesn't fit the reply object."""
        state = self.state
        if state == _BEFORE:
            return self._go(ch == "{", _KEY_OR_END)
        if state == _KEY_OR_END:
            self.key = []
            return self._go(ch == '"', _KEY) or self._go(ch == "}", _DONE)
        if state == _COLON:
            return self._go(ch == ":", _VALUE)
        if state == _VALUE:
            key = "".join(self.key)
            return self._go(key == "say" and ch == '"', _SAY) or self._go(key == "commands" and ch == "[", _ITEM_OR_END)
        if state == _AFTER_VALUE:
            return self._go(ch == ",", _KEY_OR_END) or self._go(ch == "}", _DONE)
        if state == _ITEM_OR_END:
            if ch == "]":
                return self._go(True, _AFTER_VALUE)
            self.item, self.depth, self.in_string, self.item_escape = [], 0, False, False
            self.state = _ITEM
            return not self._item_char(ch) or self._go(True, _AFTER_ITEM)
        if state == _AFTER_ITEM:
            return self._go(ch == ",", _ITEM_OR_END) or self._go(ch == "]", _AFTER_VALUE)
        return False  # _DONE: only whitespace may follow the object

    def _go(self, ok: bool, state: int) -> bool:
        if ok:
            self.state = state
        return ok

    def _key_char(self, ch: str) -> None:
        self.raw.append(ch)
        if ch == '"' and not (self.key and self.key[-1] == "\\"):
            self.state = _COLON if "".join(self.key) in _KEYS else _RAW  # another object: not a reply
        else:
            self.key.append(ch)

    def _item_char(self, ch: str) -> bool:
        """One more character of a command; True when it closed it. A command is an object (or an array
        of them): anything else is not one, but is read the same way and handed on for the splitter."""
        self.item.append(ch)
        if self.in_string:
            if self.item_escape:
                self.item_escape = False
            elif ch == "\\":
                self.item_escape = True
            elif ch == '"':
                self.in_string = False
                return self.depth == 0
        elif ch == '"':
            self.in_string = True
        elif ch in "{[":
            self.depth += 1
        elif ch in "}]":
            self.depth -= 1
            return self.depth <= 0
        return False

    # --- escapes in the say text ---------------------------------------------------------------

    def _escape(self, ch: str) -> str:
        self.escape += ch
        if self.escape[0] != "u":
            self.escape, self.state = "", _SAY
            return self._unpaired() + _ESCAPES.get(ch, ch)
        if len(self.escape) < 5:
            return ""
        digits, self.escape, self.state = self.escape[1:], "", _SAY
        try:
            unit = chr(int(digits, 16))
        except ValueError:
            return self._unpaired() + "\ufffd"
        if "\ud800" <= unit <= "\udbff":
            held, self.high = self._unpaired(), unit
            return held
        if "\udc00" <= unit <= "\udfff":
            if not self.high:
                return "\ufffd"
            pair, self.high = (self.high + unit).encode("utf-16", "surrogatepass").decode("utf-16"), ""
            return pair
        return self._unpaired() + unit

    def _unpaired(self) -> str:
        """A high surrogate with no low half after it is no character: shown as U+FFFD."""
        if not self.high:
            return ""
        self.high = ""
        return "\ufffd"
