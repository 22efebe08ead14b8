"""CURVE keys for a bus that spans machines.

Key directory layout (`GHOSTWIRE_CURVE_DIR`), made by `python -m broker keys NAME...`:
  broker.key, broker.key_secret   the broker's pair (the secret stays on the broker's host)
  NAME.key, NAME.key_secret       a client's pair: copy it, with broker.key, to that client's host
  authorized/NAME.key             the public keys the broker lets in; delete one to revoke it
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)

HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 3000
REFUSAL_LOG_EVERY_S = 60.0  # a refused client retries ten times a second: one line, then a count
REFUSALS = {zmq.EVENT_HANDSHAKE_FAILED_AUTH: "its key is not authorised",
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "it sent no CURVE key (or speaks another protocol)",
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "the handshake failed: it sent no CURVE key, or has the wrong "
                                                  "broker key"}


def make_keys(key_dir: Path, names: list[str]) -> list[Path]:
    """Create the broker's pair if missing and one client pair per name; authorise each client."""
    key_dir.mkdir(parents=True, exist_ok=True)
    (key_dir / "authorized").mkdir(exist_ok=True)
    made = []
    if not (key_dir / "broker.key_secret").exists():
        public, _ = zmq.auth.create_certificates(key_dir, "broker")
        shutil.copy(public, key_dir / "authorized" / "broker.key")  # its own status publisher
        made.append(key_dir / "broker.key_secret")
    for name in names:
        public, secret = zmq.auth.create_certificates(key_dir, name)
        shutil.copy(public, key_dir / "authorized" / f"{name}.key")
        made.append(Path(secret))
    for secret in key_dir.glob("*.key_secret"):
        secret.chmod(0o600)
    return made


def _load(path: Path) -> tuple[bytes, bytes | None]:
    if not path.exists():
        raise SystemExit(f"missing CURVE key file {path}: create keys with `python -m broker keys NAME`")
    return zmq.auth.load_certificate(path)


def heartbeat(sock: zmq.Socket) -> None:
    """Notice a dead peer on tcp (a half-open connection otherwise looks alive forever)."""
    sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)


def as_server(sock: zmq.Socket, key_dir: Path) -> None:
    public, secret = _load(key_dir / "broker.key_secret")
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True


def as_client(sock: zmq.Socket, key_dir: Path, name: str) -> None:
    public, secret = _load(key_dir / f"{name}.key_secret")
    server_public, _ = _load(key_dir / "broker.key")
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server_public


def authenticator(ctx: zmq.Context, key_dir: Path) -> ThreadAuthenticator:
    """ZAP handler that admits only clients whose public key is in `authorized/`."""
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(key_dir / "authorized"))
    return auth


def log_refusals(sock: zmq.Socket, endpoint: str) -> None:
    """Say in the broker's log when a client is turned away: without this a refused host just
    never shows up, and nobody can tell a wrong key from a network fault."""
    monitor = sock.get_monitor_socket(sum(REFUSALS))

    def watch() -> None:
        last: dict[int, float] = {}
        since: dict[int, int] = {}
        while True:
            try:
                event = recv_monitor_message(monitor)["event"]
            except zmq.ZMQError:  # the context is closing: let it
                monitor.close(linger=0)
                return
            since[event] = since.get(event, 0) + 1
            if event not in last or time.monotonic() - last[event] >= REFUSAL_LOG_EVERY_S:
                count = since.pop(event)
                log.warning("refused a client on %s: %s%s", endpoint, REFUSALS[event],
                            f" ({count - 1} more since the last such line)" if count > 1 else "")
                last[event] = time.monotonic()

    threading.Thread(target=watch, name=f"refusals {endpoint}", daemon=True).start()
