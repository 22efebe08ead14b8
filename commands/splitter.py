"""Streaming splitter: separates the commands in a model's reply from its prose.

A command block (what opens one: `openers`) may stand bare in the text or, all but `<tool_call>`,
sit in a ```json / ``` fence; the fence lines of a fence that holds commands are hidden, a fence
holding anything else is an ordinary code block and all of it is prose (`fences`). `<think>…</think>` and `<thinking>…</thinking>` in prose are the
model's reasoning (Thinking, tags Hidden): nothing inside them is ever a command.

The splitter is a character-level state machine, so the pieces it yields do not
depend on how the reply was chunked, and each character is examined a bounded number
of times however long the held-back text grows. Every character of the input ends up
in exactly one piece: Prose (shown), Block (a command block), Thinking, or Hidden (fence
lines, tags, the whitespace between fenced commands), so joining them restores the input.
"""

import re

from .json_reader import BLANK, CLOSED, STOP, WS, Held, JsonReader
from .openers import (
    AFTER_INLINE_FENCE, ANYWHERE, ARRAY, CALLS, IN_FENCE, OPENERS, THINK_OPEN, TOOL_CALL, TOOL_CALL_END, Match, advance,
    completed,
)
from .fences import BLOCK, BODY, CLOSE, CLOSE_TAIL, CODE, INFO, KEY, LEAD, OPEN, PROSE, TAG_END, THINK, FenceStates
from .pieces import Block, Hidden, Piece, Prose, Thinking, merge, source_of

__all__ = ["MAX_COMMAND_CHARS", "Block", "CommandSplitter", "Hidden", "Piece", "Prose", "Thinking",
           "merge", "source_of", "split_all"]

MAX_COMMAND_CHARS = 8000  # an unclosed candidate longer than this is given up

_PROSE_STOP = re.compile(r"[{\[<\n]")
_RECENT = 64  # prose kept to look for an inline fence opener (see `openers`)


class CommandSplitter(FenceStates):
    """Feed the reply's deltas in order; each call returns the pieces now decided."""

    def __init__(self) -> None:
        self.work = 0  # characters examined or released; lets tests check linearity
        self._handlers = (self._prose, self._open, self._info, self._lead, self._key,
                          self._block, self._body, self._close, self._close_tail, self._code,
                          self._think, self._tag_end)
        self._reset()

    def _reset(self) -> None:
        self._state = PROSE
        self._line_blank = True  # only blanks since the last newline of the input
        self._index = 0
        self._pre = Held()  # hidden-to-be text: a fence opener, whitespace in a fence
        self._cand = Held()  # the candidate: fence ticks, a command's key or its JSON
        self._json = JsonReader("")
        self._ticks = 0
        self._fence_ticks = 3
        self._info_len = 0  # letters of "json" matched in a fence's info string
        self._info_done = False
        self._key_ctx = PROSE  # where an opener candidate started: PROSE, LEAD or BODY
        self._key_at: list[Match] = []  # the openers still matching
        self._tag = ""  # the closing tag being waited for (THINK, TAG_END)
        self._tag_pos = 0  # characters of it matched
        self._code_closing = False
        self._out: list[Piece] = []
        self._text_buf: list[str] = []
        self._text_kind: type[Prose] | type[Thinking] = Prose
        self._recent = ""  # the tail of the prose
        self._inline_fence = False  # the command being read follows an inline fence opener

    def feed(self, text: str) -> list[Piece]:
        i, n = 0, len(text)
        while i < n:
            if self._state == PROSE and not self._line_blank:
                m = _PROSE_STOP.search(text, i)
                j = m.start() if m else n
                if j > i:
                    self._emit_prose(text[i:j])
                    i = j
                    continue
            elif self._state == THINK and not self._tag_pos:
                j = text.find("<", i)
                j = n if j < 0 else j
                if j > i:
                    self._emit_thinking(text[i:j])
                    self._note_line(text[i:j])
                    i = j
                    continue
            self._step(text[i])
            i += 1
        return self._drain()

    def finish(self) -> list[Piece]:
        if self._state == THINK:
            self._emit_thinking(self._cand.take())
        elif self._state == BLOCK:
            self._emit(Block(self._index, self._json.body.take(), False))
            self._emit_prose(self._json.tail.take())
        elif self._state == CLOSE_TAIL or (self._state == CLOSE and self._ticks >= self._fence_ticks):
            self._emit(Hidden(self._pre.take() + self._cand.take()))
        else:
            self._emit_prose(self._pre.take() + self._cand.take())
        out = self._drain()
        self._reset()
        return out

    def _note_line(self, s: str) -> None:
        """Track _line_blank over text consumed without _step."""
        last = s.rfind("\n")
        if last >= 0:
            self._line_blank = True
        if s[last + 1:].strip(BLANK):
            self._line_blank = False

    def _step(self, c: str) -> None:
        if self._state not in (PROSE, CODE, BLOCK, THINK) and self._pre.size + self._cand.size >= MAX_COMMAND_CHARS:
            self._reject()
        self.work += 1
        while not self._handlers[self._state](c):
            self.work += 1
        if c == "\n":
            self._line_blank = True
        elif c not in BLANK:
            self._line_blank = False

    # output

    def _emit_text(self, s: str, kind: type[Prose] | type[Thinking]) -> None:
        if s:
            if kind is not self._text_kind:
                self._flush_prose()
                self._text_kind = kind
            self.work += len(s)
            self._text_buf.append(s)

    def _emit_prose(self, s: str) -> None:
        if s:
            self._emit_text(s, Prose)
            self._recent = (self._recent + s[-_RECENT:])[-_RECENT:]

    def _emit_thinking(self, s: str) -> None:
        self._emit_text(s, Thinking)

    def _emit(self, piece: Piece) -> None:
        self._flush_prose()
        if isinstance(piece, Hidden) and not piece.text:
            return
        if isinstance(piece, Hidden) and self._out and isinstance(self._out[-1], Hidden):
            piece = Hidden(self._out.pop().text + piece.text)
        self._out.append(piece)

    def _flush_prose(self) -> None:
        if self._text_buf:
            self._out.append(self._text_kind("".join(self._text_buf)))
            self._text_buf = []

    def _drain(self) -> list[Piece]:
        self._flush_prose()
        out, self._out = self._out, []
        return out

    def _reject(self) -> None:
        """The held candidate is not what it looked like: release it as prose and fall
        back to the state it came from (the caller re-reads the current character)."""
        self._emit_prose(self._pre.take() + self._cand.take())
        self._tag_pos = 0
        s = self._key_ctx if self._state == KEY else self._state
        if s in (PROSE, TAG_END) or (s == OPEN and self._ticks < 3):
            self._state = PROSE
        elif s in (OPEN, INFO, LEAD):
            if s == OPEN:  # only when a run of backticks outgrew the held-text limit
                self._fence_ticks = self._ticks
            self._start_code()
        else:
            self._state = BODY

    # handlers: return False to have the same character read again in the new state

    def _prose(self, c: str) -> bool:
        if c in "{[<" and self._begin_key(PROSE, c):
            pass
        elif c == "`" and self._line_blank:
            self._cand.add(c)
            self._ticks = 1
            self._state = OPEN
        else:
            self._emit_prose(c)
        return True

    def _begin_key(self, ctx: int, c: str) -> bool:
        """Start matching an opener at c; False if no opener starts with c."""
        at = advance([(i, 0, 0) for i in (ANYWHERE if ctx == PROSE else IN_FENCE)], c)
        if not at:
            return False
        if ctx == PROSE:
            m = AFTER_INLINE_FENCE.search(self._recent)
            self._inline_fence = m is not None
            if m:
                self._fence_ticks = len(m.group(1))
        self._key_ctx, self._key_at, self._state = ctx, at, KEY
        self._cand.add(c)
        return True

    def _key(self, c: str) -> bool:
        """Match an opener (see `openers`) one character at a time."""
        at = advance(self._key_at, c)
        if not at:
            self._reject()
            return False
        self._cand.add(c)
        done = completed(at)
        if done is None:
            self._key_at = at
            return True
        kind = OPENERS[done][0]
        if kind == THINK_OPEN:
            self._emit(Hidden(self._cand.take()))
            self._tag, self._tag_pos, self._state = OPENERS[done][1][0].replace("<", "</"), 0, THINK
            return True
        if self._key_ctx != PROSE:
            self._emit(Hidden(self._pre.take()))
        if kind == TOOL_CALL:
            self._inline_fence = False
        self._json = JsonReader(self._cand.take(), *("[]" if kind in (ARRAY, CALLS) else "{}"))
        self._tag = TOOL_CALL_END if kind == TOOL_CALL else ""
        self._state = BLOCK
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
        if self._state == PROSE:
            self._emit_prose(tail)
        else:
            self._pre.add(tail)

    def _end_block(self, closed: bool) -> None:
        self._emit(Block(self._index, self._json.body.take(), closed))
        self._recent = "}"  # text, for an inline fence opener right after it
        self._index += 1
        if closed and self._tag:
            self._tag_pos, self._state = 0, TAG_END
        else:
            self._state = PROSE if self._key_ctx == PROSE and not self._inline_fence else BODY

    def _think(self, c: str) -> bool:
        """Inside <think>: all Thinking; only watch for the closing tag."""
        if c == self._tag[self._tag_pos]:
            self._cand.add(c)
            self._tag_pos += 1
            if self._tag_pos == len(self._tag):
                self._emit(Hidden(self._cand.take()))
                self._recent = self._tag  # text, for an inline fence opener right after it
                self._tag_pos, self._state = 0, PROSE
            return True
        if self._tag_pos:
            self._emit_thinking(self._cand.take())
            self._tag_pos = 0
            return False
        self._emit_thinking(c)
        return True

    def _tag_end(self, c: str) -> bool:
        """After a <tool_call>'s object: its closing tag is hidden; anything else is prose again."""
        if c in WS and not self._tag_pos:
            self._pre.add(c)
            return True
        if c == self._tag[self._tag_pos]:
            self._cand.add(c)
            self._tag_pos += 1
            if self._tag_pos == len(self._tag):
                self._emit(Hidden(self._pre.take() + self._cand.take()))
                self._tag_pos, self._state = 0, PROSE
            return True
        self._emit_prose(self._pre.take() + self._cand.take())
        self._tag_pos, self._state = 0, PROSE
        return False


def split_all(text: str) -> list[Piece]:
    s = CommandSplitter()
    return merge(s.feed(text) + s.finish())
