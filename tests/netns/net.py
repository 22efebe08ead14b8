"""Several hosts on one machine: network namespaces joined by cables (tests/netns/wire.py), addresses
in 10.203.0.0/16 that exist only inside the namespaces made here, all deleted at the end. Nothing is
routed anywhere else: each namespace has only its loopback and its cables.

A thread enters a namespace with setns(2) (per thread on Linux); sockets it opens, threads it starts
and processes it forks stay in that namespace. That is how the test talks HTTP to a web that listens
on 127.0.0.1 inside the app host, and how a fake Ollama runs on a worker host's own loopback."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.stack import ROOT

CLONE_NEWNET = 0x40000000
SUBNET = "10.203"  # 10.203.N.0/24: one per cable, inside the namespaces only
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def ip(*args: str, ns: str | None = None) -> None:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if out.returncode:
        raise OSError(f"{' '.join(cmd)}: {out.stderr.strip()}")


def why_not() -> str:
    """Why this machine can't make the hosts, or "" if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if not shutil.which("ip"):
        return "no `ip` command: install iproute2"
    if not Path("/dev/net/tun").exists():
        return "no /dev/net/tun: the kernel has no TUN/TAP, so no cables between namespaces"
    probe = f"gwprobe{os.getpid()}"
    try:
        ip("netns", "add", probe)
    except OSError as err:
        return f"cannot make a network namespace here: {err}"
    ip("netns", "del", probe)
    return ""


class Cable:
    """One cable between two hosts; the faults are the wire process's, `down`/`up` the kernel's."""

    def __init__(self, name: str, seed: int):
        self.name = name
        self.ends = (f"{name}a", f"{name}b")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.netns.wire", *self.ends, str(seed)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ok", "the wire did not start"

    def tell(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def impair(self, loss: float, delay_s: float) -> None:
        assert self.tell(f"impair {loss} {delay_s}") == "ok"

    def cut(self) -> None:
        assert self.tell("cut") == "ok"

    def mend(self) -> None:
        assert self.tell("mend") == "ok"

    def stats(self) -> dict:
        return json.loads(self.tell("stats"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(5)


@dataclass
class Host:
    name: str
    ns: str
    addrs: dict[str, str] = field(default_factory=dict)  # peer host -> this host's address on that cable
    links: dict[str, str] = field(default_factory=dict)  # peer host -> this host's interface to it

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """The calling thread is on this host until the block ends."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(target)

    def run(self, fn: Callable, *args, **kwargs):
        with self.entered():
            return fn(*args, **kwargs)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        with self.entered():
            return subprocess.Popen(args, **kwargs)

    def link_down(self, peer: str) -> None:
        ip("link", "set", self.links[peer], "down", ns=self.ns)

    def link_up(self, peer: str) -> None:
        ip("link", "set", self.links[peer], "up", ns=self.ns)


class Net:
    """`Net(["app", "gpu1", "gpu2"], cables=[("app", "gpu1"), ("app", "gpu2")])`"""

    made = 0  # nets made by this process: with the pid, unique names (an interface name has ≤ 15 chars)

    def __init__(self, names: list[str], cables: list[tuple[str, str]]):
        Net.made += 1
        tag = f"gw{os.getpid() % 100_000}{Net.made % 10}"
        self.hosts: dict[str, Host] = {}
        self.cables: dict[tuple[str, str], Cable] = {}
        try:
            for name in names:
                host = self.hosts[name] = Host(name, f"{tag}-{name}")
                ip("netns", "add", host.ns)
                ip("link", "set", "lo", "up", ns=host.ns)
            for n, (a, b) in enumerate(cables, 1):
                cable = self.cables[(a, b)] = Cable(f"{tag}c{n}", seed=n)
                for end, host, peer, octet in ((cable.ends[0], a, b, 1), (cable.ends[1], b, a, 2)):
                    h = self.hosts[host]
                    ip("link", "set", end, "netns", h.ns)
                    ip("addr", "add", f"{SUBNET}.{n}.{octet}/24", "dev", end, ns=h.ns)
                    ip("link", "set", end, "up", ns=h.ns)
                    h.addrs[peer], h.links[peer] = f"{SUBNET}.{n}.{octet}", end
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def cable(self, a: str, b: str) -> Cable:
        return self.cables.get((a, b)) or self.cables[(b, a)]

    def close(self) -> None:
        for cable in self.cables.values():
            cable.close()
        for host in self.hosts.values():
            with contextlib.suppress(OSError):
                ip("netns", "del", host.ns)
