"""Two LLM workers on two hosts. One is partitioned mid-reply: that reply fails naming it (or
completes), and the next jobs go to the other. A host with a key the broker never authorised, or
with no key, is refused, logged, and gets nothing."""

from __future__ import annotations

import shutil
import time

import zmq.auth

from tests.report import STATS
from tests.netns.conftest import cluster_fixture
from tests.netns.replies import ended, long_reply, streamed_text
from tests.util import wait_for

cluster = cluster_fixture("gpu1", "gpu2", spare=("rogue",))
ROGUE_WATCH_S = 6.0  # a worker joins within a second of connecting; six heartbeats' worth of nothing


def chat_requests(fake) -> int:
    return sum(1 for r in fake.requests if r.path == "/api/chat")


def test_after_a_partition_mid_reply_the_next_jobs_go_to_the_other_host(cluster):
    before = {h: chat_requests(f) for h, f in cluster.fakes.items()}
    script, _ = long_reply("part", words=80, delay=0.1)
    for fake in cluster.fakes.values():
        fake.enqueue(script)  # whichever worker the broker picks streams the long one
    with cluster.sse(tab="partition") as sse:
        reply = cluster.chat("a long reply, then its host drops off the network")
        busy = wait_for(lambda: next((h for h, f in cluster.fakes.items() if chat_requests(f) > before[h]), None),
                        10, what="a worker to take the job")
        other = next(h for h in cluster.workers if h != busy)
        cluster.fakes[other]._scripts.clear()
        # Streaming, so the app knows which worker has it: the cut then strands a reply in flight.
        wait_for(lambda: streamed_text(sse.snapshot(), reply), 10, what="the reply streaming")
        cable = cluster.net_cable(busy)
        cable.cut()
        t_cut = time.monotonic()
        try:
            wait_for(lambda: ended(sse.snapshot(), reply), 30, interval=0.1, what="the partitioned reply to end")
            role, status, content, error = wait_for(lambda: cluster.message(reply), 10, what="stored")
            assert status == "failed" and "stopped answering" in error, (status, error)
            failed_after = time.monotonic() - t_cut
            served_before = chat_requests(cluster.fakes[other])
            for n in range(3):
                r = cluster.chat(f"next job {n}")
                stored = wait_for(lambda: (m := cluster.message(r)) and m[1] != "streaming" and m, 20,
                                  what=f"next job {n} answered")
                assert stored[1] == "done", stored
            assert chat_requests(cluster.fakes[other]) == served_before + 3, "the next jobs went to the other host"
            took = time.monotonic() - t_cut
        finally:
            cable.mend()
    s = STATS["netns two hosts, one partitioned"]
    s["partitions"] += 1
    s["ms from cut to the reply failing (naming the worker)"] = round(failed_after * 1000)
    s["next jobs served by the other host"] += 3
    s["ms from cut to 3 more replies done"] = round(took * 1000)
    cluster.wait_healthy(2)


def test_a_host_with_an_unauthorised_key_or_none_is_refused_logged_and_gets_nothing(cluster, tmp_path):
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    zmq.auth.create_certificates(stranger, "rogue")  # a valid pair the broker was never told about
    shutil.copy(cluster.keys / "broker.key", stranger / "broker.key")
    cases = {"unauthorised key": ({"key_dir": stranger, "name": "rogue"}, "its key is not authorised"),
             "no key": ({"curve": False}, "no CURVE key")}
    for case, (how, logged) in cases.items():
        log_path = tmp_path / f"{case}.log"
        with open(log_path, "ab") as log:
            cluster.start_worker("rogue", log=log, **how)
        try:
            served = {h: chat_requests(cluster.fakes[h]) for h in cluster.workers}
            t0 = time.monotonic()
            for n in range(3):  # jobs keep flowing to the authorised workers the whole time
                r = cluster.chat(f"{case}: job {n}")
                wait_for(lambda: (m := cluster.message(r)) and m[1] == "done", 20, what=f"{case}: job {n} done")
            while time.monotonic() - t0 < ROGUE_WATCH_S:
                assert cluster.worker_count() == 2, f"{case}: the rogue worker was admitted"
                time.sleep(0.2)
            assert chat_requests(cluster.fakes["rogue"]) == 0, f"{case}: the rogue host got a job"
            assert sum(chat_requests(cluster.fakes[h]) for h in cluster.workers) == sum(served.values()) + 3
            assert "ready:" not in log_path.read_text(), f"{case}: the rogue got through the bus handshake"
            wait_for(lambda: "refused a client on" in cluster.log() and logged in cluster.log(), 10,
                     what=f"the broker to log the refusal ({logged})")
            STATS["netns CURVE"][f"refused ({case})"] += 1
        finally:
            cluster.stop("llm_worker@rogue")
    STATS["netns CURVE"]["s watched each rogue"] = ROGUE_WATCH_S
