"""A bus across machines: tcp with CURVE. An authorised worker gets jobs; a stranger gets nothing."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import pytest
import zmq
import zmq.auth

from bus import contract, curve, settings
from bus.client import JOB, READY, configure, connect
from tests.stack import ROOT, clean_env, free_port

POLL_MS = 1500  # how long a stranger is given to receive something it must not


@pytest.fixture
def curve_bus(tmp_path):
    keys = tmp_path / "keys"
    curve.make_keys(keys, ["worker", "crud"])
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    zmq.auth.create_certificates(stranger, "worker")  # a valid pair the broker was never told about
    shutil.copy(keys / "broker.key", stranger / "broker.key")
    ports = [free_port() for _ in range(4)]
    env = clean_env(GHOSTWIRE_RUN_DIR=str(tmp_path / "run"), GHOSTWIRE_CURVE_DIR=str(keys),
                    **{f"GHOSTWIRE_BUS_{name}": f"tcp://127.0.0.1:{port}"
                       for name, port in zip(["EVENTS_IN", "EVENTS_OUT", "JOBS_IN", "JOBS_OUT"], ports)})
    broker = subprocess.Popen([sys.executable, "-m", "broker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    cfg = settings.load(settings.Common, environ=env)
    ctx = zmq.Context()
    try:
        yield ctx, cfg, dataclasses.replace(cfg, curve_dir=stranger)
    finally:
        ctx.destroy(linger=0)
        broker.terminate()
        broker.wait(10)


def worker(ctx, cfg, name):
    sock = configure(ctx.socket(zmq.DEALER))
    sock.setsockopt(zmq.IDENTITY, name.encode())
    connect(sock, dataclasses.replace(cfg, curve_name="worker"), cfg.jobs_out)
    sock.send_multipart([READY, b"1"])
    return sock


def test_authorised_worker_gets_jobs_and_a_stranger_gets_nothing(curve_bus):
    ctx, good_cfg, stranger_cfg = curve_bus
    stranger = worker(ctx, stranger_cfg, "stranger")
    good = worker(ctx, good_cfg, "good")
    push = connect(configure(ctx.socket(zmq.PUSH)), dataclasses.replace(good_cfg, curve_name="crud"),
                   good_cfg.jobs_in)
    for n in range(3):
        push.send(contract.encode_job(contract.LlmJob(msg_id=f"job{n}", messages=[])))
    assert good.poll(10_000), "the authorised worker should get a job"
    kind, payload = good.recv_multipart()
    assert kind == JOB and contract.decode_job(payload).msg_id == "job0"
    assert not stranger.poll(POLL_MS), "a worker with unknown keys must get nothing"
    good.send_multipart([READY, b"1"])
    assert good.poll(10_000) and contract.decode_job(good.recv_multipart()[1]).msg_id == "job1"


def test_stranger_cannot_listen_to_the_event_bus(curve_bus):
    ctx, good_cfg, stranger_cfg = curve_bus
    subs = {}
    for who, cfg in (("good", good_cfg), ("stranger", stranger_cfg)):
        sub = connect(configure(ctx.socket(zmq.SUB)), dataclasses.replace(cfg, curve_name="worker"),
                      cfg.events_out)
        sub.subscribe(b"")
        subs[who] = sub
    assert subs["good"].poll(10_000), "the broker's heartbeat reaches an authorised subscriber"
    assert subs["good"].recv_multipart()[0] == b"health.broker"
    assert not subs["stranger"].poll(POLL_MS)


def test_binding_beyond_loopback_without_keys_is_refused(tmp_path):
    env = clean_env(GHOSTWIRE_RUN_DIR=str(tmp_path / "run"), GHOSTWIRE_BUS_EVENTS_IN="tcp://0.0.0.0:0")
    out = subprocess.run([sys.executable, "-m", "broker"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=20)
    assert out.returncode != 0
    assert "without CURVE keys" in out.stderr + out.stdout


def test_keys_command_makes_pairs_and_authorises_them(tmp_path):
    env = clean_env(GHOSTWIRE_CURVE_DIR=str(tmp_path / "k"), GHOSTWIRE_RUN_DIR=str(tmp_path / "run"))
    out = subprocess.run([sys.executable, "-m", "broker", "keys", "gpu-box"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "k" / "gpu-box.key_secret").stat().st_mode & 0o077 == 0
    assert (tmp_path / "k" / "authorized" / "gpu-box.key").exists()
    assert (tmp_path / "k" / "broker.key").exists()
