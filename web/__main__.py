"""web: serve the page, the SSE stream and the routes. Refuses to leave loopback without a token."""

from __future__ import annotations

import os
import sys

import uvicorn

from broker import settings
from broker.runtime import setup_logging
from web.app import create_app

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def main() -> None:
    cfg = settings.load()
    setup_logging("web")
    # In a container the port must be bound on all interfaces; compose publishes it on the host's
    # loopback only, so the image sets GHOSTWIRE_ALLOW_UNAUTHENTICATED to say exactly that.
    contained = os.environ.get("GHOSTWIRE_ALLOW_UNAUTHENTICATED") == "1"
    if cfg.host not in LOOPBACK and not cfg.token and not contained:
        sys.exit(f"web: refusing to listen on {cfg.host}: anyone on the network could use it. "
                 "Set GHOSTWIRE_TOKEN to a long random secret to allow this, or use GHOSTWIRE_HOST=127.0.0.1.")
    app = create_app(cfg)
    print(f"Ghostwire is running at http://{cfg.host}:{cfg.port}", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, timeout_graceful_shutdown=2, log_level="warning",
                access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
