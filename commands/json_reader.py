"""Reads a command's text (a JSON object, a JSON array, a list of calls) one character at a
time, to find where it ends; and checks that a closed command's strings and brackets closed."""

WS = " \t\r\n"
BLANK = " \t\r"
DELIMITERS = ",:}])\n"  # after a quote inside a string, one of these (past blanks) means the quote ended it
_PAIRS = {"}": "{", "]": "[", ")": "("}

MORE, CLOSED, STOP = range(3)


class Held:
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


class JsonReader:
    """Counts `opener`/`closer` brackets outside strings (double- or single-quoted, with escapes).

    Lenient where small models slip, so that a bad string cannot swallow the rest of
    the reply: a quote inside a string ends it only if a delimiter follows, and a raw
    newline ends any string. A blank line, or a line starting with a backtick, outside
    a string means the object will not close: read() answers STOP without consuming.
    """

    __slots__ = ("body", "tail", "_open", "_close", "_depth", "_quote", "_escape", "_maybe_close",
                 "_tail_newline")

    def __init__(self, head: str, opener: str = "{", closer: str = "}") -> None:
        self.body = Held()
        self.body.add(head)
        self.tail = Held()  # trailing whitespace, kept apart so a cut object can shed it
        self._open, self._close = opener, closer
        self._depth = 1
        self._quote = ""  # the quote of the string being read, "" outside strings
        self._escape = False
        self._maybe_close = False
        self._tail_newline = False

    @property
    def size(self) -> int:
        return self.body.size + self.tail.size

    def read(self, c: str, line_start: bool) -> int:
        """line_start: only blanks precede c on its line."""
        if self._quote and self._in_string(c):
            return MORE
        if c in WS:
            if c == "\n" and self._tail_newline:
                return STOP
            self._tail_newline = self._tail_newline or c == "\n"
            self._push(c)
            return MORE
        if c == "`" and line_start:
            return STOP
        if c in "\"'":
            self._quote = c
        elif c == self._open:
            self._depth += 1
        elif c == self._close:
            self._depth -= 1
        self._push(c)
        return CLOSED if self._depth == 0 else MORE

    def _in_string(self, c: str) -> bool:
        """Read c inside the current string; False if c ended it and is structure."""
        if self._escape:
            self._escape = False
        elif self._maybe_close and c in BLANK:
            pass
        else:
            if self._maybe_close:
                self._maybe_close = False
                if c in DELIMITERS:
                    self._quote = ""
                    return False
            if c == "\n":
                self._quote = ""
                return False
            if c == "\\":
                self._escape = True
            elif c == self._quote:
                self._maybe_close = True
        self._push(c)
        return True

    def _push(self, c: str) -> None:
        if c in WS:
            self.tail.add(c)
            return
        if self.tail.size:
            self.body.add(self.tail.take())
            self._tail_newline = False
        self.body.add(c)


def unclosed(text: str) -> str:
    """Why a command's text is not whole, or "" if it is: a string that a newline or the end cut
    off, or brackets that don't pair up. Strings are read as JsonReader reads them, so repair can
    then fix only syntax (quotes, commas, literals), never guess at a cut-off value."""
    stack: list[str] = []
    quote, escape, maybe_close = "", False, False
    for c in text:
        if quote:
            if escape:
                escape = False
                continue
            if maybe_close and c in BLANK:
                continue
            if maybe_close and c in DELIMITERS:
                quote, maybe_close = "", False  # the string ended; c is structure
            else:
                maybe_close = False
                if c == "\n":
                    return "a string in it never closed"
                if c == "\\":
                    escape = True
                elif c == quote:
                    maybe_close = True
                continue
        if c in "\"'":
            quote = c
        elif c in "{[(":
            stack.append(c)
        elif c in _PAIRS:
            if not stack or stack.pop() != _PAIRS[c]:
                return "its brackets don't match"
    if quote and not maybe_close:
        return "a string in it never closed"
    return "its brackets never closed" if stack else ""
