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

import msgspec

MAX_COMMAND_CHARS = 8000  # an unclosed candidate longer than this is given up

_WS = " \t\r\n"
_BLANK = " \t\r"
_PROSE_STOP = re.compile(r"[{\n]")

# states
_PROSE, _OPEN, _INFO, _LEAD, _KEY, _BLOCK, _BODY, _CLOSE, _CLOSE_TAIL, _CODE = range(10)


class Prose(msgspec.Struct, frozen=True):
    text: str


class Block(msgspec.Struct, frozen=True):
    index: int
    raw: str
    closed: bool


class Hidden(msgspec.Struct, frozen=True):
    """Source text that is neither shown nor a command: the fence lines of a command
    fence and the whitespace around the commands inside it. Consumers ignore it."""

    text: str


Piece = Prose | Block | Hidden


class _Held:
    """Text held back, appended in parts and joined once when released."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    def take(self) -> str:
        s = "".join(self.parts)
        self.parts, self.size = [], 0
        return s


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
        self._pre = _Held()  # hidden-to-be text: a fence opener, whitespace in a fence
        self._cand = _Held()  # the candidate: fence ticks, a command's key or its JSON
        self._tail = _Held()  # trailing whitespace of a command's JSON, not yet in _cand
        self._tail_newline = False
        self._ticks = 0
        self._fence_ticks = 3
        self._info_len = 0  # letters of "json" matched in a fence's info string
        self._info_done = False
        self._key_ctx = _PROSE  # where a key candidate started: _PROSE, _LEAD or _BODY
        self._key_stage = 0
        self._key_quote = ""
        self._key_word = ""
        self._key_pos = 0
        self._depth = 0
        self._quote = ""  # the quote of the JSON string being read, "" outside strings
        self._escape = False
        self._maybe_close = False
        self._code_closing = False
        self._out: list[Piece] = []
        self._prose_buf: list[str] = []

    def feed(self, text: str) -> list[Piece]:
        i, n = 0, len(text)
        if self._state == _KEY and self._key_stage == 1:
            self._reject()
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
            self._emit(Block(self._index, self._cand.take(), False))
            self._emit_prose(self._tail.take())
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
        elif c not in _BLANK:
            self._line_blank = False

    # output

    def _emit_prose(self, s: str) -> None:
        if s:
            self.work += len(s)
            self._prose_buf.append(s)

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
        if c in _BLANK and complete:
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
        if c in _WS:
            self._pre.add(c)
            return True
        if c == "{":
            self._begin_key(_LEAD)
            return True
        self._reject()
        return False

    def _begin_key(self, ctx: int) -> None:
        self._cand.add("{")
        self._key_ctx, self._key_stage, self._key_word, self._key_pos = ctx, 0, "", 0
        self._state = _KEY

    def _key(self, c: str) -> bool:
        """Match `{ "action" :` or `{ 'operation' :` one character at a time."""
        stage = self._key_stage
        ok = False
        if stage == 0:
            ok = c in _WS or c in "\"'"
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
            ok = c in _WS or c == ":"
        if not ok:
            self._reject()
            return False
        self._cand.add(c)
        if c == ":":
            if self._key_ctx != _PROSE:
                self._emit(Hidden(self._pre.take()))
            self._depth, self._quote, self._escape, self._maybe_close = 1, "", False, False
            self._tail_newline = False
            self._state = _BLOCK
        return True

    def _block(self, c: str) -> bool:
        consumed = self._read_json(c)
        if self._state == _BLOCK and self._cand.size + self._tail.size >= MAX_COMMAND_CHARS:
            self._give_up()
        return consumed

    def _read_json(self, c: str) -> bool:
        if self._quote:
            if self._escape:
                self._escape = False
                return self._push(c)
            if self._maybe_close:
                # A quote inside a string ends it only if a delimiter follows, so an
                # unescaped quote or apostrophe in a name cannot swallow the reply.
                if c in _BLANK:
                    return self._push(c)
                self._maybe_close = False
                if c in ",:}]\n":
                    self._quote = ""
            if self._quote:
                if c == "\\":
                    self._escape = True
                elif c == self._quote:
                    self._maybe_close = True
                if c != "\n":  # a raw newline cannot be inside a JSON string: it ends it
                    return self._push(c)
                self._quote = ""
        if c in _WS:
            if c == "\n" and self._tail_newline:
                return self._give_up()  # a blank line: the candidate will not close
            self._tail_newline = self._tail_newline or c == "\n"
            return self._push(c)
        if c == "`" and self._line_blank:
            return self._give_up()  # a fence line: the fence ends, the candidate with it
        if c in "\"'":
            self._quote = c
        elif c == "{":
            self._depth += 1
        elif c == "}":
            self._depth -= 1
        self._push(c)
        if self._depth == 0:
            self._end_block(True)
        return True

    def _push(self, c: str) -> bool:
        if c in _WS:
            self._tail.add(c)
        else:
            if self._tail.size:
                self._cand.add(self._tail.take())
                self._tail_newline = False
            self._cand.add(c)
        return True

    def _give_up(self) -> bool:
        """End the candidate unclosed; its trailing whitespace goes back to the text."""
        self._end_block(False)
        tail = self._tail.take()
        if self._state == _PROSE:
            self._emit_prose(tail)
        else:
            self._pre.add(tail)
        return False

    def _end_block(self, closed: bool) -> None:
        self._emit(Block(self._index, self._cand.take(), closed))
        self._index += 1
        self._state = _PROSE if self._key_ctx == _PROSE else _BODY

    def _body(self, c: str) -> bool:
        """Inside a command fence, after a command: more commands, or the closing fence."""
        if c in _WS:
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
        if c in _BLANK:
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
        if self._code_closing and c not in _BLANK:
            self._code_closing = False
            if c == "\n":
                self._state = _PROSE
        return True


def merge(pieces: list[Piece]) -> list[Piece]:
    """Join adjacent Prose and adjacent Hidden pieces (the normal form of a split)."""
    out: list[Piece] = []
    for p in pieces:
        if out and type(p) is type(out[-1]) and not isinstance(p, Block):
            p = type(p)(out.pop().text + p.text)
        out.append(p)
    return out


def source_of(pieces: list[Piece]) -> str:
    """The exact text the pieces were split from."""
    return "".join(p.raw if isinstance(p, Block) else p.text for p in pieces)


def split_all(text: str) -> list[Piece]:
    s = CommandSplitter()
    return merge(s.feed(text) + s.finish())
