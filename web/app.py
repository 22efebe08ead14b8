"""The FastHTML app: our own pinned assets (no CDN), the bus hub started in the lifespan, and each
feature's routes (its router: a module's `register(app)`)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
from pathlib import Path
from urllib.parse import urlsplit

from fasthtml.common import Beforeware, FastHTML, Link, Meta, Script
from fasthtml.core import fh_cfg
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette_compress import CompressMiddleware
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles

from bus.client import Bus, JobSender
from bus.settings import LOOPBACK_HOSTS
from web.settings import WebSettings
from web import auth
from web.chat import routes as chat
from web.conversations import routes as conversations
from web.edge import BodyLimit, foreign, form_unreadable
from web.live.hub import TOPICS, Hub
from web.live.store import Store
from web.mcp import endpoint as mcp_endpoint
from web.page import routes as page
from web.page.screen import Screen
from web.tasks import routes as tasks, transfer
from web.trust import routes as trust

log = logging.getLogger("web")
fh_cfg.indent = False  # pretty-printing would put whitespace inside white-space: pre-wrap bubbles
STATIC = Path(__file__).parent / "static"
ASSETS = ("vendor/htmx.min.js", "vendor/sse.js", "vendor/Sortable.min.js", "app.js", "conversation.js")
ROUTERS = (page, chat, tasks, transfer, conversations, trust)  # each feature registers its own routes


def origin_guard(cfg: WebSettings):
    """Only our own host names are served, token or not: a DNS-rebinding page (evil.example
    resolving to 127.0.0.1) would otherwise count as same-origin, and could guess tokens from a
    victim's browser. State-changing requests from another site's page are refused (a browser
    always sends Origin with those)."""
    allowed = LOOPBACK_HOSTS | {cfg.host} | cfg.allowed_host_names

    def check(req: Request, session):
        host = req.headers.get("host", "")
        if urlsplit(f"//{host}").hostname not in allowed:
            return PlainTextResponse(f"unexpected Host {host!r}: open Ghostwire at http://127.0.0.1:{cfg.port}, "
                                     "or list this name in GHOSTWIRE_ALLOWED_HOSTS", status_code=421)
        if req.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if why := foreign(req.headers, req.url.scheme):
            return PlainTextResponse(f"cross-origin request refused: {why}", status_code=403)
        return None

    return check


def _exit_on_failure(task: asyncio.Task) -> None:
    """The hub is the web process's heart: if it dies, stop the server so supervisor restarts us
    (every tab then reconnects and gets a fresh snapshot) instead of serving a page that never updates."""
    if not task.cancelled() and task.exception():
        log.critical("the bus hub failed; stopping so supervisor restarts web", exc_info=task.exception())
        os.kill(os.getpid(), signal.SIGTERM)


def _lifespan(cfg: WebSettings):
    async def lifespan(app):
        bus = Bus(cfg.common, "web", topics=TOPICS)
        hub = app.state.hub = Hub(bus, Store(cfg.common.db_path), JobSender(bus), Screen)

        async def connect_then_serve():
            await asyncio.gather(bus.wait_ready(), hub.renderer.start())
            log.info("ready: bus %s, database %s", cfg.common.events_out, cfg.common.db_path)
            await asyncio.gather(hub.run(), hub.watch_health(), hub.fanout.keepalive(),
                                 bus.heartbeat(lambda: {"stats": {"tabs": len(hub.fanout.tabs)}}))

        task = asyncio.create_task(connect_then_serve())
        task.add_done_callback(_exit_on_failure)
        async with app.state.agents.running(hub):  # the MCP SDK's session manager lives as long as the app
            yield
        hub.fanout.close_all()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.renderer.close()
        bus.close()

    return lifespan


def _headers() -> tuple:
    # resizes-content: a phone's keyboard shrinks the page, so the chat's input stays just above it.
    return (Meta(name="viewport", content="width=device-width, initial-scale=1, interactive-widget=resizes-content"),
            Link(rel="icon", href="/static/favicon.svg", type="image/svg+xml"),
            Link(rel="stylesheet", href="/static/app.css"), Link(rel="stylesheet", href="/static/conversation.css"),
            *[Script(src=f"/static/{a}") for a in ASSETS])


def create_app(cfg: WebSettings) -> FastHTML:
    missing = [a for a in ASSETS if not (STATIC / a).is_file()]
    if missing:
        raise SystemExit(f"web: front-end files missing ({', '.join(missing)}); run `make assets`")
    before = [Beforeware(origin_guard(cfg))]
    guard = auth.Auth(cfg.token) if cfg.token else None
    if guard:
        before.append(Beforeware(guard.check))  # after the Host check: a rebinding page can't even try
    # Starlette's signed session is unused (our sessions are server-side): its key is just random.
    app = FastHTML(title="Ghostwire", hdrs=_headers(), default_hdrs=False, lifespan=_lifespan(cfg),
                   secret_key=secrets.token_hex(32), before=before,
                   htmlkw={"lang": "en", "data-theme": "dark"}, canonical=False,
                   exception_handlers={400: form_unreadable},
                   # Compression outermost: zstd, br or gzip by Accept-Encoding, for the page, the assets
                   # and /events alike (an event stream gets one compressor per connection, flushed after
                   # every event); then the body limit, refusing an oversized upload before any route.
                   middleware=[Middleware(CompressMiddleware, zstd_level=3, brotli_quality=4, gzip_level=6),
                               Middleware(BodyLimit, answered_by=(mcp_endpoint.PATH,))])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.signed_in = bool(guard)  # the page shows "Sign out"
    for router in ROUTERS:
        router.register(app)
    host_check = origin_guard(cfg)
    app.state.agents = mcp_endpoint.mount(app, lambda req: host_check(req, None), guard.check if guard else None,
                                          cfg.mcp_sessions, cfg.mcp_idle_s)
    if guard:
        app.route("/login", methods=["GET"])(guard.login_page)
        app.route("/login", methods=["POST"])(guard.login_post)
        app.route("/logout", methods=["POST"])(guard.logout)
    return app
