"""Hostile text everywhere it can appear, in a real browser: nothing runs, nothing is injected, and
the text shows literally.

Every payload tries to set `window.__pwned` (and most call alert). A MutationObserver installed before
the page's own scripts records every element added to the body that is a script/img/svg/iframe/…,
carries an on* handler, a javascript:/data: URL, or an attribute (other than value/aria-label/title)
holding a payload's marker "PWN". Two tabs watch: the one that acts (POST responses) and another (SSE
only); then both reload (server-rendered from the database).
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from bus import contract as c
from tests.buspeer import publish
from tests.report import STATS
from tests.fakes import Script
from tests.util import settle, wait_for

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__pwned='PWN0';alert('PWN0')</script>",
    "<img src=x onerror=\"window.__pwned='PWN1';alert('PWN1')\">",
    "<svg onload=\"window.__pwned='PWN2'\"><circle r=5 /></svg>",
    "<svg><script>window.__pwned='PWN3'</script></svg>",
    "[click me](javascript:window.__pwned='PWN4';alert('PWN4'))",
    "[spaced](  JaVaScRiPt:window.__pwned='PWN5')",
    "![pic](javascript:window.__pwned='PWN6')",
    "![pic](x\" onerror=\"window.__pwned='PWN7')",
    "</span><script>window.__pwned='PWN8'</script><span>",
    "</div></article><img src=x onerror=window.__pwned='PWN9'>",
    "\"><img src=x onerror=window.__pwned='PWN10'>",
    "' autofocus onfocus='window.__pwned=\"PWN11\"' x='",
    "<a href=\"javascript:window.__pwned='PWN12'\">a link</a>",
    "<iframe src=\"javascript:parent.__pwned='PWN13'\"></iframe>",
    "<details open ontoggle=\"window.__pwned='PWN14'\"><summary>x</summary></details>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned='PWN15'>",
    "<div id=\"status\" hx-swap-oob=\"true\" hx-get=\"/health\" hx-trigger=\"load\">PWN16 took over</div>",
    "<button hx-on:click=\"window.__pwned='PWN17'\" hx-trigger=\"load\" hx-post=\"/poke\">PWN17</button>",
    "{{constructor.constructor('window.__pwned=\"PWN18\"')()}} ${window.__pwned='PWN18b'} #{7*7}",
    "<!-- unclosed comment PWN19 <b>bold <i>broken <div",
    "&lt;script&gt;window.__pwned='PWN20'&lt;/script&gt; &amp; &#x3C;b&#x3E;PWN20",
    "line one\n\nevent: reset\ndata: <img src=x onerror=window.__pwned='PWN21'>\nid: 999\n\nretry: 1",
    "<javascript:window.__pwned='PWN22'> <https://example.com/\"onmouseover=\"window.__pwned='PWN22b'>",
    "[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX19wd25lZD0nUFdOMjMnPC9zY3JpcHQ+)",
    "<style>body{display:none}</style><link rel=stylesheet href=\"javascript:window.__pwned='PWN24'\">",
    "**bold** _em_ `code <b>PWN25</b>` <b>not bold</b>\n```\n<script>window.__pwned='PWN25'</script>\n```",
    "\u202eRTL override\u200b zero\u2028width PWN26 \\\" \\\\ ` ; --",
    "<form action=\"javascript:window.__pwned='PWN27'\"><input type=submit autofocus></form>",
]

OBSERVER = """
window.__violations = [];
window.__dialogs = [];
(() => {
  const BAD_TAGS = new Set(["SCRIPT", "IMG", "SVG", "IFRAME", "OBJECT", "EMBED", "STYLE", "MATH", "LINK", "META",
                            "BASE", "FRAME", "FRAMESET", "AUDIO", "VIDEO", "SOURCE", "FORM", "TEMPLATE"]);
  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"]);
  const TEXTY = new Set(["value", "aria-label", "title", "alt", "placeholder"]);
  const inHead = (node) => node && (node === document.head || (document.head && document.head.contains(node)));
  const note = (what, el) => window.__violations.push(what + " :: " + (el.outerHTML || "").slice(0, 160));
  function check(el, parent) {
    if (!(el instanceof Element) || inHead(parent) || inHead(el)) return;
    const tag = el.tagName.toUpperCase();
    const appForm = tag === "FORM" && ["add-task", "task-order", "chat-form"].includes(el.id);
    if (BAD_TAGS.has(tag) && !appForm) note("tag " + tag, el);
    for (const a of el.attributes) {
      const n = a.name.toLowerCase(), v = a.value;
      if (n.startsWith("on")) note("handler " + n, el);
      if (URL_ATTRS.has(n) && /^\\s*(javascript|data|vbscript):/i.test(v)) note("url " + n, el);
      const webLink = n === "href" && /^(https?|mailto):/i.test(v);  // a payload inside a real URL is just text
      if (!TEXTY.has(n) && !webLink && /PWN|__pwned/.test(v)) note("attribute " + n, el);
    }
    if (/PWN/.test(el.id)) note("id", el);
  }
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") { check(r.target, r.target.parentNode); continue; }
      for (const n of r.addedNodes) {
        if (!(n instanceof Element)) continue;
        check(n, r.target);
        n.querySelectorAll("*").forEach((d) => check(d, r.target));
      }
    }
  }).observe(document, {childList: true, subtree: true, attributes: true});
  window.alert = window.confirm = window.prompt = (m) => { window.__dialogs.push(String(m)); };
})();
"""


def words(text: str) -> str:
    return " ".join(text.split())


def task_name(payload: str) -> str:
    """What the list keeps of a name: whitespace collapsed, NULs dropped."""
    return words(payload.replace("\x00", ""))


@pytest.fixture(scope="module")
def tabs(stack, browser):
    """The acting tab and a watching tab, each with the observer and a dialog trap."""
    pages, contexts = [], []
    for _ in range(2):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.add_init_script(OBSERVER)
        page.errors, page.dialogs = [], []
        page.on("pageerror", lambda e, p=page: p.errors.append(str(e)))
        page.on("dialog", lambda d, p=page: (p.dialogs.append(d.message), d.dismiss()))
        page.goto(stack.url)
        page.wait_for_selector("html[data-sse=open]", state="attached")
        pages.append(page)
        contexts.append(ctx)
    yield pages
    for ctx in contexts:
        ctx.close()


def assert_clean(page, where: str) -> None:
    """Nothing ran, nothing was injected, the page kept its own parts."""
    violations = page.evaluate("() => window.__violations")
    pwned = page.evaluate("() => typeof window.__pwned === 'undefined' ? null : String(window.__pwned)")
    dialogs = page.dialogs + page.evaluate("() => window.__dialogs")
    found = page.evaluate("""() => ({
        scripts: document.body.querySelectorAll('script').length,
        onerror: document.querySelectorAll('img[onerror], [onload], [onerror], [onfocus], [ontoggle]').length,
        status: !!document.querySelector('#status .status-row'),
        chatLog: document.querySelectorAll('#chat-log').length,
        jsLinks: [...document.querySelectorAll('#chat-log a[href]')].map(a => a.getAttribute('href'))
                 .filter(h => !/^(https?:|mailto:)/i.test(h)),
    })""")
    STATS["hostile"][f"checks ({where})"] += 1
    injected = len(violations) + found["scripts"] + found["onerror"] + len(found["jsLinks"])
    STATS["hostile"]["injected"] += injected
    STATS["hostile"]["dialogs"] += len(dialogs)
    STATS["hostile"]["ran"] += pwned is not None
    assert pwned is None, f"{where}: a payload ran: {pwned}"
    assert not dialogs, f"{where}: a dialog fired: {dialogs}"
    assert not violations, f"{where}: injected: {violations[:5]}"
    assert found["scripts"] == 0 and found["onerror"] == 0 and not found["jsLinks"], f"{where}: {found}"
    assert found["status"] and found["chatLog"] == 1, f"{where}: the page lost its own parts: {found}"
    assert not page.errors, f"{where}: page errors: {page.errors}"


def test_hostile_user_messages_show_literally(stack, fake_ollama, tabs):
    actor, watcher = tabs
    for p in PAYLOADS:
        actor.fill("#msg", p)
        actor.press("#msg", "Enter")
        wait_for(lambda: actor.input_value("#msg") == "", what="the message sent")
    STATS["hostile"]["payloads"] = len(PAYLOADS)
    for page in tabs:
        wait_for(lambda: page.locator(".msg.user").count() >= len(PAYLOADS), what="every user bubble")
        shown = page.evaluate("() => [...document.querySelectorAll('.msg.user .text')].map(e => e.innerText)")
        for p in PAYLOADS:
            assert words(p) in [words(s) for s in shown], f"not shown literally: {p!r}"
        STATS["hostile"]["places checked"] += len(PAYLOADS)
    settle(stack, fake_ollama)
    for page, where in ((actor, "user messages, acting tab"), (watcher, "user messages, watching tab")):
        assert_clean(page, where)


def test_hostile_model_reply_while_streaming_and_after(stack, fake_ollama, tabs):
    actor, watcher = tabs
    settle(stack, fake_ollama)
    text = "\n\n".join(PAYLOADS)
    head = [text[i:i + 3] for i in range(0, len(text), 3)]
    tail = [f" tail{i}" for i in range(500)]  # 2 s still to come when the payloads are in: both tabs look mid-stream
    fake_ollama.enqueue(Script(tokens=head + tail, delay=0.004))
    ids = "() => [...document.querySelectorAll('.msg.assistant')].map(m => m.id)"
    before = set(actor.evaluate(ids))
    actor.fill("#msg", "say something hostile")
    actor.press("#msg", "Enter")
    reply = wait_for(lambda: set(actor.evaluate(ids)) - before, what="the reply bubble").pop()[len("msg-"):]
    for page in tabs:  # mid-stream: the payloads are in, the tail is still coming
        wait_for(lambda: "tail3" in page.evaluate(f"() => document.getElementById('body-{reply}')?.innerText || ''"),
                 what="the payloads streamed in")
        # one read of both: the final render may replace the streamed body between two reads
        live, shown = page.evaluate(f"() => {{ const b = document.getElementById('body-{reply}');"
                                    " return [b.className, b.innerText]; }")
        assert "stream" in live.split(), f"checked while the reply was still streaming ({live})"
        assert words(shown).startswith(words(text)), "streamed text shows literally"
        assert_clean(page, "model reply, streaming")
    for page in tabs:
        page.wait_for_selector(f"#msg-{reply}.done", timeout=20_000)
        final = page.evaluate(f"() => document.getElementById('body-{reply}').innerText")
        for literal in ("<script>window.__pwned='PWN0'", "<img src=x onerror=", "<svg onload=", "</span><script>",
                        "{{constructor", "${window.__pwned='PWN18b'}", "<!-- unclosed comment PWN19",
                        "<script>window.__pwned='PWN20'"):  # markdown decodes entities: as text, never as a tag
            assert literal in final, f"final render lost the literal text {literal!r}"
        assert_clean(page, "model reply, final render")
    STATS["hostile"]["places checked"] += 4 * len(PAYLOADS)


def commands(action: str, names: list[str]) -> list[str]:
    return [json.dumps({"action": action, "target": "task", "args": {"name": n}}) for n in names]


def test_hostile_task_names_chips_and_events(stack, fake_ollama, tabs):
    actor, watcher = tabs
    settle(stack, fake_ollama)
    for p in PAYLOADS:  # typed by the person
        actor.fill("#new-task", p)
        actor.press("#new-task", "Enter")
        wait_for(lambda: actor.input_value("#new-task") == "", what="the task added")
    model_names = [f"m {p}" for p in PAYLOADS]
    refused = [f"no such {p}" for p in PAYLOADS]
    batch = commands("insert", model_names) + commands("delete", refused)
    replies = []
    for i in range(0, len(batch), 20):  # under the per-reply command limit
        body = " ok ".join(batch[i:i + 20])
        fake_ollama.enqueue(Script(tokens=[body[j:j + 7] for j in range(0, len(body), 7)], delay=0.001))
        actor.fill("#msg", f"hostile commands {i}")
        actor.press("#msg", "Enter")
        replies.append(wait_for(lambda: actor.input_value("#msg") == "", what="sent"))
    expected_tasks = [task_name(p) for p in PAYLOADS] + [task_name(n) for n in model_names]
    for page in tabs:
        wait_for(lambda: page.locator(".chip.failed").count() >= len(refused), 30, what="every refusal chip")
        wait_for(lambda: page.locator("#task-list li").count() >= len(expected_tasks), 30, what="every task")
        values = page.evaluate("() => [...document.querySelectorAll('#task-list input.name')].map(i => i.value)")
        labels = page.evaluate("() => [...document.querySelectorAll('#task-list input.toggle')]"
                               ".map(i => i.getAttribute('aria-label'))")
        for name in expected_tasks:
            assert name in values, f"task name not kept literally: {name!r}"
            assert f"Done: {name}" in labels
        chips = page.evaluate("() => [...document.querySelectorAll('.chip')].map(c => c.innerText)")
        chip_text = "\n".join(words(ch) for ch in chips)
        for name in model_names:
            assert words(f"✓ Added '{task_name(name)}'") in chip_text, f"chip for {name!r}"
        for name in refused:
            assert f"there is no task named '{words(name)}'" in chip_text, f"refusal chip for {name!r}"
        events = page.evaluate("() => [...document.querySelectorAll('.msg.event')].map(e => e.innerText)")
        for p in PAYLOADS:
            assert any(f"You added '{task_name(p)}'" in words(e) for e in events), f"event note for {p!r}"
        assert_clean(page, "task names, chips and events")
        STATS["hostile"]["places checked"] += 5 * len(PAYLOADS)


def test_hostile_errors_and_toasts(stack, fake_ollama, tabs):
    actor, watcher = tabs
    settle(stack, fake_ollama)
    short = [p for p in PAYLOADS if len(p) < 200]
    # The model fails after its first piece, quoting the payload. (ttft keeps the failure behind the POST
    # response: an instant failure hits a separate bug, tests/faults/test_browser_races.py.)
    for p in short:
        fake_ollama.enqueue(Script(tokens=["partial ", "text"], ttft=0.3, error_after=1, error_message=p))
    for i, _ in enumerate(short):
        actor.fill("#msg", f"fail please {i}")
        actor.press("#msg", "Enter")
        wait_for(lambda: actor.input_value("#msg") == "", what="sent")
    # Playwright's sync API owns this thread's event loop: publish from another thread.
    sender = threading.Thread(target=publish, args=(stack, [c.UiAlert(text=p) for p in short]))
    sender.start()
    sender.join(10)
    for page in tabs:  # toasts fade after 8 s: look at them first
        wait_for(lambda: page.locator(".toast").count() >= len(short), what="every toast")
        toasts = page.evaluate("() => [...document.querySelectorAll('.toast')].map(t => t.innerText)")
        for p in short:
            assert words(p) in [words(t) for t in toasts], f"toast not literal: {p!r}"
    for page in tabs:
        wait_for(lambda: page.locator(".msg.assistant.failed").count() >= len(short), 30, what="failed replies")
        errors = page.evaluate("() => [...document.querySelectorAll('.msg.assistant.failed .error')]"
                               ".map(e => e.innerText)")
        for p in short:
            assert any(words(p) in words(e) for e in errors), f"error not literal: {p!r}"
        assert_clean(page, "errors and toasts")
        STATS["hostile"]["places checked"] += 2 * len(short)


def test_a_command_in_a_link_title_is_one_safe_link_and_a_separate_chip(stack, fake_ollama, tabs):
    """The chip used to be put inside the title after sanitising: the link lost its rel and a link to any
    URL could pass for a ✓ chip."""
    actor, watcher = tabs
    settle(stack, fake_ollama)
    command = commands("insert", ["titled PWN-title"])[0]
    text = f'[x](http://a.example "{command} …") after'
    fake_ollama.enqueue(Script(tokens=[text[i:i + 5] for i in range(0, len(text), 5)], delay=0.002))
    ids = "() => [...document.querySelectorAll('.msg.assistant')].map(m => m.id)"
    before = set(actor.evaluate(ids))
    actor.fill("#msg", "a link with a title")
    actor.press("#msg", "Enter")
    reply = wait_for(lambda: set(actor.evaluate(ids)) - before, what="the reply bubble").pop()[len("msg-"):]
    def look(page) -> None:
        page.wait_for_selector(f"#msg-{reply}.done", timeout=20_000)
        wait_for(lambda: page.locator(f"#body-{reply} .chip.ok").count() == 1, what="the chip's result")
        found = page.evaluate(f"""() => {{
            const body = document.getElementById('body-{reply}');
            const links = [...body.querySelectorAll('a')];
            return {{links: links.map(a => [a.getAttribute('href'), a.getAttribute('rel'), a.getAttribute('title'),
                                            a.querySelectorAll('*').length]),
                     chipInLink: !!body.querySelector('a .chip'), chip: body.querySelector('.chip').innerText}};
        }}""")
        assert len(found["links"]) == 1, found
        href, rel, title, children = found["links"][0]
        assert href == "http://a.example" and "noopener" in rel and "chip" not in (title or "") and children == 0
        assert not found["chipInLink"] and "Added 'titled PWN-title'" in found["chip"], found
        assert_clean(page, "a command in a link title")

    look(actor)
    look(watcher)
    actor.reload()  # and as the server renders it from the database
    actor.wait_for_selector("html[data-sse=open]", state="attached")
    look(actor)
    STATS["hostile"]["places checked"] += 3


def test_everything_again_after_a_reload(stack, tabs):
    """The same history, now rendered by the server from the database (GET /)."""
    for page in tabs:
        page.reload()
        page.wait_for_selector("html[data-sse=open]", state="attached")
        html = page.content()
        assert html.count("PWN0") >= 3, "the hostile history is on the page"
        assert not re.search(r"<script>window\.__pwned", html)
        assert_clean(page, "after a reload")
    STATS["hostile"]["places checked"] += 2
