"""Streaming splitter: separates the JSON commands in a model's reply from its prose.

A command is a JSON object whose first key is "action" or "operation" (double or
single quotes). It may stand bare in the text or sit in a ```json / ``` fence; the
fence lines of a fence that holds commands are hidden, a fence holding anything else
is an ordinary code block and all of it is prose.

The splitter is a character-level state machine, so the pieces it yields do not
depend on how the reply was chunked, and each character is examined a bounded number
of times however long the held-back text grows. Every character of the input ends up
in exactly one piece: Prose (shown), Block (a command's JSON) or Hidden (fence lines
and the whitespace between fenced commands), so joining them restores the input.
"""

import re

from .json_reader import BLANK, CLOSED, STOP, WS, Held, JsonReader
from .pieces import Block, Hidden, Piece, Prose, merge, source_of

__all__ = ["MAX_COMMAND_CHARS", "Block", "CommandSplitter", "Hidden", "Piece", "Prose",
           "merge", "source_of", "split_all"]

MAX_COMMAND_CHARS = 8000  # an unclosed candidate longer than this is given up

_PROSE_STOP = re.compile(r"[{\n]")
# "Sure! ```json" then a command on the next line: a fence opened mid-line, which markdown doesn't
# count as one, but the model meant it, so the ``` line after the command closes it.
_INLINE_FENCE = re.compile(r"\S[^\S\n]*(`{3,})(?:json)?[^\S\n]*\n\s*$", re.IGNORECASE)
_RECENT = 64  # prose kept to look for that opener

# states
_PROSE, _OPEN, _INFO, _LEAD, _KEY, _BLOCK, _BODY, _CLOSE, _CLOSE_TAIL, _CODE = range(10)


class CommandSplitter:
    """Feed the reply's deltas in order; each call returns the pieces now decided."""

    def __init__(self) -> None:
        self.work = 0  # characters examined or released; lets tests check linearity
        self._handlers = (self._prose, self._open, self._info, self._lead, self._key,
                          self._block, self._body, self._close, self._close_tail, self._code)
        self._reset()

    def _reset(self) -> None:
        self._state = _PROSE
        self._line_blank = True  # only blanks since the last newline of the input
        self._index = 0
        self._pre = Held()  # hidden-to-be text: a fence opener, whitespace in a fence
        self._cand = Held()  # the candidate: fence ticks, a command's key or its JSON
        self._json = JsonReader("")
        self._ticks = 0
        self._fence_ticks = 3
        self._info_len = 0  # letters of "json" matched in a fence's info string
        self._info_done = False
        self._key_ctx = _PROSE  # where a key candidate started: _PROSE, _LEAD or _BODY
        self._key_stage = 0
        self._key_quote = ""
        self._key_word = ""
        self._key_pos = 0
        self._code_closing = False
        self._out: list[Piece] = []
        self._prose_buf: list[str] = []
        self._recent = ""  # the tail of the prose
        self._inline_fence = False  # the command being read follows an inline fence opener

    @property
    def in_command(self) -> bool:
        """True while a recognised command's JSON is held back (e.g. to show a pending chip)."""
        return self._state == _BLOCK

    def feed(self, text: str) -> list[Piece]:
        i, n = 0, len(text)
        while i < n:
            if self._state == _PROSE and not self._line_blank:
                m = _PROSE_STOP.search(text, i)
                j = m.start() if m else n
                if j > i:
                    self._emit_prose(text[i:j])
                    i = j
                    continue
            self._step(text[i])
            i += 1
        return self._drain()

    def finish(self) -> list[Piece]:
        if self._state == _BLOCK:
            self._emit(Block(self._index, self._json.body.take(), False))
            self._emit_prose(self._json.tail.take())
        elif self._state == _CLOSE_TAIL or (self._state == _CLOSE and self._ticks >= self._fence_ticks):
            self._emit(Hidden(self._pre.take() + self._cand.take()))
        else:
            self._emit_prose(self._pre.take() + self._cand.take())
        out = self._drain()
        self._reset()
        return out

    def _step(self, c: str) -> None:
        if self._state not in (_PROSE, _CODE, _BLOCK) and self._pre.size + self._cand.size >= MAX_COMMAND_CHARS:
            self._reject()
        self.work += 1
        while not self._handlers[self._state](c):
            self.work += 1
        if c == "\n":
            self._line_blank = True
        elif c not in BLANK:
            self._line_blank = False

    # output

    def _emit_prose(self, s: str) -> None:
        if s:
            self.work += len(s)
            self._prose_buf.append(s)
            self._recent = (self._recent + s[-_RECENT:])[-_RECENT:]

    def _emit(self, piece: Piece) -> None:
        self._flush_prose()
        if isinstance(piece, Hidden) and not piece.text:
            return
        if isinstance(piece, Hidden) and self._out and isinstance(self._out[-1], Hidden):
            piece = Hidden(self._out.pop().text + piece.text)
        self._out.append(piece)

    def _flush_prose(self) -> None:
        if self._prose_buf:
            self._out.append(Prose("".join(self._prose_buf)))
            self._prose_buf = []

    def _drain(self) -> list[Piece]:
        self._flush_prose()
        out, self._out = self._out, []
        return out

    def _reject(self) -> None:
        """The held candidate is not what it looked like: release it as prose and fall
        back to the state it came from (the caller re-reads the current character)."""
        self._emit_prose(self._pre.take() + self._cand.take())
        s = self._key_ctx if self._state == _KEY else self._state
        if s == _PROSE or (s == _OPEN and self._ticks < 3):
            self._state = _PROSE
        elif s in (_OPEN, _INFO, _LEAD):
            if s == _OPEN:  # only when a run of backticks outgrew the held-text limit
                self._fence_ticks = self._ticks
            self._start_code()
        else:
            self._state = _BODY

    def _start_code(self) -> None:
        self._state = _CODE
        self._ticks = 0
        self._code_closing = False

    # handlers: return False to have the same character read again in the new state

    def _prose(self, c: str) -> bool:
        if c == "{":
            self._begin_key(_PROSE)
        elif c == "`" and self._line_blank:
            self._cand.add(c)
            self._ticks = 1
            self._state = _OPEN
        else:
            self._emit_prose(c)
        return True

    def _open(self, c: str) -> bool:
        if c == "`":
            self._cand.add(c)
            self._ticks += 1
            return True
        if self._ticks < 3:
            self._reject()
            return False
        self._fence_ticks = self._ticks
        self._info_len, self._info_done = 0, False
        self._state = _INFO
        return False

    def _info(self, c: str) -> bool:
        """The opener's info string must be empty or "json": anything else opens a code block."""
        complete = self._info_len in (0, 4)
        if c == "\n" and complete:
            self._cand.add(c)
            self._pre.add(self._cand.take())
            self._state = _LEAD
            return True
        if c in BLANK and complete:
            self._info_done = self._info_len == 4
        elif not self._info_done and self._info_len < 4 and c.lower() == "json"[self._info_len]:
            self._info_len += 1
        else:
            self._reject()
            return False
        self._cand.add(c)
        return True

    def _lead(self, c: str) -> bool:
        """Inside a fresh fence: it holds commands only if the first thing is one."""
        if c in WS:
            self._pre.add(c)
            return True
        if c == "{":
            self._begin_key(_LEAD)
            return True
        self._reject()
        return False

    def _begin_key(self, ctx: int) -> None:
        if ctx == _PROSE:
            m = _INLINE_FENCE.search(self._recent)
            self._inline_fence = m is not None
            if m:
                self._fence_ticks = len(m.group(1))
        self._cand.add("{")
        self._key_ctx, self._key_stage, self._key_word, self._key_pos = ctx, 0, "", 0
        self._state = _KEY

    def _key(self, c: str) -> bool:
        """Match `{ "action" :` or `{ 'operation' :` one character at a time."""
        stage = self._key_stage
        ok = False
        if stage == 0:
            ok = c in WS or c in "\"'"
            if c in "\"'":
                self._key_quote, self._key_stage = c, 1
        elif stage == 1:
            if not self._key_word and c in "ao":
                self._key_word, self._key_pos, ok = ("action" if c == "a" else "operation"), 1, True
            elif self._key_word and self._key_pos < len(self._key_word):
                ok = c == self._key_word[self._key_pos]
                self._key_pos += 1
            elif self._key_word:
                ok = c == self._key_quote
                self._key_stage = 2
        else:
            ok = c in WS or c == ":"
        if not ok:
            self._reject()
            return False
        self._cand.add(c)
        if c == ":":
            if self._key_ctx != _PROSE:
                self._emit(Hidden(self._pre.take()))
            self._json = JsonReader(self._cand.take())
            self._state = _BLOCK
        return True

    def _block(self, c: str) -> bool:
        r = self._json.read(c, self._line_blank)
        if r == CLOSED:
            self._end_block(True)
        elif r == STOP:
            self._give_up()
            return False
        elif self._json.size >= MAX_COMMAND_CHARS:
            self._give_up()
        return True

    def _give_up(self) -> None:
        """End the candidate unclosed; its trailing whitespace goes back to the text."""
        self._end_block(False)
        tail = self._json.tail.take()
        if self._state == _PROSE:
            self._emit_prose(tail)
        else:
            self._pre.add(tail)

    def _end_block(self, closed: bool) -> None:
        self._emit(Block(self._index, self._json.body.take(), closed))
        self._recent = "}"  # text, for an inline fence opener right after it
        self._index += 1
        self._state = _PROSE if self._key_ctx == _PROSE and not self._inline_fence else _BODY

    def _body(self, c: str) -> bool:
        """Inside a command fence, after a command: more commands, or the closing fence."""
        if c in WS:
            self._pre.add(c)
        elif c == "{":
            self._begin_key(_BODY)
        elif c == "`" and self._line_blank:
            self._cand.add(c)
            self._ticks = 1
            self._state = _CLOSE
        else:
            self._emit_prose(self._pre.take() + c)
        return True

    def _close(self, c: str) -> bool:
        if c == "`":
            self._cand.add(c)
            self._ticks += 1
            return True
        if self._ticks >= self._fence_ticks:
            self._state = _CLOSE_TAIL
        else:
            self._reject()
        return False

    def _close_tail(self, c: str) -> bool:
        if c in BLANK:
            self._cand.add(c)
            return True
        if c != "\n":
            self._reject()
            return False
        self._cand.add(c)
        self._emit(Hidden(self._pre.take() + self._cand.take()))
        self._state = _PROSE
        return True

    def _code(self, c: str) -> bool:
        """An ordinary code block: all prose; only watch for its closing fence."""
        self._emit_prose(c)
        if c == "`" and (self._line_blank or self._ticks) and not self._code_closing:
            self._ticks += 1
            return True
        if self._ticks >= self._fence_ticks:
            self._code_closing = True
        self._ticks = 0
        if self._code_closing and c not in BLANK:
            self._code_closing = False
            if c == "\n":
                self._state = _PROSE
        return True


def split_all(text: str) -> list[Piece]:
    s = CommandSplitter()
    return merge(s.feed(text) + s.finish())
