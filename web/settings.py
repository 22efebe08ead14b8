"""The web process's settings (see `bus.settings` for how they are declared and read)."""

from __future__ import annotations

import dataclasses

from bus.settings import Common, masked, var


@dataclasses.dataclass(frozen=True, repr=False)
class WebSettings:
    common: Common = dataclasses.field(default_factory=Common)
    host: str = var("GHOSTWIRE_HOST", "127.0.0.1")
    port: int = var("GHOSTWIRE_PORT", 5001)
    token: str = var("GHOSTWIRE_TOKEN", "", secret=True)
    # A container must bind all interfaces; compose publishes the port on the host's loopback only,
    # so the image sets this to say exactly that.
    allow_unauthenticated: bool = var("GHOSTWIRE_ALLOW_UNAUTHENTICATED", False)

    __repr__ = masked
