"""CURVE keys for a bus that spans machines.

Key directory layout (`GHOSTWIRE_CURVE_DIR`), made by `python -m broker keys NAME...`:
  broker.key, broker.key_secret   the broker's pair (the secret stays on the broker's host)
  NAME.key, NAME.key_secret       a client's pair: copy it, with broker.key, to that client's host
  authorized/NAME.key             the public keys the broker lets in; delete one to revoke it
"""

from __future__ import annotations

import shutil
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from bus.runtime import private_dir, private_file, warn_if_open

HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 3000


def make_keys(key_dir: Path, names: list[str]) -> list[Path]:
    """Create the broker's pair if missing and one client pair per name; authorise each client."""
    private_dir(key_dir)
    private_dir(key_dir / "authorized")
    made = []
    if not (key_dir / "broker.key_secret").exists():
        public, _ = zmq.auth.create_certificates(key_dir, "broker")
        shutil.copy(public, key_dir / "authorized" / "broker.key")  # its own status publisher
        made.append(key_dir / "broker.key_secret")
    for name in names:
        public, secret = zmq.auth.create_certificates(key_dir, name)
        shutil.copy(public, key_dir / "authorized" / f"{name}.key")
        made.append(Path(secret))
    for key in [*key_dir.glob("*.key*"), *(key_dir / "authorized").glob("*.key")]:
        private_file(key)
    return made


def _load(path: Path) -> tuple[bytes, bytes | None]:
    if not path.exists():
        raise SystemExit(f"missing CURVE key file {path}: create keys with `python -m broker keys NAME`")
    warn_if_open(path.parent, path)
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
