"""Model text → safe HTML: markdown-it with raw HTML off, then nh3 as a second, allow-list fence.

Command blocks never show as JSON: each becomes a mark ("\ue000N\ue001") before rendering and its
chip after. A mark is kept only where it renders as element text: one that markdown would put in an
attribute (a link's title or href, a code fence's info), inside a link or in code is moved to just
after that element. So a chip can never land in an attribute or pass for a link, and sanitising
sees every attribute as it will be sent.

A reply whose tables would render to more than MAX_TABLE_CELLS cells, or whose HTML would pass
`max_html(len(text))`, is shown as escaped plain text instead (at most PLAIN_SHOWN characters).
`render_reply` is pure so that it can run in the render process (web/render/pool.py).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from commands.openers import INLINE_FENCE
from commands.splitter import Block, Prose, Thinking, split_all

MAX_TABLE_CELLS = 10_000  # a table renders every column of every row: 16 × 256 × 256 was 15 s and 10 MB
MAX_HTML = 256 * 1024  # bytes of HTML per reply
HTML_PER_CHAR = 8  # and at most this many per character of its text (prose is about 1.2, tables 3–6)
PLAIN_SHOWN = 50_000  # characters of a reply shown as plain text when it is too big to render

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "maxNesting": 20}
                 ).enable("table")
_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a", "h1", "h2", "h3", "h4",
         "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del"}
_MARK = re.compile("\ue000(\\d+)\ue001")
# "Sure! ```json" right before a command: the model's fence opened mid-line (the splitter hides its
# closing line); without the command between them it is just stray backticks.
_INLINE_FENCE = re.compile(r"(?<=\S)" + INLINE_FENCE + "(?=\ue000)", re.IGNORECASE)
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")


@dataclass(frozen=True)
class Rendered:
    """A reply's sanitised HTML; `blocks[n]` is the command block of mark n."""

    html: str
    blocks: tuple[Block, ...]
    plain: bool = False  # too big to render: escaped plain text


def max_html(chars: int) -> int:
    return min(MAX_HTML, HTML_PER_CHAR * chars + 4096)


_THOUGHT = "\ue002"  # where a <think> section stood: mid-line text, for _INLINE_FENCE


def _strip_marks(text: str) -> str:
    return text.replace("\ue000", "").replace("\ue001", "").replace(_THOUGHT, "")


def thinking_of(text: str) -> str:
    """The reasoning a reply wrote between <think> tags (shown collapsed, never as the reply)."""
    return "".join(p.text for p in split_all(text) if isinstance(p, Thinking))


def _source(text: str) -> tuple[str, tuple[Block, ...]]:
    """The reply's prose with a mark where each command stood."""
    blocks: list[Block] = []
    prose: list[str] = []
    for piece in split_all(text):
        if isinstance(piece, Prose):
            prose.append(_strip_marks(piece.text))
        elif isinstance(piece, Block):
            prose.append(f"\ue000{len(blocks)}\ue001")
            blocks.append(piece)
        elif isinstance(piece, Thinking):
            prose.append(_THOUGHT)  # the reasoning shows in its own box, not here
    return _INLINE_FENCE.sub("\n", "".join(prose)).replace(_THOUGHT, ""), tuple(blocks)


def table_cells(src: str) -> int:
    """An upper bound of the cells markdown would render: a table has its header's column count in
    every row, however short the row (the cause of the 430× blow-up)."""
    lines = src.split("\n")
    cells, i = 0, 1
    while i < len(lines):
        if "-" in lines[i] and _TABLE_RULE.match(lines[i]) and "|" in lines[i - 1] + lines[i]:
            columns = max(lines[i - 1].count("|"), lines[i].count("|")) + 1
            rows = 1
            i += 1
            while i < len(lines) and lines[i].strip():
                rows += 1
                i += 1
            cells += columns * rows
        i += 1
    return cells


def _take(tok: Token) -> list[str]:
    """Remove the marks from a token (content, info, attributes, children); return them in order."""
    found = _MARK.findall(tok.content) + _MARK.findall(tok.info)
    tok.content, tok.info = _unmark(tok.content), _unmark(tok.info)
    for name, value in list(tok.attrs.items()):
        if isinstance(value, str):
            found += _MARK.findall(value)
            tok.attrs[name] = _unmark(value)
    for child in tok.children or []:
        found += _take(child)
    return [f"\ue000{n}\ue001" for n in found]


def _unmark(text: str) -> str:
    return _MARK.sub("", text) if "\ue000" in text else text


def _text(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


def _inline(children: list[Token]) -> list[Token]:
    out: list[Token] = []
    held: list[str] = []
    depth = 0  # inside a link
    for child in children:
        if child.type == "text" and depth == 0:
            out.append(child)  # marks in plain text stay where they are
            continue
        if child.type == "link_open":
            depth += 1
        held += _take(child)
        out.append(child)
        if child.type == "link_close":
            depth -= 1
        if depth == 0 and held:
            out.append(_text("".join(held)))
            held = []
    if held:
        out.append(_text("".join(held)))
    return out


def _place_marks(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for tok in tokens:
        if tok.type == "inline":
            tok.children = _inline(tok.children or [])
            out.append(tok)
            continue
        held = _take(tok)
        out.append(tok)
        if held:  # after a code block: between blocks, as text
            after = Token("html_block", "", 0)
            after.content = "".join(held)
            out.append(after)
    return out


def _markdown(src: str) -> str:
    tokens = _place_marks(_md.parse(src))
    return nh3.clean(_md.renderer.render(tokens, _md.options, {}), tags=_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def plain(src: str) -> str:
    """The fallback: escaped text (marks kept for the chips), cut at PLAIN_SHOWN characters."""
    shown = src[:PLAIN_SHOWN]
    cut = len(src) - len(shown)
    note = f'<p class="meta">… {cut:,} more characters not shown</p>' if cut else ""
    return f'<p class="plain">{html.escape(shown)}</p>{note}'


def render_reply(text: str) -> Rendered:
    src, blocks = _source(text)
    if table_cells(src) > MAX_TABLE_CELLS:
        return Rendered(plain(src), blocks, plain=True)
    out = _markdown(src)
    if len(out) > max_html(len(text)):
        return Rendered(plain(src), blocks, plain=True)
    return Rendered(out, blocks)


def render_many(texts: list[str]) -> list[Rendered]:
    return [render_reply(t) for t in texts]


def plain_reply(text: str) -> Rendered:
    """Cheap enough for the event loop: for a reply whose render ran out of time."""
    src, blocks = _source(text)
    return Rendered(plain(src), blocks, plain=True)


def with_chips(r: Rendered, chip: Callable[[Block], str]) -> str:
    """The reply's HTML with each mark replaced by `chip(block)` (already escaped HTML)."""
    def one(m: re.Match) -> str:
        n = int(m.group(1))
        return chip(r.blocks[n]) if n < len(r.blocks) else ""

    return _strip_marks(_MARK.sub(one, r.html))  # a mark cut in half by the plain fallback's cut
