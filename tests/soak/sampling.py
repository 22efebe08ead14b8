"""Memory and open descriptors of every process over a long run, and how fast each grows."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    t: float      # seconds since the run began
    pid: int
    rss_mb: float
    fds: int


def sample(pid: int, t: float) -> Sample | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return Sample(t, pid, rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd")))
    except (FileNotFoundError, ProcessLookupError, StopIteration):  # it died between pid and read
        return None


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per minute."""
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


@dataclass(frozen=True)
class Trend:
    program: str
    pid: int
    minutes: float       # how long the measured stretch lasted (after warm-up)
    rss_start_mb: float
    rss_mb_per_min: float
    fds_start: int
    fds_per_min: float

    def growth(self) -> tuple[float, float]:
        """What the trend adds over the measured stretch: (MB, descriptors)."""
        return self.rss_mb_per_min * self.minutes, self.fds_per_min * self.minutes


def trends(samples: dict[str, list[Sample]], warmup_s: float) -> list[Trend]:
    """Per program, its longest-lived process (a SIGKILL starts a new one), after `warmup_s` of it."""
    out = []
    for program, points in samples.items():
        by_pid: dict[int, list[Sample]] = defaultdict(list)
        for s in points:
            by_pid[s.pid].append(s)
        pid, life = max(by_pid.items(), key=lambda kv: kv[1][-1].t - kv[1][0].t)
        warm = [s for s in life if s.t - life[0].t >= warmup_s]
        if len(warm) < 3:
            continue
        out.append(Trend(program, pid, (warm[-1].t - warm[0].t) / 60, warm[0].rss_mb,
                         slope_per_min([(s.t, s.rss_mb) for s in warm]), warm[0].fds,
                         slope_per_min([(s.t, s.fds) for s in warm])))
    return out
