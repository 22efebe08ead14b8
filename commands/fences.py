"""The splitter's fences: a ```json / ``` fence whose first content is a command holds commands (its
fence lines and the whitespace between its commands are Hidden); any other fence is an ordinary code
block, all prose. A mixin of CommandSplitter: the state it reads and writes is the splitter's (see
`CommandSplitter._reset`).
"""

from .json_reader import BLANK, WS
from .pieces import Hidden

# The splitter's states, in the order of CommandSplitter._handlers; most are a fence's.
(PROSE, OPEN, INFO, LEAD, KEY, BLOCK, BODY, CLOSE, CLOSE_TAIL, CODE, THINK,
 TAG_END) = range(12)


class FenceStates:
    """The handlers of the fence states (see CommandSplitter._step)."""

    def _start_code(self) -> None:
        self._state = CODE
        self._ticks = 0
        self._code_closing = False

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
        self._state = INFO
        return False

    def _info(self, c: str) -> bool:
        """The opener's info string must be empty or "json": anything else opens a code block."""
        complete = self._info_len in (0, 4)
        if c == "\n" and complete:
            self._cand.add(c)
            self._pre.add(self._cand.take())
            self._state = LEAD
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
        if c in "{[" and self._begin_key(LEAD, c):
            return True
        self._reject()
        return False

    def _body(self, c: str) -> bool:
        """Inside a command fence, after a command: more commands, or the closing fence."""
        if c in WS:
            self._pre.add(c)
        elif c in "{[" and self._begin_key(BODY, c):
            pass
        elif c == "`" and self._line_blank:
            self._cand.add(c)
            self._ticks = 1
            self._state = CLOSE
        else:
            self._emit_prose(self._pre.take() + c)
        return True

    def _close(self, c: str) -> bool:
        if c == "`":
            self._cand.add(c)
            self._ticks += 1
            return True
        if self._ticks >= self._fence_ticks:
            self._state = CLOSE_TAIL
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
        self._state = PROSE
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
                self._state = PROSE
        return True
