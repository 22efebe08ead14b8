"""Model text is rendered as sanitised markdown; command JSON becomes chips in place."""

from __future__ import annotations

from web.render import with_chips


def test_raw_html_and_script_urls_are_inert():
    html = with_chips('<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) **ok**', lambda b: "")
    assert "<script" not in html and "<img" not in html and "href" not in html
    assert "<strong>ok</strong>" in html and "&lt;script&gt;" in html


def test_commands_become_chips_where_they_stood_and_fences_vanish():
    text = 'Before.\n\n```json\n{"action": "insert", "target": "task", "args": {"name": "x"}}\n```\n\nAfter **bold**.'
    html = with_chips(text, lambda block: f'<span class="chip" data-n="{block.index}"></span>')
    assert '<span class="chip" data-n="0"></span>' in html
    assert "action" not in html and "```" not in html and "<pre>" not in html
    assert html.index("Before") < html.index("chip") < html.index("After")


def test_private_use_marker_characters_in_model_text_cannot_forge_a_chip():
    html = with_chips("\ue0000\ue001 sneaky", lambda block: "<b>CHIP</b>")
    assert "CHIP" not in html


def test_a_fence_opened_mid_line_around_a_command_leaves_no_stray_backticks():
    text = ('Sure! ```json\n{"action": "insert", "target": "task", "args": {"name": "x"}}\n```\n'
            'Also: {"action": "toggle", "target": "task", "args": {"id": 1}} bye')
    html = with_chips(text, lambda b: f"<b>chip {b.index}</b>")
    assert "`" not in html and html.count("chip") == 2 and "Also:" in html and "bye" in html
    assert "```json fences" in with_chips("Use ```json fences.\n\nok", lambda b: "")


def test_a_think_section_is_not_part_of_the_rendered_reply_but_is_its_thinking():
    from web.render import thinking_of

    text = ('<think>Maybe {"action": "delete", "target": "task", "args": {"id": 1}}?</think> ```json\n'
            '{"action": "insert", "target": "task", "args": {"name": "x"}}\n```\nDone.')
    html = with_chips(text, lambda b: f"<b>chip {b.index}</b>")
    assert "Maybe" not in html and "think" not in html and "<pre>" not in html and "```" not in html
    assert "<b>chip 0</b>" in html and "Done." in html
    assert thinking_of(text) == 'Maybe {"action": "delete", "target": "task", "args": {"id": 1}}?'
