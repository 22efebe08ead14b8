"""The crud_worker's settings (see `bus.settings` for how they are declared and read)."""

from __future__ import annotations

import dataclasses

from bus.settings import Common, masked, var
from crud_worker.prompts import DEFAULT_PERSONA


@dataclasses.dataclass(frozen=True, repr=False)
class CrudSettings:
    common: Common = dataclasses.field(default_factory=Common)
    num_ctx: int = var("LLM_NUM_CTX", 8192)
    persona: str = var("GHOSTWIRE_PERSONA", DEFAULT_PERSONA)
    native_tools: bool = var("LLM_NATIVE_TOOLS", False)
    changes_keep: int = var("GHOSTWIRE_CHANGES_KEEP", 10_000)
    ask: str = var("GHOSTWIRE_ASK", "")
    ask_timeout: float = var("GHOSTWIRE_ASK_TIMEOUT", 600.0)

    __repr__ = masked
