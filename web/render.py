"""Model text → safe HTML: markdown-it with raw HTML off, then nh3 as a second, allow-list fence.

Command blocks never show as JSON: the final bubble swaps each one for a placeholder before
rendering and for its chip after, so chips sit where the model wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

from commands.splitter import Block, Prose, Thinking, split_all

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "a", "h1", "h2", "h3", "h4",
         "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del"}
_MARK = re.compile("\ue000(\\d+)\ue001")
# "Sure! ```json" right before a command: the model's fence opened mid-line (the splitter hides its
# closing line); without the command between them it is just stray backticks.
_INLINE_FENCE = re.compile(r"(?<=\S)[^\S\n]*`{3,}(?:json)?[^\S\n]*\n\s*(?=\ue000)", re.IGNORECASE)


_THOUGHT = "\ue002"  # where a <think> section stood: mid-line text, for _INLINE_FENCE


def _strip_marks(text: str) -> str:
    return text.replace("\ue000", "").replace("\ue001", "").replace(_THOUGHT, "")


def _render(text: str) -> str:
    return nh3.clean(_md.render(text), tags=_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def thinking_of(text: str) -> str:
    """The reasoning a reply wrote between <think> tags (shown collapsed, never as the reply)."""
    return "".join(p.text for p in split_all(text) if isinstance(p, Thinking))


def with_chips(text: str, chip: Callable[[Block], str]) -> str:
    """Render a whole reply; `chip(block)` returns the (already escaped) HTML of that command's chip."""
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
    html = _render(_INLINE_FENCE.sub("\n", "".join(prose)).replace(_THOUGHT, ""))
    return _MARK.sub(lambda m: chip(blocks[int(m.group(1))]), html)
