"""Each process's health as its heartbeats tell it, and the status line's state made from it: which
processes are up, the lead LLM worker's backend and models, the model the person chose."""

from __future__ import annotations

import time

import msgspec

from bus import contract as c

STALE_S = 3.5
PROCS = ("broker", "crud_worker", "llm_worker")


class Status(msgspec.Struct, frozen=True):
    """What the status line and /health show: the lead LLM worker's backend and model, each process's state."""

    procs: dict[str, bool]  # broker, crud_worker, llm_worker → up
    backend: str
    model: str
    models: tuple[str, ...]
    reachable: bool
    note: str
    workers: int


class Processes:
    def __init__(self, chosen_model: str):
        self.health: dict[str, c.Health] = {}
        self.seen: dict[str, float] = {}
        self.chosen_model = chosen_model

    def on_health(self, m: c.Health) -> None:
        self.health[m.instance] = m
        self.seen[m.instance] = time.monotonic()

    def up(self, proc: str) -> bool:
        now = time.monotonic()
        return any(h.proc == proc and now - self.seen[i] < STALE_S for i, h in self.health.items())

    def llm_workers(self) -> list[c.Health]:
        now = time.monotonic()
        return [h for i, h in self.health.items() if h.proc == "llm_worker" and now - self.seen[i] < STALE_S]

    def status(self) -> Status:
        workers = self.llm_workers()
        lead = workers[0] if workers else None
        models = tuple(lead.models) if lead else ()
        chosen = self.chosen_model if self.chosen_model in models else ""
        return Status(procs={p: self.up(p) for p in PROCS}, backend=lead.backend if lead else "",
                      model=chosen or (lead.model if lead else ""), models=models,
                      reachable=lead.reachable if lead else False,
                      note=lead.note if lead else "No LLM worker is running, so replies will wait.",
                      workers=len(workers))

    def forget_stale(self) -> None:
        cutoff = time.monotonic() - 60
        for i in [i for i, t in self.seen.items() if t < cutoff]:
            self.seen.pop(i)
            self.health.pop(i)
