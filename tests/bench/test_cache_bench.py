"""bench/cache.py's parts that need no real engine: the recorder between the llm_worker and a server
(against llama.cpp's byte-faithful fake) and the goals it judges a run by."""

from __future__ import annotations

import httpx

from bench import cache_report
from bench.recorder import Recorder
from tests.fakes import FakeOpenAI, Script
from tests.util import wait_for

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
        "stream_options": {"include_usage": True}}


def test_the_recorder_relays_a_stream_and_keeps_the_servers_timings():
    with FakeOpenAI.llama_server() as fake, Recorder(fake.url.removesuffix("/v1")) as rec:
        fake.enqueue(Script(tokens=["Hel", "lo."], prompt_tokens=300, cached_tokens=280))
        with httpx.stream("POST", f"{rec.url}/chat/completions", json=BODY, timeout=10) as r:
            relayed = b"".join(r.iter_raw())
        assert b"data: [DONE]" in relayed and b'"cache_n":280' in relayed
        [x] = rec.exchanges
        assert (x.text, x.usage["prompt_tokens"]) == ("Hello.", 300)
        assert (x.timings["prompt_n"], x.timings["cache_n"]) == (20, 280)
        wait_for(lambda: x.ended, 5, what="the exchange to end")
        assert x.body["messages"] == BODY["messages"] and not x.cut


def test_a_client_that_hangs_up_closes_the_servers_stream():
    with FakeOpenAI.llama_server() as fake, Recorder(fake.url.removesuffix("/v1")) as rec:
        fake.enqueue(Script(tokens=["a"] * 400, delay=0.05))
        with httpx.stream("POST", f"{rec.url}/chat/completions", json=BODY, timeout=10) as r:
            next(r.iter_raw())
        wait_for(lambda: fake.disconnects == 1, 5, what="the fake to see the recorder hang up")
        wait_for(lambda: rec.exchanges[0].ended, 5, what="the exchange to end")
        assert rec.exchanges[0].cut


def row(n, kind="model", evaluated=10, new=10, page=None, floor=None):
    r = {"n": n, "kind": kind, "prompt": 500, "evaluated": evaluated, "cached": 490, "new": new, "cut": False,
         "list_sent": False}
    if page is not None:
        r.update(enter_to_first_ms=page, floor_ms=floor, floor_evaluated=8)
    return r


def test_the_goals_of_issue_23():
    good = {"changes": [row(1, "chat", 600, 20, 9000, 8000), row(2), row(3, "chat", 40, 30, 1000, 900)],
            "no_changes": [row(1, "chat", 30, 20, 800, 700), row(2, "chat", 30, 30, 900, 800)]}
    assert all(v for k, v in cache_report.goals(good).items() if not k.startswith(("over", "slower")))
    bad = {"changes": [row(1, "chat", 600, 20, 9000, 8000), row(2, evaluated=300, new=20),
                       row(3, "chat", 40, 30, 2000, 900)], "no_changes": good["no_changes"]}
    goals = cache_report.goals(bad)
    assert goals["over"] == [2] and goals["slower_than_unchanged"] == [3] and goals["slower_than_floor"] == [3]
    assert "| 3 | chat |" in cache_report.table({**bad, "goals": goals})
