"""web: serve the page, the SSE stream and the routes. Refuses to leave loopback without a token."""

from __future__ import annotations

import sys

import uvicorn

from bus import settings
from bus.settings import LOOPBACK_HOSTS
from bus.runtime import setup_logging
from web.app import create_app
from web.settings import WebSettings

def main() -> None:
    cfg = settings.load(WebSettings)
    setup_logging("web")
    if cfg.host not in LOOPBACK_HOSTS and not cfg.token and not cfg.allow_unauthenticated:
        sys.exit(f"web: refusing to listen on {cfg.host}: anyone on the network could use it. "
                 "Set GHOSTWIRE_TOKEN to a long random secret to allow this, or use GHOSTWIRE_HOST=127.0.0.1.")
    app = create_app(cfg)
    print(f"Ghostwire is running at http://{cfg.host}:{cfg.port}", flush=True)
    # uvicorn believes X-Forwarded-* only from the proxies named (by default it trusts 127.0.0.1,
    # which would let any local client pick its own address for the login throttle)
    proxies = cfg.trusted_proxies.replace(" ", "")
    uvicorn.run(app, host=cfg.host, port=cfg.port, timeout_graceful_shutdown=2, log_level="warning",
                access_log=False, lifespan="on", proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


if __name__ == "__main__":
    main()
