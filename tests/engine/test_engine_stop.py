"""Every way of stopping the app stops the engine too: `LLM_BACKEND=local make run`, the engine serving,
then a signal to make's process group or to supervisord alone; the engine (llama.cpp's threads and all)
is gone with the four within seconds and its port is free."""

from __future__ import annotations

import signal
import socket

import pytest

from tests.engine.server import model_file, why_unavailable
from tests.lifecycle.makerun import MakeRun, cmdline
from tests.stack import free_port
from tests.util import wait_for

STOP_DEADLINE_S = 10.0
START_TIMEOUT_S = 90.0
SERVING = "engine      INFO    serving on"
pytestmark = pytest.mark.skipif(bool(why_unavailable()), reason=why_unavailable() or "")


def listening(port: int) -> bool:
    """Whether a server accepts on the port (its closed connections' TIME_WAIT doesn't count: the engine
    binds with SO_REUSEADDR, so a new one can start at once)."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig, target", [(signal.SIGINT, "group"), (signal.SIGTERM, "supervisord"),
                                         (signal.SIGHUP, "group")], ids=lambda v: getattr(v, "name", v))
def test_stopping_the_app_stops_the_engine(sig, target):
    engine_port = free_port()
    run = MakeRun(LLM_BACKEND="local", LLM_MODEL_PATH=str(model_file()), LLM_NUM_CTX="1024",
                  GHOSTWIRE_ENGINE_PORT=str(engine_port)).start()
    try:
        wait_for(lambda: SERVING in run.log(), START_TIMEOUT_S, interval=0.1,
                 what=f"the engine serving ({run.terminal_path})")
        ours = run.ours()
        assert any("-m engine" in cmdline(p) for p in ours), [cmdline(p) for p in ours]
        assert listening(engine_port)
        run.stop_by(sig, target, ours, STOP_DEADLINE_S)
        assert not listening(engine_port), f"something still listens on the engine's port {engine_port}"
        assert "stopped: engine" in run.log()
    finally:
        run.close()
