"""With GHOSTWIRE_TOKEN set, every route but the login page needs a session (or the token as a
Bearer header, for scripts and health checks). Without it, the server only listens on loopback.

A session is a random id the server remembers (nothing in the cookie is derived from the token, so a
copied cookie gives the token away to no one); it lasts SESSION_DAYS, ends at `POST /logout` and
when web restarts. Wrong tokens are throttled per client, however they come (the login form, a Bearer
header on any route or /mcp, a session cookie the server doesn't hold): a few free tries, then a
doubling wait during which every try gets 429 unchecked, each wait logged once."""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from fasthtml.common import Button, Div, Form, H1, Input, Main, P, Title
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from web.fragment import to_html

log = logging.getLogger("web.auth")
OPEN_PATHS = ("/login", "/static/")
COOKIE = "ghostwire_session"
SESSION_DAYS = 30
MAX_SESSIONS = 1_000  # the oldest is forgotten first
FREE_TRIES = 5  # wrong tokens in a row before the waits begin
MAX_WAIT_S = 15 * 60
MAX_CLIENTS = 10_000  # clients whose failures are remembered


class Sessions:
    def __init__(self, lifetime_s: float = SESSION_DAYS * 86_400):
        self.lifetime_s = lifetime_s
        self._ends: OrderedDict[str, float] = OrderedDict()  # session id → monotonic end

    def new(self) -> str:
        sid = secrets.token_urlsafe(32)
        self._ends[sid] = time.monotonic() + self.lifetime_s
        while len(self._ends) > MAX_SESSIONS:
            self._ends.popitem(last=False)
        return sid

    def valid(self, sid: str | None) -> bool:
        end = self._ends.get(sid or "")
        if end is None:
            return False
        if end < time.monotonic():
            del self._ends[sid]
            return False
        return True

    def end(self, sid: str | None) -> None:
        self._ends.pop(sid or "", None)


@dataclass
class Failures:
    count: int = 0
    wait_until: float = 0.0
    refused_while_waiting: int = 0


class Throttle:
    """Wrong tokens per client address: after FREE_TRIES, a wait of 2, 4, 8 … s (at most MAX_WAIT_S)."""

    def __init__(self):
        self._clients: OrderedDict[str, Failures] = OrderedDict()

    def wait_left(self, client: str) -> float:
        f = self._clients.get(client)
        return max(0.0, f.wait_until - time.monotonic()) if f else 0.0

    def refused(self, client: str) -> None:
        f = self._clients[client]
        f.refused_while_waiting += 1
        if f.refused_while_waiting == 1:  # one line per wait, however many tries come in it
            log.warning("tries from %s refused with 429: %d wrong tokens in a row, %.0f s left to wait",
                        client, f.count, self.wait_left(client))

    def failed(self, client: str, how: str = "login") -> None:
        f = self._clients.pop(client, None) or Failures()
        self._clients[client] = f  # most recent last
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        f.count += 1
        f.refused_while_waiting = 0
        wait = 0.0 if f.count < FREE_TRIES else min(MAX_WAIT_S, 2.0 ** (f.count - FREE_TRIES + 1))
        f.wait_until = time.monotonic() + wait
        log.warning("wrong token from %s by %s (%d in a row)%s", client, how, f.count,
                    f"; next try allowed in {wait:.0f} s" if wait else "")

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)


def _bearer_ok(req: Request, token: str) -> bool:
    header = req.headers.get("authorization", "")
    return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode())


def _client(req: Request) -> str:
    """The client's address (uvicorn takes it from X-Forwarded-For only from GHOSTWIRE_TRUSTED_PROXIES)."""
    return req.client.host if req.client else "unknown"


def login_page(error: str = ""):
    return Title("Ghostwire · sign in"), Main(
        H1("Ghostwire"),
        Form(Input(type="password", name="token", placeholder="Access token", autofocus=True, required=True),
             Button("Sign in", type="submit", cls="primary"), method="post", action="/login"),
        Div(P(error, cls="error-text"), cls="error") if error else "",
        cls="login")


class Auth:
    def __init__(self, token: str):
        self.token = token
        self.sessions = Sessions()
        self.throttle = Throttle()

    def check(self, req: Request):
        """Beforeware (and /mcp's check): a session or the Bearer token, else the login page (or 401 for
        anything but the page). A wrong Bearer token or session cookie counts against the client like a
        wrong login, under the same throttle (429 while it waits, the token unchecked)."""
        sid = req.cookies.get(COOKIE)
        if req.url.path.startswith(OPEN_PATHS) or self.sessions.valid(sid):
            return None
        bearer = req.headers.get("authorization")
        if bearer is not None or sid is not None:  # a credential was presented: a try
            client = _client(req)
            if wait := self.throttle.wait_left(client):
                self.throttle.refused(client)
                seconds = math.ceil(wait)
                return self._forget(PlainTextResponse(f"too many wrong tokens from here: try again in {seconds} s",
                                                      status_code=429, headers={"Retry-After": str(seconds)}), sid)
            if bearer is not None and _bearer_ok(req, self.token):
                self.throttle.succeeded(client)
                return None
            self.throttle.failed(client, "session cookie" if bearer is None else "Bearer token")
        if req.method == "GET" and req.url.path == "/":
            return self._forget(RedirectResponse("/login", status_code=303), sid)
        return self._forget(PlainTextResponse("sign in first: this Ghostwire needs its token", status_code=401), sid)

    @staticmethod
    def _forget(response: Response, sid: str | None) -> Response:
        """A session this server doesn't hold (it restarted, or the session ended) is cleared from the
        browser, so its reconnecting tabs count as one wrong try, not one a second."""
        if sid is not None:
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return response

    def login_page(self):
        return login_page()

    async def login_post(self, req: Request) -> Response:
        client = _client(req)
        wait = self.throttle.wait_left(client)
        if wait:
            self.throttle.refused(client)
            seconds = math.ceil(wait)
            return HTMLResponse(to_html(login_page(f"Too many wrong tokens from here. Try again in {seconds} s.")),
                                status_code=429, headers={"Retry-After": str(seconds)})
        form = await req.form()
        given = str(form.get("token", ""))
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            self.throttle.failed(client)
            return HTMLResponse(to_html(login_page("That token is not right.")), status_code=401)
        self.throttle.succeeded(client)
        response = RedirectResponse("/", status_code=303)
        # Secure when the request came over https; behind a proxy uvicorn reads that from
        # X-Forwarded-Proto, and only from GHOSTWIRE_TRUSTED_PROXIES.
        response.set_cookie(COOKIE, self.sessions.new(), max_age=SESSION_DAYS * 86_400, path="/", httponly=True,
                            samesite="lax", secure=req.url.scheme == "https")
        return response

    async def logout(self, req: Request) -> Response:
        self.sessions.end(req.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=req.url.scheme == "https")
        return response
