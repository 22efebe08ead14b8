"""With GHOSTWIRE_TOKEN set, every route but the login page needs a session (or the token as a
Bearer header, for scripts and health checks). Without it, the server only listens on loopback."""

from __future__ import annotations

import hashlib
import hmac

from fasthtml.common import Button, Div, Form, H1, Input, Main, P, Title
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

OPEN_PATHS = ("/login", "/static/")


def session_key(token: str) -> str:
    """Sessions signed with a key derived from the token survive restarts and die when it changes."""
    return hashlib.sha256(b"ghostwire-session:" + token.encode()).hexdigest()


def _bearer_ok(req: Request, token: str) -> bool:
    header = req.headers.get("authorization", "")
    return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode())


def guard(token: str):
    marker = session_key(token)[:32]

    def check(req: Request, session):
        if req.url.path.startswith(OPEN_PATHS) or session.get("auth") == marker or _bearer_ok(req, token):
            return None
        if req.method == "GET" and req.url.path == "/":
            return RedirectResponse("/login", status_code=303)
        return PlainTextResponse("sign in first: this Ghostwire needs its token", status_code=401)

    def login_page(error: str = ""):
        return Title("Ghostwire · sign in"), Main(
            H1("Ghostwire"),
            Form(Input(type="password", name="token", placeholder="Access token", autofocus=True, required=True),
                 Button("Sign in", type="submit", cls="primary"), method="post", action="/login"),
            Div(P(error, cls="error-text"), cls="error") if error else "",
            cls="login")

    async def login_post(req: Request, session):
        form = await req.form()
        given = str(form.get("token", ""))
        if hmac.compare_digest(given.encode(), token.encode()):
            session["auth"] = marker
            return RedirectResponse("/", status_code=303)
        return login_page("That token is not right.")

    return check, login_page, login_post
