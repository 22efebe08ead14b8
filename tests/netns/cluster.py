"""Ghostwire across hosts, as the README's "Several machines" sets it up: broker, crud_worker and web
on the app host, an llm_worker (with its own Ollama, a fake on that host's loopback) on each GPU host,
every bus socket on tcp:// with CURVE keys made by `python -m broker keys`.

Every port is the default one: each host is a fresh namespace, so nothing else can hold it."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.fakes import FakeOllama
from tests.netns.net import Net
from tests.stack import HX, ROOT, clean_env
from tests.util import SseReader, wait_for

BUS_PORTS = {"EVENTS_IN": 5601, "EVENTS_OUT": 5602, "JOBS_IN": 5603, "JOBS_OUT": 5604}
WEB_PORT = 5001


def bus_env(host: str) -> dict[str, str]:
    return {f"GHOSTWIRE_BUS_{name}": f"tcp://{host}:{port}" for name, port in BUS_PORTS.items()}


class HostClient:
    """An httpx client whose every request is made from inside a host (its sockets live there)."""

    def __init__(self, host, base_url: str):
        self.host = host
        self.http = httpx.Client(base_url=base_url, timeout=15, headers=HX)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.host.run(self.http.get, path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.host.run(self.http.post, path, **kw)

    def close(self) -> None:
        self.http.close()


class HostSse(SseReader):
    """`GET /events`, read from inside the app host."""

    def __init__(self, host, url: str, tab: str = ""):
        super().__init__(url, tab=tab)
        self.host = host

    def run(self) -> None:
        with self.host.entered():
            super().run()


class Cluster:
    def __init__(self, workers: tuple[str, ...] = ("gpu1", "gpu2"), spare: tuple[str, ...] = ()):
        """An llm_worker on each of `workers`; `spare` hosts are cabled to the app host but run nothing."""
        self.workers = workers
        self.net = Net(["app", *workers, *spare], [("app", w) for w in (*workers, *spare)])
        self.base = Path(tempfile.mkdtemp(prefix="gwnet", dir="/tmp"))
        self.keys = self.base / "keys"
        self.log_path = self.base / "cluster.log"
        self.procs: dict[str, subprocess.Popen] = {}
        self.fakes: dict[str, FakeOllama] = {}
        self.url = f"http://127.0.0.1:{WEB_PORT}"
        self.http = HostClient(self.net["app"], self.url)
        self._log = open(self.log_path, "ab")  # O_APPEND: every process's lines, whole
        # The README's step: one key pair per client, all authorised, made by the broker's own command.
        subprocess.run([sys.executable, "-m", "broker", "keys", "web", "crud_worker", *workers], cwd=ROOT,
                       env=clean_env(GHOSTWIRE_CURVE_DIR=str(self.keys)), check=True, capture_output=True)

    # -- starting things -------------------------------------------------------------------------

    def _env(self, **extra: str) -> dict[str, str]:
        return clean_env(**{"GHOSTWIRE_RUN_DIR": str(self.base / "run"),
                            "GHOSTWIRE_DATA_DIR": str(self.base / "data"), **extra})

    def spawn(self, name: str, host: str, module: str, env: dict[str, str], log=None) -> subprocess.Popen:
        proc = self.net[host].popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log or self._log,
                                    stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start_app(self) -> None:
        (self.base / "run").mkdir(exist_ok=True)
        self.spawn("broker", "app", "broker", self._env(GHOSTWIRE_CURVE_DIR=str(self.keys), **bus_env("0.0.0.0")))
        for proc in ("crud_worker", "web"):
            self.spawn(proc, "app", proc, self._env(GHOSTWIRE_CURVE_DIR=str(self.keys), GHOSTWIRE_CURVE_NAME=proc,
                                                     GHOSTWIRE_PORT=str(WEB_PORT), **bus_env("127.0.0.1")))

    def worker_keys(self, host: str) -> Path:
        """What the README says to copy to a GPU host: its pair and the broker's public key."""
        kdir = self.base / f"keys-{host}"
        if not kdir.exists():
            kdir.mkdir()
            for f in (f"{host}.key", f"{host}.key_secret", "broker.key"):
                shutil.copy(self.keys / f, kdir / f)
        return kdir

    def start_worker(self, host: str, *, curve: bool = True, key_dir: Path | None = None, name: str | None = None,
                     log=None, **extra: str) -> subprocess.Popen:
        """An llm_worker on `host`; `curve=False` gives it no keys, `key_dir`/`name` another pair."""
        if host not in self.fakes:
            self.fakes[host] = self.net[host].run(lambda: FakeOllama().__enter__())
        app_addr = self.net["app"].addrs[host]
        keys = {"GHOSTWIRE_CURVE_DIR": str(key_dir or self.worker_keys(host)),
                "GHOSTWIRE_CURVE_NAME": name or host} if curve else {}
        env = self._env(LLM_BACKEND="ollama", OLLAMA_HOST=self.fakes[host].url, **keys,
                        **bus_env(app_addr),
                        GHOSTWIRE_RUN_DIR=str(self.base / f"run-{host}"), **extra)
        return self.spawn(f"llm_worker@{host}", host, "llm_worker", env, log)

    def start(self, timeout: float = 40) -> "Cluster":
        self.start_app()
        for host in self.workers:
            self.start_worker(host)
        self.wait_healthy(len(self.workers), timeout)
        return self

    # -- looking -----------------------------------------------------------------------------------

    def health(self) -> tuple[int, dict]:
        try:
            r = self.http.get("/health")
            return r.status_code, r.json()
        except (httpx.HTTPError, ValueError):
            return 0, {}

    def worker_count(self) -> int:
        status, body = self.health()
        return len(body["processes"]["llm_worker"]["workers"]) if status == 200 else 0

    def wait_healthy(self, workers: int, timeout: float = 40) -> None:
        wait_for(lambda: self.worker_count() == workers, timeout, interval=0.1,
                 what=f"/health 200 with {workers} llm workers (log: {self.log_path})")

    def net_cable(self, worker: str | None = None):
        return self.net.cable("app", worker or self.workers[0])

    def sse(self, tab: str = "") -> HostSse:
        return HostSse(self.net["app"], self.url, tab=tab)

    def chat(self, text: str) -> str:
        r = self.http.post("/chat", data={"msg": text})
        assert r.status_code == 200, r.text
        return r.headers["ghostwire-reply-id"]

    def query(self, sql: str, *args) -> list[tuple]:
        db = sqlite3.connect(f"file:{self.base / 'data' / 'ghostwire.db'}?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def message(self, msg_id: str) -> tuple | None:
        rows = self.query("SELECT role, status, content, error FROM messages WHERE id = ?", msg_id)
        return rows[0] if rows else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    # -- ending --------------------------------------------------------------------------------------

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def close(self) -> None:
        self.http.close()
        for name in list(self.procs):
            self.stop(name)
        for fake in self.fakes.values():
            fake.stop()
        self._log.close()
        self.net.close()
        if not os.environ.get("GHOSTWIRE_KEEP_TEST_DIRS"):
            shutil.rmtree(self.base, ignore_errors=True)
