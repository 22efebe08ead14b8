"""From what the fake wrote and what a client received to numbers: lag, loss, throughput, commands."""

from __future__ import annotations

import bisect
import html
import math
import re

from bench.clients import Event
from bench.model import Script


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: an actual sample, never an interpolation between two."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(values_ns: list[int]) -> dict:
    ms = [v / 1e6 for v in values_ns]
    return {"p50": _r(pct(ms, 50)), "p99": _r(pct(ms, 99)), "max": _r(max(ms) if ms else None), "n": len(ms)}


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def marker_times(pieces: list[tuple[int, str]], script: Script) -> tuple[dict[int, int], int]:
    """Token index → time of the piece that completed its marker; and how many markers came twice."""
    starts, texts, pos = [], [], 0
    for _, text in pieces:
        starts.append(pos)
        texts.append(text)
        pos += len(text)
    joined = "".join(texts)
    index = {m: i for i, m in script.markers.items()}
    seen: dict[int, int] = {}
    dupes = 0
    for m in re.finditer(re.escape(script.key) + r"w[0-9a-f]+ ", joined):
        i = index.get(m.group())
        if i is None:
            continue
        if i in seen:
            dupes += 1
            continue
        seen[i] = pieces[bisect.bisect_right(starts, m.end() - 1) - 1][0]
    return seen, dupes


def reply_pieces(events: list[Event], reply_id: str) -> tuple[list[tuple[int, str]], int | None, list[Event]]:
    """The reply's streamed text as (time, unescaped text) up to its final bubble; the final's time;
    and the events that carried streamed text."""
    span = re.compile(rf'<span hx-swap-oob="beforeend:#body-{reply_id}">([^<]*)</span>')
    final = f'id="msg-{reply_id}" class="msg assistant '
    pieces, carriers = [], []
    for ev in events:
        if final in ev.data and 'hx-swap-oob="true"' in ev.data:
            return pieces, ev.t_ns, carriers
        texts = span.findall(ev.data)
        if texts:
            carriers.append(ev)
            pieces.extend((ev.t_ns, html.unescape(t)) for t in texts)
    return pieces, None, carriers


def delivery(script: Script, received: dict[int, int]) -> dict:
    """Lag per marker token (write → receive), loss, and the sustained rate over the reply.

    The rate counts every token the fake sent between the first and the last marker received,
    command tokens included, so it compares with the model's rate.
    """
    lags = [received[i] - script.written_ns[i] for i in received]
    first, last = (min(received), max(received)) if received else (0, 0)
    span_s = (received[last] - received[first]) / 1e9 if received else 0.0
    return {"tokens": len(script.markers), "received": len(received), "lost": len(script.markers) - len(received),
            "lag_ms": summary_ms(lags), "lags_ns": lags,
            "throughput_tps": round((last - first) / span_s, 1) if span_s > 0 else None}


def command_latency(script: Script, events: list[Event]) -> dict:
    """Closing brace written by the fake → the task insert event that names its task received."""
    lat, missing = [], 0
    for i, name in script.closers.items():
        needle = f'value="{name}"'
        hit = next((ev for ev in events if "beforeend:#task-list" in ev.data and needle in ev.data), None)
        if hit is None:
            missing += 1
        else:
            lat.append(hit.t_ns - script.written_ns[i])
    return {**summary_ms(lat), "missing": missing}


def analyse_tab(script: Script, reply_id: str, events: list[Event]) -> dict:
    pieces, final_ns, carriers = reply_pieces(events, reply_id)
    received, dupes = marker_times(pieces, script)
    out = delivery(script, received)
    out["duplicates"] = dupes
    out["received_ns"] = received
    out["final_seen"] = final_ns is not None
    out["final_ns"] = final_ns
    out["commands"] = command_latency(script, events)
    # The most text events in any one second of the reply (for a reply shorter than a second,
    # all of them), so a short burst can't hide in an average and a short reply can't inflate one.
    times = [ev.t_ns for ev in carriers]
    out["text_events"] = len(times)
    out["events_per_s"] = max((bisect.bisect_left(times, t + 1_000_000_000) - k for k, t in enumerate(times)),
                              default=0)
    return out


def ceiling(script: Script, pieces: list[tuple[int, str]]) -> dict:
    received, dupes = marker_times(pieces, script)
    out = delivery(script, received)
    out["duplicates"] = dupes
    return out


def linear_fit(points: list[tuple[int, int]]) -> dict:
    """Least squares bytes = a + b·chars over the length series, and the worst relative miss."""
    n = len(points)
    if n < 2:
        return {"slope": None, "intercept": None, "worst_dev": None}
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    a = my - b * mx
    dev = max(abs(y - (a + b * x)) / y for x, y in points)
    return {"slope": round(b, 3), "intercept": round(a), "worst_dev": round(dev, 4)}
