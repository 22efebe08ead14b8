"""A listener on the bus, to split the added lag into stages.

It subscribes behind the broker exactly as `web` and `crud_worker` do, so the time an `llm.delta`
reaches it is the time it reaches them. Per token: fake → bus is the llm_worker (reading, coalescing,
publishing) plus the broker; bus → SSE is `web`. Per command: closing brace → its delta on the bus,
→ the `task.changed` the crud_worker publishes, → the SSE insert.
"""

from __future__ import annotations

import bisect
import itertools

from bench.clients import Event
from bench.model import Script
from bench.measure import summary_ms
from bus import contract as c
from tests.bustap import BusTap

TOPICS = (b"llm.delta", b"task.changed")


class StageTap(BusTap):
    """The one bus tap (tests/bustap.py), on the two topics the stages need."""

    def __init__(self, endpoint: str):
        super().__init__(endpoint, TOPICS)

    def stages(self, script: Script, reply_id: str, since: int, sse_times: dict[int, int],
               events: list[Event]) -> dict:
        deltas: list[tuple[int, str]] = []
        changed: dict[str, int] = {}
        for t, m in self.messages(since):
            if isinstance(m, c.LlmDelta) and m.msg_id == reply_id and m.text:
                deltas.append((t, m.text))
            elif isinstance(m, c.TaskChanged) and m.op == "insert" and m.task is not None:
                changed.setdefault(m.task.name, t)
        # The deltas carry the raw text, a prefix of the script's: a token is on the bus with the
        # delta that holds its last character.
        ends = list(itertools.accumulate(len(t) for t in script.tokens))
        delta_ends = list(itertools.accumulate(len(text) for _, text in deltas))

        def on_bus(i: int) -> int | None:
            k = bisect.bisect_left(delta_ends, ends[i])
            return deltas[k][0] if k < len(deltas) else None

        bus = {i: t for i in script.markers if (t := on_bus(i)) is not None}
        to_bus = [bus[i] - script.written_ns[i] for i in bus]
        to_sse = [sse_times[i] - bus[i] for i in bus if i in sse_times]
        gaps = [b[0] - a[0] for a, b in zip(deltas, deltas[1:])]
        cmd = {"to_bus": [], "crud": [], "web": []}
        for i, name in script.closers.items():
            t_bus, t_changed = on_bus(i), changed.get(name)
            if t_bus is None or t_changed is None:
                continue
            cmd["to_bus"].append(t_bus - script.written_ns[i])
            cmd["crud"].append(t_changed - t_bus)
            needle = f'value="{name}"'
            hit = next((ev.t_ns for ev in events if "beforeend:#task-list" in ev.data and needle in ev.data), None)
            if hit is not None:
                cmd["web"].append(hit - t_changed)
        return {
            "deltas": len(deltas), "delta_gap_ms": summary_ms(gaps),
            "deltas_under_8ms_apart": sum(1 for g in gaps if g < 8_000_000),
            "token_fake_to_bus_ms": summary_ms(to_bus), "token_bus_to_sse_ms": summary_ms(to_sse),
            "command_fake_to_bus_ms": summary_ms(cmd["to_bus"]), "command_crud_ms": summary_ms(cmd["crud"]),
            "command_web_ms": summary_ms(cmd["web"]),
        }
