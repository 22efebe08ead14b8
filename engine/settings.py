"""The engine's settings (see `bus.settings` for how they are declared and read). Which GGUF and which
port are `models.local.LocalSettings`, shared with the llm_worker that calls the engine."""

from __future__ import annotations

import dataclasses
import os

from bus.settings import Common, masked, var
from models.local import LocalSettings


@dataclasses.dataclass(frozen=True, repr=False)
class EngineSettings:
    common: Common = dataclasses.field(default_factory=Common)
    local: LocalSettings = dataclasses.field(default_factory=LocalSettings)
    num_ctx: int = var("LLM_NUM_CTX", 8192)
    threads: int = var("GHOSTWIRE_ENGINE_THREADS", 0, doc_default="the machine's cores")
    slots: int = var("GHOSTWIRE_ENGINE_SLOTS", 1)

    @property
    def n_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    __repr__ = masked
