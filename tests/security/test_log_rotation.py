"""The `make run` log is bounded (#25): `bus/logtee.py` tees supervisord's output to the terminal and to
ghostwire.log, rotating the file past its size, so a flood of log lines can't fill the disk."""

from __future__ import annotations

import signal
import subprocess
import sys

from bus.logtee import Rotating
from tests.report import STATS
from tests.stack import ROOT


def test_the_log_file_rotates_and_stays_bounded(tmp_path):
    path = tmp_path / "ghostwire.log"
    log = Rotating(path, max_bytes=1_000, keep=3)
    for n in range(10_000):  # 240 KB of lines into a 4 KB budget
        log.write(f"2026-12-06 web INFO line {n:06d}\n".encode())
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["ghostwire.log", "ghostwire.log.1", "ghostwire.log.2", "ghostwire.log.3"]
    assert all(f.stat().st_size <= 1_000 for f in files)
    assert path.read_text().splitlines()[-1].endswith("line 009999"), "the newest lines are in the current file"
    assert all(text.endswith("\n") for text in (f.read_text() for f in files)), "no line is split"
    STATS["hostile"]["log floods bounded"] += 1


def test_the_tee_passes_every_line_on_and_outlives_a_stop_signal(tmp_path):
    path = tmp_path / "ghostwire.log"
    tee = subprocess.Popen([sys.executable, "-m", "bus.logtee", str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    tee.stdin.write(b"first\n")
    tee.stdin.flush()
    assert tee.stdout.readline() == b"first\n"
    tee.send_signal(signal.SIGTERM)  # supervisord's output must keep flowing while it stops everything
    tee.stdin.write(b"after the signal\n")
    tee.stdin.close()
    assert tee.stdout.read() == b"after the signal\n"
    assert tee.wait(10) == 0
    assert path.read_bytes() == b"first\nafter the signal\n"
