"""CPU seconds and memory of a process (or one thread) straight from /proc: no psutil needed."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime; with `tid`, of that one thread of `pid`."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path) as f:
        fields = f.read().rpartition(")")[2].split()  # comm may contain spaces; fields after it are fixed
    return (int(fields[11]) + int(fields[12])) / TICK  # fields 14 and 15 of proc(5)


def status_mb(pid: int, key: str) -> float:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM, …) in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    raise KeyError(f"{key} not in /proc/{pid}/status")


class CpuMeter:
    """CPU seconds each named process spent between `start()` and `stop()`."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.before: dict[str, float] = {}

    def start(self) -> None:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self) -> dict[str, float]:
        return {name: round(cpu_seconds(pid) - self.before[name], 3) for name, pid in self.pids.items()}


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "python": sys.version.split()[0], "kernel": platform.release(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
