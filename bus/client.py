"""The one client helper every process uses to talk on the bus.

Events go PUB → broker XSUB/XPUB → SUB. Jobs go PUSH → broker → exactly one llm_worker
(`JobReceiver`, a DEALER that hands the broker one credit per free slot).
Every socket sets its options before connecting and LINGER 0, so closing never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterable

import msgspec
import zmq
import zmq.asyncio

from bus import contract, curve
from bus.settings import Common

log = logging.getLogger(__name__)

HWM = 100_000
HEARTBEAT_S = 1.0
READY_PROBE_S = 0.05

# Frames between broker and llm_worker on the job socket.
READY = b"READY"
BEAT = b"BEAT"
JOB = b"JOB"


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:16]


def configure(sock: zmq.Socket, **opts: int) -> zmq.Socket:
    """Options that must be set before bind/connect: no linger on close, roomy high-water marks."""
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)
    for name, value in opts.items():
        sock.setsockopt(getattr(zmq, name), value)
    return sock


def connect(sock: zmq.Socket, settings: Common, endpoint: str) -> zmq.Socket:
    """Connect a client socket, with CURVE and heartbeats when the bus goes over tcp."""
    if endpoint.startswith("tcp://"):
        curve.heartbeat(sock)
        if settings.curve_dir:
            curve.as_client(sock, settings.curve_dir, settings.curve_name)
    sock.connect(endpoint)
    return sock


class Bus:
    """A process's PUB and SUB pair, ready only once its own probe has made the round trip."""

    def __init__(self, settings: Common, proc: str, topics: Iterable[str] = ()):
        self.settings = settings
        self.proc = proc
        self.instance = new_id(f"{proc}-")
        self.ctx = zmq.asyncio.Context()
        self.pub = connect(configure(self.ctx.socket(zmq.PUB)), settings, settings.events_in)
        self.sub = connect(configure(self.ctx.socket(zmq.SUB)), settings, settings.events_out)
        for topic in topics:
            self.sub.subscribe(topic.encode())
        self.gaps = 0

    async def wait_ready(self) -> None:
        """Slow-joiner handshake: publish a probe until it comes back through the broker.

        XSUB forwards every existing subscription to a newly attached publisher, so once our
        own probe returns, every subscriber that was attached before us will hear us too.
        """
        probe = f"_ready.{self.instance}".encode()
        self.sub.subscribe(probe)
        try:
            while True:
                await self.pub.send_multipart([probe, b""])
                if await self.sub.poll(READY_PROBE_S * 1000):
                    frames = await self.sub.recv_multipart()
                    if frames[0] == probe:
                        return
        finally:
            self.sub.unsubscribe(probe)

    async def publish(self, msg: contract.Msg) -> None:
        await self.pub.send_multipart(contract.encode(msg))

    async def messages(self) -> AsyncIterator[contract.Msg]:
        """Yield decoded messages, draining the socket without awaiting between ready frames."""
        while True:
            frames = await self.sub.recv_multipart()
            batch = [frames]
            while True:
                try:
                    batch.append(await self.sub.recv_multipart(zmq.NOBLOCK))
                except zmq.Again:
                    break
            for topic, payload, *_ in (f for f in batch if len(f) >= 2):
                if topic.startswith(b"_ready."):
                    continue
                try:
                    yield contract.decode(topic, payload)
                except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as err:
                    log.warning("dropped an off-contract message on %r: %s", topic, err)

    def health(self, **fields) -> contract.Health:
        return contract.Health(proc=self.proc, instance=self.instance, pid=os.getpid(), ts=time.time(), **fields)

    async def heartbeat(self, status) -> None:
        """Publish `status()` (a dict of Health fields) every second until cancelled."""
        while True:
            await self.publish(self.health(**status()))
            await asyncio.sleep(HEARTBEAT_S)

    def close(self) -> None:
        self.ctx.destroy(linger=0)


class JobSender:
    """crud_worker's end of the job queue: jobs wait in the broker until a worker has room."""

    def __init__(self, bus: Bus):
        self.sock = connect(configure(bus.ctx.socket(zmq.PUSH)), bus.settings, bus.settings.jobs_in)

    async def send(self, job: contract.LlmJob) -> None:
        await self.sock.send(contract.encode_job(job))


class JobReceiver:
    """llm_worker's end: one credit per free slot, and a heartbeat so the broker can forget us."""

    def __init__(self, bus: Bus, slots: int):
        self.sock = configure(bus.ctx.socket(zmq.DEALER))
        self.sock.setsockopt(zmq.IDENTITY, bus.instance.encode())
        connect(self.sock, bus.settings, bus.settings.jobs_out)
        self.slots = slots

    async def announce(self) -> None:
        await self.sock.send_multipart([READY, str(self.slots).encode()])

    async def release(self) -> None:
        await self.sock.send_multipart([READY, b"1"])

    async def beat(self, free_slots) -> None:
        """Tell the broker we are alive and how much room we have (it re-learns us after a restart)."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await self.sock.send_multipart([BEAT, str(free_slots()).encode()])

    async def jobs(self) -> AsyncIterator[contract.LlmJob]:
        while True:
            frames = await self.sock.recv_multipart()
            if frames[0] != JOB or len(frames) != 2:
                continue
            try:
                yield contract.decode_job(frames[1])
            except (msgspec.DecodeError, msgspec.ValidationError) as err:
                log.warning("dropped an off-contract job: %s", err)
