"""The engine's settings (see `bus.settings` for how they are declared and read)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from bus.settings import Common, masked, var


@dataclasses.dataclass(frozen=True, repr=False)
class EngineSettings:
    common: Common = dataclasses.field(default_factory=Common)
    model_path: Path | None = var("LLM_MODEL_PATH", None, doc_default="the fetched model")
    num_ctx: int = var("LLM_NUM_CTX", 8192)
    threads: int = var("GHOSTWIRE_ENGINE_THREADS", 0, doc_default="the machine's cores")
    slots: int = var("GHOSTWIRE_ENGINE_SLOTS", 1)
    port: int = var("GHOSTWIRE_ENGINE_PORT", 18091)

    @property
    def n_threads(self) -> int:
        return self.threads or os.cpu_count() or 1

    __repr__ = masked
