"""Whatever signal ends `make run` — Ctrl-C (SIGINT), a service manager or container runtime (SIGTERM),
a closed terminal (SIGHUP), to the whole process group or to supervisord alone — every process of ours
is gone within seconds, the port is free, and the logs reached the terminal and ghostwire.log."""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.helpers import PROCESSES, READY
from tests.report import STATS
from tests.lifecycle.makerun import MakeRun, cmdline, port_free
from tests.util import wait_for

STOP_DEADLINE_S = 10.0  # supervisord stops the four one after another; each takes well under a second
START_TIMEOUT_S = 60.0


def all_ready(run: MakeRun) -> bool:
    log = run.log()
    return all(READY[p] in log for p in PROCESSES)


@pytest.mark.parametrize("target", ["group", "supervisord"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_any_signal_stops_every_process_and_frees_the_port(sig, target):
    run = MakeRun().start()
    try:
        wait_for(lambda: all_ready(run), START_TIMEOUT_S, interval=0.1, what=f"make run ready ({run.terminal_path})")
        ours = run.ours()
        commands = [cmdline(p) for p in ours]
        for program in ("supervis", *(f"-m {p}" for p in PROCESSES)):
            assert any(program in c for c in commands), f"no {program!r} among {commands}"
        assert not port_free(run.port), "the web should hold its port while running"

        t0 = time.monotonic()
        run.stop_by(sig, target, ours, STOP_DEADLINE_S)
        took = time.monotonic() - t0
        assert port_free(run.port), f"port {run.port} still taken"

        # The stop itself was logged, to both places, after the signal: the output never broke.
        for where, text in (("terminal", run.terminal()), ("ghostwire.log", run.log())):
            assert "exit request" in text and "stopped: broker" in text, f"the stop did not reach the {where}"
        STATS["clean stop"][f"{sig.name} to {target}"] += 1
        STATS["clean stop"]["slowest stop ms"] = max(STATS["clean stop"]["slowest stop ms"], round(took * 1000))
    finally:
        run.close()
