"""`make run` for real, as a person starts it: its own process group (a terminal's), a throwaway run
and data dir, a free port, the demo model. The test's file plays the terminal."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.stack import HX, ROOT, clean_env, free_port
from tests.util import wait_for


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # clock ticks after boot (/proc/PID/stat field 22): a reused pid has another
    name: str


def _stat(pid: int) -> tuple[str, int, int, str] | None:
    """(state, ppid, start time, name) of a live process, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19]), name


def alive(p: Proc) -> bool:
    """Still running: a zombie holds no port and no file, so it counts as gone."""
    st = _stat(p.pid)
    return st is not None and st[2] == p.started and st[0] != "Z"


def descendants(root: int) -> list[Proc]:
    """Every live process under `root` (root included), found by walking /proc's parent links."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) and st[0] != "Z":
            table[int(entry)] = st
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        if pid in table:
            found.append(Proc(pid, table[pid][2], table[pid][3]))
            frontier.extend(p for p, st in table.items() if st[1] == pid)
    return found


def cmdline(p: Proc) -> str:
    try:
        return Path(f"/proc/{p.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class MakeRun:
    def __init__(self, **env: str):
        self.base = Path(tempfile.mkdtemp(prefix="gw", dir="/tmp"))  # short: ipc paths max out at 107 chars
        self.run_dir, self.data_dir = self.base / "run", self.base / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env(GHOSTWIRE_RUN_DIR=str(self.run_dir), GHOSTWIRE_DATA_DIR=str(self.data_dir),
                             GHOSTWIRE_PORT=str(self.port), **{"LLM_BACKEND": "demo", **env})
        self.terminal_path = self.base / "terminal.txt"
        self.proc: subprocess.Popen | None = None
        self.seen: set[Proc] = set()  # every process of ours ever listed: orphans leave make's tree
        self.http = httpx.Client(base_url=self.url, timeout=10, headers=HX)

    def start(self) -> "MakeRun":
        terminal = open(self.terminal_path, "ab")
        self.proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=self.env,
                                     stdout=terminal, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        terminal.close()
        return self

    def terminal(self) -> str:
        return self.terminal_path.read_text(errors="replace")

    def log(self) -> str:
        path = self.run_dir / "ghostwire.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def supervisord_pid(self) -> int:
        return int((self.run_dir / "supervisord.pid").read_text())

    def ours(self) -> list[Proc]:
        """make, its shell, supervisord, tee and the four processes."""
        procs = descendants(self.proc.pid)
        self.seen.update(procs)
        return procs

    def stop_by(self, sig: signal.Signals, target: str, ours: list[Proc], deadline_s: float) -> None:
        """Send `sig` as a person's terminal or a service manager would (to make's process group, or to
        supervisord alone) and wait until every one of `ours` is gone."""
        if target == "group":
            os.killpg(self.proc.pid, sig)
        else:
            os.kill(self.supervisord_pid(), sig)
        wait_for(lambda: not any(alive(p) for p in ours), deadline_s, interval=0.05,
                 what=f"every process gone after {sig.name} to {target}: "
                      f"{[(p.name, p.pid) for p in ours if alive(p)]}")

    def close(self) -> None:
        """Whatever a test left running is killed here, so one failure cannot leak into the next."""
        self.http.close()
        if self.proc is not None:
            self.ours()
            for p in self.seen:
                if alive(p):
                    os.kill(p.pid, signal.SIGKILL)
            self.proc.wait(10)
        if not os.environ.get("GHOSTWIRE_KEEP_TEST_DIRS"):
            shutil.rmtree(self.base, ignore_errors=True)
