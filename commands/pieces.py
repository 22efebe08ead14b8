"""What the command splitter yields: the pieces a model's reply is cut into."""

import msgspec


class Prose(msgspec.Struct, frozen=True):
    """Text to show."""

    text: str


class Block(msgspec.Struct, frozen=True):
    """A command block's text, in reply order (index 0, 1, 2, …): a JSON object, a JSON array of
    them, a list of pythonic calls, or `<tool_call>` and its JSON object. closed=False: it never
    closed (reply ended, size limit, or cut at a blank or fence line), so it is refused."""

    index: int
    raw: str
    closed: bool


class Hidden(msgspec.Struct, frozen=True):
    """Source text that is neither shown nor a command: the fence lines of a command
    fence and the whitespace around the commands inside it. Consumers ignore it."""

    text: str


class Thinking(msgspec.Struct, frozen=True):
    """The model's reasoning written into its reply between <think> and </think> (or <thinking>
    tags; the tags themselves are Hidden): shown collapsed, never prose, never a command."""

    text: str


Piece = Prose | Block | Hidden | Thinking


def merge(pieces: list[Piece]) -> list[Piece]:
    """Join adjacent pieces of the same text kind (the normal form of a split)."""
    out: list[Piece] = []
    for p in pieces:
        if out and type(p) is type(out[-1]) and not isinstance(p, Block):
            p = type(p)(out.pop().text + p.text)
        out.append(p)
    return out


def source_of(pieces: list[Piece]) -> str:
    """The exact text the pieces were split from."""
    return "".join(p.raw if isinstance(p, Block) else p.text for p in pieces)
