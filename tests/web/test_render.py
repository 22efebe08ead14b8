"""Model text is rendered as sanitised markdown; command JSON becomes chips in place, never inside an
attribute; a reply too big to render is plain text; the render process keeps to its time budget."""

from __future__ import annotations

import asyncio
import json
import re

import nh3

from tests.report import STATS
from tests.security.payloads import HOSTILE_TABLES
from web.render.markdown import MAX_TABLE_CELLS, render_reply, table_cells, with_chips
from web.render.pool import RenderCache, Renderer

CMD = json.dumps({"action": "insert", "target": "task", "args": {"name": "x"}})


def chips(text: str, chip=lambda b: f'<span class="chip ok" id="chip-{b.index}">✓ C{b.index}</span>') -> str:
    return with_chips(render_reply(text), chip)


def test_raw_html_and_script_urls_are_inert():
    html = chips('<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) **ok**')
    assert "<script" not in html and "<img" not in html and "href" not in html
    assert "<strong>ok</strong>" in html and "&lt;script&gt;" in html


def test_commands_become_chips_where_they_stood_and_fences_vanish():
    text = f'Before.\n\n```json\n{CMD}\n```\n\nAfter **bold**.'
    html = chips(text, lambda b: f'<span class="chip" data-n="{b.index}"></span>')
    assert '<span class="chip" data-n="0"></span>' in html
    assert "action" not in html and "```" not in html and "<pre>" not in html
    assert html.index("Before") < html.index("chip") < html.index("After")


def test_private_use_marker_characters_in_model_text_cannot_forge_a_chip():
    assert "CHIP" not in chips("\ue0000\ue001 sneaky", lambda n: "<b>CHIP</b>")


def test_a_fence_opened_mid_line_around_a_command_leaves_no_stray_backticks():
    text = (f'Sure! ```json\n{CMD}\n```\n'
            'Also: {"action": "toggle", "target": "task", "args": {"id": 1}} bye')
    html = chips(text, lambda b: f"<b>chip {b.index}</b>")
    assert "`" not in html and html.count("chip") == 2 and "Also:" in html and "bye" in html
    assert "```json fences" in chips("Use ```json fences.\n\nok", lambda n: "")


def test_a_think_section_is_not_part_of_the_rendered_reply_but_is_its_thinking():
    from web.render.markdown import thinking_of

    text = ('<think>Maybe {"action": "delete", "target": "task", "args": {"id": 1}}?</think> ```json\n'
            '{"action": "insert", "target": "task", "args": {"name": "x"}}\n```\nDone.')
    html = chips(text, lambda b: f"<b>chip {b.index}</b>")
    assert "Maybe" not in html and "think" not in html and "<pre>" not in html and "```" not in html
    assert "<b>chip 0</b>" in html and "Done." in html
    assert thinking_of(text) == 'Maybe {"action": "delete", "target": "task", "args": {"id": 1}}?'


def test_a_command_in_a_link_title_is_one_safe_link_and_a_separate_chip():
    """The chip used to land inside the title after sanitising, and the link lost its rel."""
    html = chips(f'[x](http://a "{CMD} …")')
    links = re.findall(r"<a [^>]*>.*?</a>", html)
    assert len(links) == 1, html
    assert 'rel="noopener noreferrer nofollow"' in links[0] and "chip" not in links[0] and "\ue000" not in links[0]
    assert re.search(r'</a><span class="chip ok" id="chip-0">✓ C0</span>', html), html
    assert nh3.clean(html, tags={"a", "p", "span"}, attributes={"a": {"href", "title", "rel"}, "span": {"class", "id"}},
                     link_rel=None) == html, "the HTML sent is already what a sanitiser would keep"
    STATS["hostile"]["chip placements checked"] += 1


def test_no_chip_lands_in_a_link_code_or_an_attribute():
    for text in (f"[see {CMD} here](http://b)", f"`{CMD}`", f"[y](http://c/{CMD})", f"![i]({CMD})",
                 f"```\n{CMD}\n```", f"<http://d/{CMD}>", f"**bold {CMD}**"):
        html = chips(text)
        for tag in re.findall(r"<[^>]+>", html):
            assert "chip" not in tag or tag.startswith('<span class="chip ok"'), (text, tag)
        assert not re.search(r"<a [^>]*>[^<]*<span", html) and not re.search(r"<code>[^<]*<span", html), (text, html)
        STATS["hostile"]["chip placements checked"] += 1


def test_a_hostile_table_reply_is_plain_text_and_small():
    assert len(HOSTILE_TABLES) == 24_656
    assert table_cells(HOSTILE_TABLES) > MAX_TABLE_CELLS
    r = render_reply(HOSTILE_TABLES)
    assert r.plain and len(r.html) < 2 * len(HOSTILE_TABLES) and "<table" not in r.html
    ordinary = render_reply("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert not ordinary.plain and "<td>2</td>" in ordinary.html


def test_a_reply_whose_html_would_be_too_big_is_plain_and_escaped():
    r = render_reply("> " * 19 + "<b>deep</b> " + "*x* " * 200_000)
    assert r.plain and "&lt;b&gt;" in r.html and "more characters not shown" in r.html and len(r.html) < 400_000


def test_the_render_process_keeps_to_its_budget_and_recovers():
    async def go():
        renderer = Renderer(RenderCache(), budget_s=0.5)
        await renderer.start()
        try:
            slow = "*a* " * 150_000  # seconds of markdown-it (then too big anyway)
            # asked for together, sent as one batch: the batch runs out of time, then each goes alone
            fallback, *quick = await asyncio.gather(renderer.render("a1", slow),
                                                    *(renderer.render(f"q{i}", f"*quick {i}*") for i in range(3)))
            assert fallback.plain and renderer.timeouts == 1
            assert [q.html for q in quick] == [f"<p><em>quick {i}</em></p>\n" for i in range(3)]
            ok = await renderer.render("a2", "**fine**")  # a new worker took over
            assert ok.html == "<p><strong>fine</strong></p>\n" and not ok.plain
            assert await renderer.render("a2", "**fine**") is ok, "cached"
        finally:
            await renderer.close()

    asyncio.run(go())
