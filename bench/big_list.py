"""`python -m bench.big_list`: a list of 5,000 tasks, 1,000 of them restored at once (the redo of an
undone import), against the real four processes. While the restore runs, `/health` and a chat message
are timed beside the same requests on the idle stack; the tabs' events and the web's RSS are counted.
Prints a table and writes bench/results/big_list.json. tests/security/test_big_list.py runs the same
scenario and checks everything but the times.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.stack import HX, Stack
from tests.util import SseReader, wait_for

FULL, RESTORED = 5_000, 1_000
PROBES = 200  # /health probes on the idle stack
CHATS = 10
OUT = Path(__file__).parent / "results" / "big_list.json"


@dataclass
class Run:
    health_idle_ms: list[float] = field(default_factory=list)
    health_busy_ms: list[float] = field(default_factory=list)
    chat_idle_ms: list[float] = field(default_factory=list)
    chat_busy_ms: list[float] = field(default_factory=list)
    restore_ms: float = 0.0
    restored: int = 0
    tasks_after: int = 0
    rss_before_kb: int = 0
    rss_after_kb: int = 0
    list_events: int = 0  # events of the restore carrying a whole list
    restore_event_bytes: int = 0  # what one tab received for the restore
    snapshot_bytes: int = 0  # what a stale tab gets on reconnecting
    snapshot_rows: int = 0
    loads_more: bool = False


def import_tasks(stack: Stack, names: list[str]) -> str:
    body = json.dumps({"format": "ghostwire.tasks", "version": 1, "tasks": [{"name": n} for n in names]})
    r = httpx.post(f"{stack.url}/tasks/import", content=body, headers={"Content-Type": "application/json"},
                   timeout=60)
    r.raise_for_status()
    return r.json()["undo"].rsplit("/", 1)[-1]


def rss_kb(stack: Stack) -> int:
    for line in Path(f"/proc/{stack.pid('web')}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS line")


def timed(client: httpx.Client, method: str, path: str, **kw) -> float:
    started = time.perf_counter()
    client.request(method, path, **kw).raise_for_status()
    return (time.perf_counter() - started) * 1000


def chat(client: httpx.Client, n: int) -> float:
    return timed(client, "POST", "/chat", data={"msg": f"how is my list? ({n})"}, headers=HX)


def settle_rss(stack: Stack) -> int:
    """The web's RSS once it has stopped moving (three reads 0.5 s apart within 1 %)."""
    reads: list[int] = []

    def steady() -> bool:
        reads.append(rss_kb(stack))
        return len(reads) >= 3 and max(reads[-3:]) - min(reads[-3:]) <= reads[-1] // 100

    wait_for(steady, 30, interval=0.5, what="the web's memory to settle")
    return reads[-1]


def scenario(stack: Stack) -> Run:
    run = Run()
    import_tasks(stack, [f"standing task {k}" for k in range(FULL - RESTORED)])
    batch = import_tasks(stack, [f"restored task {k}" for k in range(RESTORED)])
    wait_for(lambda: len(stack.tasks()) == FULL, 60, what=f"{FULL} tasks")
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        client.post(f"/undo/reply/{batch}").raise_for_status()
        wait_for(lambda: len(stack.tasks()) == FULL - RESTORED, 60, what="the batch undone")
        run.health_idle_ms = [timed(client, "GET", "/health") for _ in range(PROBES)]
        run.chat_idle_ms = [chat(client, n) for n in range(CHATS)]
        run.rss_before_kb = settle_rss(stack)
        with SseReader(stack.url, tab="big-list") as tab:
            seen = len(tab.snapshot())
            run.restore_ms, run.restored = _restore_while_probing(stack, client, batch, run)
            wait_for(lambda: len(stack.tasks()) == FULL, 60, what="the batch restored")
            wait_for(lambda: any("task-" in e.data for e in tab.snapshot()[seen:]), 60,
                     what="the tab shown the restore")
            events = [e for e in tab.snapshot()[seen:] if "task-" in e.data]
            run.list_events = sum('id="task-list"' in e.data for e in events)
            run.restore_event_bytes = sum(len(e.data.encode()) for e in events)
        run.tasks_after = len(stack.tasks())
        run.rss_after_kb = settle_rss(stack)
        with SseReader(stack.url, tab="stale", last_event_id="an-old-epoch-1") as stale:
            wait_for(lambda: stale.snapshot(), 30, what="the stale tab's snapshot")
            snapshot = stale.snapshot()[0].data
        run.snapshot_bytes = len(snapshot.encode())
        run.snapshot_rows = len(re.findall(r'<li[^>]* id="task-\d+"', snapshot))
        more = client.get("/tasks/rows", params={"after": str(run.snapshot_rows)})
        run.loads_more = more.status_code == 200 and "task-" in more.text
    return run


def _restore_while_probing(stack: Stack, client: httpx.Client, batch: str, run: Run) -> tuple[float, int]:
    """Redo the batch (1,000 tasks back in their places) while other clients ask /health and chat."""
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=stack.url, timeout=60) as other:
            n = 0
            while not done.is_set():
                run.health_busy_ms.append(timed(other, "GET", "/health"))
                if n % 10 == 0 and len(run.chat_busy_ms) < CHATS:
                    run.chat_busy_ms.append(chat(other, 100 + n))
                n += 1

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        time.sleep(0.05)  # the probes are under way before the restore starts
        started = time.perf_counter()
        r = client.post(f"/redo/reply/{batch}")
        r.raise_for_status()
        elapsed = (time.perf_counter() - started) * 1000
        wait_for(lambda: len(stack.tasks()) == FULL, 60, what="the batch restored")
        time.sleep(0.5)  # and the web's rendering of it: the probes keep running through it
    finally:
        done.set()
        prober.join()
    return elapsed, len(r.json()["done"])


def p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def report(run: Run) -> dict:
    out = {"health_ms": {"idle_p50": p(run.health_idle_ms, 0.5), "idle_p99": p(run.health_idle_ms, 0.99),
                         "restore_p50": p(run.health_busy_ms, 0.5), "restore_p99": p(run.health_busy_ms, 0.99),
                         "restore_max": p(run.health_busy_ms, 1.0), "restore_probes": len(run.health_busy_ms)},
           "chat_ms": {"idle_p50": p(run.chat_idle_ms, 0.5), "idle_max": p(run.chat_idle_ms, 1.0),
                       "restore_p50": p(run.chat_busy_ms, 0.5), "restore_max": p(run.chat_busy_ms, 1.0),
                       "restore_chats": len(run.chat_busy_ms)},
           "restore_ms": round(run.restore_ms, 1), "restored": run.restored, "tasks_after": run.tasks_after,
           "rss_mb": {"before": round(run.rss_before_kb / 1024, 1), "after": round(run.rss_after_kb / 1024, 1)},
           "tab": {"list_events": run.list_events, "restore_kb": round(run.restore_event_bytes / 1024, 1),
                   "stale_snapshot_kb": round(run.snapshot_bytes / 1024, 1), "stale_snapshot_rows": run.snapshot_rows}}
    return out


def main() -> None:
    stack = Stack(LLM_BACKEND="demo", GHOSTWIRE_DEMO_RATE="0").start(60)
    try:
        result = report(scenario(stack))
    finally:
        stack.stop()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    h, c = result["health_ms"], result["chat_ms"]
    print(f"{FULL:,} tasks, {RESTORED:,} restored at once in {result['restore_ms']} ms")
    print(f"/health  idle p50 {h['idle_p50']} p99 {h['idle_p99']} ms | during the restore p50 {h['restore_p50']}"
          f" p99 {h['restore_p99']} max {h['restore_max']} ms ({h['restore_probes']} probes)")
    print(f"POST /chat  idle p50 {c['idle_p50']} max {c['idle_max']} ms | during p50 {c['restore_p50']}"
          f" max {c['restore_max']} ms")
    print(f"web RSS {result['rss_mb']['before']} → {result['rss_mb']['after']} MB; a tab got "
          f"{result['tab']['list_events']} list event(s), {result['tab']['restore_kb']} KB; a stale tab's snapshot "
          f"{result['tab']['stale_snapshot_kb']} KB ({result['tab']['stale_snapshot_rows']} rows)")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
