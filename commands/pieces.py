"""What the command splitter yields: the pieces a model's reply is cut into."""

import msgspec


class Prose(msgspec.Struct, frozen=True):
    """Text to show."""

    text: str


class Block(msgspec.Struct, frozen=True):
    """A command's JSON object text, in reply order (index 0, 1, 2, …). closed=False:
    the object never closed (reply ended, size limit, or cut at a blank or fence line)."""

    index: int
    raw: str
    closed: bool


class Hidden(msgspec.Struct, frozen=True):
    """Source text that is neither shown nor a command: the fence lines of a command
    fence and the whitespace around the commands inside it. Consumers ignore it."""

    text: str


Piece = Prose | Block | Hidden


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
