"""What a run measured, printed once at its end: the fault and hostile-input tallies, the real
engine's figures, the reason a whole room of tests skipped, and the log tail of any stack a test
failed in (so a CI failure can be read without reproducing it).

`make test` runs the tests in pytest-xdist workers, each in a process of its own: a worker hands
what it measured to the controller when it ends (`dump` → `load`, tests/conftest.py), which prints
the whole. A tally is a count, so the workers' add up; a figure one test sets (a time, a maximum) is
set by one test file, and a file runs in one worker (`--dist loadfile`), so it arrives as it was set.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

STATS: defaultdict[str, Counter] = defaultdict(Counter)  # group → what → count (or one test's figure)
ENGINE_FIGURES: list[str] = []  # what the real-engine tests measured, a line each
ENGINE_LOGS: list[str] = []  # each real-engine stack's log: the engine's own timings are in it
FAILED_STACK_LOGS: list[tuple[str, str]] = []  # (where, the log's last lines)


def dump() -> str:
    return json.dumps({"stats": STATS, "figures": ENGINE_FIGURES, "engine_logs": ENGINE_LOGS,
                       "failed": FAILED_STACK_LOGS})


def load(dumped: str | None) -> None:
    """Add a worker's part (None: the worker died before it could say)."""
    if not dumped:
        return
    part = json.loads(dumped)
    for group, counts in part["stats"].items():
        STATS[group].update(counts)
    ENGINE_FIGURES.extend(part["figures"])
    ENGINE_LOGS.extend(part["engine_logs"])
    FAILED_STACK_LOGS.extend(tuple(f) for f in part["failed"])


def _ours(reporter, room: str) -> dict[str, list]:
    return {outcome: [r for r in reports if getattr(r, "nodeid", "").startswith(room)]
            for outcome, reports in reporter.stats.items() if outcome}


def _skip_reason(reports: list) -> str:
    longrepr = reports[0].longrepr
    return longrepr[-1] if isinstance(longrepr, tuple) else str(longrepr)


def print_all(reporter) -> None:
    for where, tail in FAILED_STACK_LOGS:
        reporter.write_sep("=", f"end of the stack's log, {where} (a test failed while it ran)")
        reporter.write_line(tail)
    if skipped := _ours(reporter, "tests/netns/").get("skipped"):
        reporter.write_line(f"network-namespace tests SKIPPED: {_skip_reason(skipped)}", yellow=True, bold=True)
    if STATS:
        reporter.section("ghostwire fault and hostile-input tallies")
        for group in sorted(STATS):
            reporter.write_line(f"{group}: " + ", ".join(f"{k}={v}" for k, v in sorted(STATS[group].items())))
    _engine(reporter)


def _engine(reporter) -> None:
    from tests.engine.server import eval_speed  # only when the engine's tests ran

    ours = _ours(reporter, "tests/engine/")
    if not any(ours.values()):
        return
    reporter.write_sep("-", "real engine (xllamacpp + Qwen2.5-Coder-0.5B/1.5B-Instruct)")
    reporter.write_line("engine tests: " + ", ".join(f"{len(r)} {o}" for o, r in sorted(ours.items()) if r))
    if ours.get("skipped"):
        reporter.write_line(f"skipped because {_skip_reason(ours['skipped'])}")
    for line in ENGINE_FIGURES:
        reporter.write_line(line)
    if ENGINE_LOGS:
        reporter.write_line(eval_speed(*ENGINE_LOGS))
