"""Starting the local engine when the local backend is picked: supervisord runs it (supervisord.conf's
`engine` program, autostart=false) and this asks it to, over supervisord's own socket. Once started,
supervisord restarts a crashed engine by itself; one that can't load its model stops after a few tries
(FATAL) and is started again only for a different file, so a bad GGUF is not reloaded every probe."""

from __future__ import annotations

import asyncio
import logging
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from models.local import error_file

log = logging.getLogger(__name__)
PROGRAM = "engine"
SOCKET = "supervisor.sock"  # supervisord.conf's [unix_http_server] file, in the run dir
UP = ("STARTING", "RUNNING", "BACKOFF", "STOPPING")


@dataclass(frozen=True)
class EngineState:
    state: str   # supervisord's state name, or "unsupervised"
    error: str   # why it can't serve, as the engine said (engine.error), if it said


class EngineControl:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.started_for: tuple | None = None  # the file (path, size, mtime) it was last started for

    def _rpc(self):
        transport = SupervisorTransport(None, None, f"unix://{self.run_dir / SOCKET}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def _error(self) -> str:
        try:
            return error_file(self.run_dir).read_text().strip()
        except OSError:
            return ""

    def _ensure(self, model: Path) -> EngineState:
        try:
            rpc = self._rpc()
            state = rpc.getProcessInfo(PROGRAM)["statename"]
            identity = _identity(model)
            if state in UP or (state == "FATAL" and identity == self.started_for):
                return EngineState(state, self._error() if state in ("FATAL", "BACKOFF") else "")
            error_file(self.run_dir).unlink(missing_ok=True)
            rpc.startProcess(PROGRAM, False)
            self.started_for = identity
            log.info("asked supervisord to start the engine for %s (it was %s)", model, state)
            return EngineState("STARTING", "")
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" in fault.faultString:
                return EngineState("RUNNING", "")
            return EngineState("unsupervised", f"supervisord would not start the engine: {fault.faultString}")
        except OSError:
            return EngineState("unsupervised", "")

    def _stop(self) -> None:
        try:
            rpc = self._rpc()
            if rpc.getProcessInfo(PROGRAM)["statename"] in ("STARTING", "RUNNING", "BACKOFF"):
                rpc.stopProcess(PROGRAM, False)
                log.info("asked supervisord to stop the engine: another backend serves")
        except (xmlrpc.client.Fault, OSError):
            pass  # not supervised here, or already stopped: nothing of ours to free

    async def stop(self) -> None:
        """Free the engine's memory (another backend serves); it starts again when it is picked again."""
        await asyncio.to_thread(self._stop)

    async def ensure(self, model: Path) -> EngineState:
        """Have supervisord run the engine for `model` (unless it gave up on this very file)."""
        return await asyncio.to_thread(self._ensure, model)


def _identity(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return (str(path),)
    return (str(path), st.st_size, st.st_mtime_ns)
