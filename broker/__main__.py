"""The broker: an XSUB/XPUB event bus and the LLM job queue. `python -m broker tap` watches the bus."""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import signal
import sys
import threading
import time

import zmq

from bus import contract, curve, settings
from bus.client import HEARTBEAT_S, configure, connect, new_id
from broker.jobs import JobQueue
from bus.runtime import setup_logging

log = logging.getLogger("broker")


def claim_run_dir(cfg: settings.Common):
    """A second bind to the same ipc:// path silently steals it, so refuse to start twice."""
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    lock = open(cfg.run_dir / "broker.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another broker is already running with run dir {cfg.run_dir}")
    return lock


def bind(sock: zmq.Socket, cfg: settings.Common, endpoint: str) -> zmq.Socket:
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://"):]
        if len(path) > 100:
            sys.exit(f"ipc path too long for ZeroMQ ({len(path)} chars): use a shorter GHOSTWIRE_RUN_DIR")
    if endpoint.startswith("tcp://"):
        curve.heartbeat(sock)
        if cfg.curve_dir:
            curve.as_server(sock, cfg.curve_dir)
            curve.log_refusals(sock, endpoint)
        elif not _loopback(endpoint):
            sys.exit(f"refusing to bind {endpoint} beyond loopback without CURVE keys: "
                     "create them with `python -m broker keys NAME` and set GHOSTWIRE_CURVE_DIR")
    sock.bind(endpoint)
    return sock


def _loopback(endpoint: str) -> bool:
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    return host in settings.LOOPBACK_HOSTS


def serve(cfg: settings.Common) -> None:
    ctx = zmq.Context()
    if cfg.curve_dir:
        curve.authenticator(ctx, cfg.curve_dir)
    xsub = bind(configure(ctx.socket(zmq.XSUB)), cfg, cfg.events_in)
    xpub = bind(configure(ctx.socket(zmq.XPUB)), cfg, cfg.events_out)
    threading.Thread(target=zmq.proxy, args=(xsub, xpub), name="events", daemon=True).start()

    jobs = JobQueue(
        bind(configure(ctx.socket(zmq.PULL)), cfg, cfg.jobs_in),
        bind(configure(ctx.socket(zmq.ROUTER), ROUTER_MANDATORY=1), cfg, cfg.jobs_out),
    )
    status = connect(configure(ctx.socket(zmq.PUB)), dataclasses.replace(cfg, curve_name="broker"), cfg.events_in)
    instance, started = new_id("broker-"), time.time()
    log.info("ready: events %s → %s, jobs %s → %s", cfg.events_in, cfg.events_out,
             cfg.jobs_in, cfg.jobs_out)

    poller = zmq.Poller()
    poller.register(jobs.inbox, zmq.POLLIN)
    poller.register(jobs.router, zmq.POLLIN)
    next_beat = 0.0
    while True:
        for sock, _ in poller.poll(HEARTBEAT_S * 1000 / 4):
            jobs.on_inbox() if sock is jobs.inbox else jobs.on_worker()
        if time.monotonic() >= next_beat:
            jobs.expire()
            jobs.dispatch()
            beat = contract.Health(proc="broker", instance=instance, pid=os.getpid(), ts=time.time(),
                                   stats={**jobs.stats(), "uptime_s": int(time.time() - started)})
            status.send_multipart(contract.encode(beat))
            next_beat = time.monotonic() + HEARTBEAT_S




def tap(cfg: settings.Common, prefixes: list[str]) -> None:
    """Print every message on the bus (or those whose topic starts with one of `prefixes`)."""
    ctx = zmq.Context()
    sub = connect(configure(ctx.socket(zmq.SUB)), cfg, cfg.events_out)
    for prefix in prefixes or [""]:
        sub.subscribe(prefix.encode())
    print(f"tapping {cfg.events_out} (Ctrl-C to stop)", file=sys.stderr)
    try:
        while True:
            topic, payload, *_ = sub.recv_multipart()
            print(f"{time.strftime('%H:%M:%S')} {topic.decode(errors='replace'):<16} {payload.decode(errors='replace')}",
                  flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        ctx.destroy(linger=0)


def keys(cfg: settings.Common, names: list[str]) -> None:
    key_dir = cfg.curve_dir or cfg.run_dir.parent / "keys"
    for path in curve.make_keys(key_dir, names or ["web", "crud_worker", "llm_worker"]):
        print(f"created {path}")
    print(f"keys in {key_dir}: set GHOSTWIRE_CURVE_DIR={key_dir} on the broker's host; give each client "
          "its NAME.key + NAME.key_secret + broker.key and set GHOSTWIRE_CURVE_NAME=NAME there.")


def _stop(signum, frame) -> None:
    raise SystemExit(0)  # supervisor's SIGTERM: leave the poll loop and release the run-dir lock


def main(argv: list[str]) -> None:
    cfg = settings.load(settings.Common)
    if argv[:1] == ["tap"]:
        tap(cfg, argv[1:])
        return
    if argv[:1] == ["keys"]:
        keys(cfg, argv[1:])
        return
    setup_logging("broker")
    signal.signal(signal.SIGTERM, _stop)
    lock = claim_run_dir(cfg)
    try:
        serve(cfg)
    except KeyboardInterrupt:
        pass
    finally:
        lock.close()


if __name__ == "__main__":
    main(sys.argv[1:])
