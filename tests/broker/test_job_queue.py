"""The job queue on real ZeroMQ sockets (inproc): each job to exactly one worker with a free slot."""

from __future__ import annotations

import zmq

from bus.client import JOB, READY, configure
from broker.jobs import JobQueue


def setup(n_workers: int, credits: int):
    ctx = zmq.Context()
    inbox = configure(ctx.socket(zmq.PULL))
    inbox.bind("inproc://jobs-in")
    router = configure(ctx.socket(zmq.ROUTER), ROUTER_MANDATORY=1)
    router.bind("inproc://jobs-out")
    queue = JobQueue(inbox, router)
    push = configure(ctx.socket(zmq.PUSH))
    push.connect("inproc://jobs-in")
    workers = []
    for n in range(n_workers):
        w = configure(ctx.socket(zmq.DEALER))
        w.setsockopt(zmq.IDENTITY, f"w{n}".encode())
        w.connect("inproc://jobs-out")
        w.send_multipart([READY, str(credits).encode()])
        workers.append(w)
    while len(queue.workers) < n_workers:
        assert router.poll(2000), "every worker's READY should arrive"
        queue.on_worker()
    return ctx, queue, push, workers


def pump(queue, rounds=50):
    for _ in range(rounds):
        if queue.inbox.poll(20):
            queue.on_inbox()


def received(worker) -> list[bytes]:
    out = []
    while worker.poll(50):
        kind, job = worker.recv_multipart()
        assert kind == JOB
        out.append(job)
    return out


def test_each_job_goes_to_exactly_one_worker_and_only_while_it_has_room():
    ctx, queue, push, workers = setup(n_workers=2, credits=2)
    try:
        for n in range(6):
            push.send(f"job{n}".encode())
        pump(queue)
        got = [received(w) for w in workers]
        assert sorted(sum(got, [])) == [b"job0", b"job1", b"job2", b"job3"]
        assert all(len(g) == 2 for g in got), "spread by free slots"
        assert queue.stats()["queued"] == 2
        workers[1].send_multipart([READY, b"1"])
        assert queue.router.poll(2000)
        queue.on_worker()
        assert received(workers[1]) == [b"job4"] and received(workers[0]) == []
    finally:
        ctx.destroy(linger=0)


def test_a_silent_worker_is_forgotten_and_its_jobs_wait_for_another():
    ctx, queue, push, workers = setup(n_workers=1, credits=1)
    try:
        for w in queue.workers.values():
            w.last_seen -= 60
        queue.expire()
        push.send(b"orphan")
        pump(queue)
        assert received(workers[0]) == [] and queue.stats() == {"workers": 0, "free_slots": 0, "queued": 1,
                                                                "dispatched": 0}
    finally:
        ctx.destroy(linger=0)
