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
    # Host names besides loopback and GHOSTWIRE_HOST that the page may be opened by (a proxy's name).
    allowed_hosts: str = var("GHOSTWIRE_ALLOWED_HOSTS", "")
    # Addresses whose X-Forwarded-For/-Proto are believed (a reverse proxy in front): comma-separated.
    trusted_proxies: str = var("GHOSTWIRE_TRUSTED_PROXIES", "")
    # MCP sessions open at once (each holds its streams and tasks), and how long an idle one lives.
    mcp_sessions: int = var("GHOSTWIRE_MCP_SESSIONS", 100)
    mcp_idle_s: float = var("GHOSTWIRE_MCP_IDLE_S", 300.0)

    @property
    def allowed_host_names(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    __repr__ = masked
