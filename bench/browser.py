"""The run where the person looks: Debian's Chromium, driven by Playwright, on the real page.

A MutationObserver injected into the page stamps the first time each marker word of the scripted
reply appears in the DOM (`performance.timeOrigin + performance.now()`, the machine's wall clock);
the fake stamped when it wrote the token (monotonic), and one offset taken at start maps one clock
onto the other. Per rate: added lag fake write → DOM, markers never seen, on-screen throughput,
main-thread time (CDP `Performance.getMetrics`), bytes of the `/events` response on the wire and
decoded (CDP `Network.dataReceived`), and CPU seconds of the four processes and of the browser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

from bench import measure
from bench.model import build_script
from bench.procs import cpu_seconds
from bench.runner import Ctx, chat, timeout_for

CHROMIUM = os.environ.get("GHOSTWIRE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The same flags as the browser tests (tests/chromium.py): the closed network refuses the rest.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")

# Text arrives as appended spans (and, at the end, one replaced bubble); a marker may be split
# across two appends, so each bubble keeps the tail of what it had and scans tail + new text.
OBSERVER = r"""
(pattern) => {
  const rx = new RegExp(pattern, "g");
  const seen = window.__gwSeen = {};
  const tails = new WeakMap();
  const scan = (bubble, text) => {
    const joined = (tails.get(bubble) || "") + text;
    const now = performance.timeOrigin + performance.now();
    for (const m of joined.matchAll(rx)) if (!(m[0] in seen)) seen[m[0]] = now;
    tails.set(bubble, joined.slice(-24));
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const bubble = r.target.closest ? r.target.closest(".msg") || r.target : r.target;
      for (const n of r.addedNodes) scan(bubble, n.textContent || "");
      if (r.type === "characterData") scan(bubble, r.target.data);
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def available() -> str:
    """Why the browser run can't happen here, or '' if it can."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (install Debian's `chromium`)"
    try:
        import playwright.async_api  # noqa: F401 (only checking that it is installed)
    except ImportError:
        return "playwright is not installed"
    return ""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def browser_cpu() -> dict[int, float]:
    """CPU seconds of every Chromium process this benchmark started (Playwright's driver excluded)."""
    out = {}
    for pid in _descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if "chrom" not in f.read():
                    continue
            out[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return out


async def one_rate(ctx: Ctx, browser, n_tokens: int, rate: float, clock_offset_ns: int) -> dict:
    script = ctx.fake.add(build_script(ctx.key(), n_tokens, rate))
    # GHOSTWIRE_BENCH_ACCEPT_ENCODING=identity measures the page without compression, for a before/after.
    encoding = os.environ.get("GHOSTWIRE_BENCH_ACCEPT_ENCODING")
    context = await browser.new_context(extra_http_headers={"Accept-Encoding": encoding} if encoding else None)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    wire = {"id": None, "encoded": 0, "decoded": 0}

    def on_response(ev):
        if ev["response"]["url"].split("?")[0].endswith("/events"):
            wire["id"] = ev["requestId"]

    def on_data(ev):
        if ev["requestId"] == wire["id"]:
            wire["encoded"] += ev.get("encodedDataLength", 0)
            wire["decoded"] += ev.get("dataLength", 0)

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.dataReceived", on_data)
    await cdp.send("Network.enable")
    await cdp.send("Performance.enable")
    try:
        await page.goto(ctx.web_url)
        deadline = time.monotonic() + 10
        while wire["decoded"] == 0:  # the stream's first bytes (": connected") have reached the page
            if time.monotonic() > deadline:
                raise RuntimeError("the page's event stream did not open within 10 s")
            await asyncio.sleep(0.02)
        await page.evaluate(OBSERVER, rf"{script.key}w[0-9a-f]+ ")
        before = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
        cpu_before = browser_cpu()
        ctx.meter.start()
        wire_start = wire["encoded"], wire["decoded"]
        reply_id = await chat(ctx, f"bench-run-{script.key}")
        await page.wait_for_selector(f"#msg-{reply_id}.done, #msg-{reply_id}.failed",
                                     timeout=timeout_for(n_tokens, rate) * 1000)
        procs = ctx.meter.stop()
        cpu_after = browser_cpu()
        after = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
        seen_ms: dict[str, float] = await page.evaluate("window.__gwSeen")
    finally:
        await context.close()
    index = {m: i for i, m in script.markers.items()}
    lags, first_last = [], []
    for word, at_ms in seen_ms.items():
        i = index.get(word)
        if i is None or i >= len(script.written_ns):
            continue
        seen_ns = int(at_ms * 1e6) - clock_offset_ns
        lags.append(seen_ns - script.written_ns[i])
        first_last.append(seen_ns)
    span_s = (max(first_last) - min(first_last)) / 1e9 if len(first_last) > 1 else 0
    main = {k: round(after.get(k, 0) - before.get(k, 0), 4) for k in METRICS}
    return {
        "rate": rate, "tokens": n_tokens, "reply_id": reply_id, "seen": len(lags),
        "never_seen": len(script.markers) - len(lags),
        "lag_ms": {**measure.summary_ms(lags), "p95": _p(lags, 95)},
        "on_screen_tps": round((len(lags) - 1) / span_s, 1) if span_s else None,
        "main_thread_s": main, "main_thread_s_per_1k_tokens": round(main["TaskDuration"] * 1000 / n_tokens, 4),
        "wire_bytes": wire["encoded"] - wire_start[0], "decoded_bytes": wire["decoded"] - wire_start[1],
        "cpu_s": {**procs, "browser": round(sum(cpu_after.get(p, 0) - c for p, c in cpu_before.items())
                                            + sum(c for p, c in cpu_after.items() if p not in cpu_before), 3)},
    }


def _p(values_ns: list[int], p: float) -> float | None:
    v = measure.pct([x / 1e6 for x in values_ns], p)
    return None if v is None else round(v, 3)


async def run(ctx: Ctx, profiles: dict[str, float], tokens: dict[str, int]) -> dict:
    from playwright.async_api import async_playwright

    clock_offset_ns = time.time_ns() - time.monotonic_ns()
    out = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            await one_rate(ctx, browser, 20, 0, clock_offset_ns)  # warm-up: first page load, first render
            for name, rate in profiles.items():
                out[name] = await one_rate(ctx, browser, tokens[name], rate, clock_offset_ns)
        finally:
            await browser.close()
    return out


def table(runs: dict) -> list[str]:
    lines = ["", "in the browser (Chromium; lag ms: fake wrote the token → the word appeared in the DOM)",
             f"{'profile':<8}{'rate':>7}{'tokens':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'unseen':>8}"
             f"{'tok/s':>9}{'main ms/1k':>11}{'wire B':>10}{'decoded B':>11}{'browser s':>10}{'web s':>7}"]
    for name, x in runs.items():
        lag = x["lag_ms"]
        rate = "max" if not x["rate"] else f"{x['rate']:g}"
        lines.append(f"{name:<8}{rate:>7}{x['tokens']:>8}{_f(lag['p50'])}{_f(lag['p95'])}{_f(lag['p99'])}"
                     f"{_f(lag['max'])}{x['never_seen']:>8}{_n(x['on_screen_tps'], 9)}"
                     f"{x['main_thread_s_per_1k_tokens'] * 1000:>11.1f}{x['wire_bytes']:>10,}"
                     f"{x['decoded_bytes']:>11,}{x['cpu_s']['browser']:>10.2f}{x['cpu_s']['web']:>7.2f}")
    lines.append("main ms/1k: Chromium main-thread task time per 1,000 tokens; wire B: the /events response's "
                 "bytes on the TCP connection during the reply (decoded B: after Content-Encoding)")
    return lines


def _f(x) -> str:
    return f"{'—' if x is None else f'{x:.1f}':>8}"


def _n(x, width: int) -> str:
    return f"{'—' if x is None else f'{x:,.0f}':>{width}}"
