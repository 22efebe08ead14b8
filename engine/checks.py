"""What the engine checks before llama.cpp loads a model, so each way it can't serve says why in words
(llama.cpp's own failure is one generic RuntimeError for all of them)."""

from __future__ import annotations

import errno
import resource
import socket
from pathlib import Path

GGUF_MAGIC = b"GGUF"
OVERHEAD = 256 * 2**20  # beyond the weights: compute buffers and a small KV cache, at the least


class CannotServe(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def model_file(path: Path | None) -> Path:
    if path is None:
        raise CannotServe("No local model yet: fetch one (the page's button, `!pull local` in the chat, or "
                          "`make model`), or set LLM_MODEL_PATH to a GGUF file.")
    if not path.is_file():
        raise CannotServe(f"The model file {path} does not exist (LLM_MODEL_PATH, or the fetched model).")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise CannotServe(f"The model file {path} cannot be read: {err.strerror}.") from None
    if head != GGUF_MAGIC:
        raise CannotServe(f"{path} is not a GGUF model file (it does not start with 'GGUF'). llama.cpp runs GGUF "
                          "files only: download the model's .gguf, or convert it.")
    return path


def available_memory() -> int:
    """Bytes this process may still use: the least of the machine's available memory, its cgroup's room
    and its own address-space limit."""
    limits = []
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    if "MemAvailable" in meminfo:
        limits.append(int(meminfo["MemAvailable"].split()[0]) * 1024)
    cgroup = Path("/sys/fs/cgroup")
    try:
        top, used = (cgroup / "memory.max").read_text().strip(), (cgroup / "memory.current").read_text()
        if top != "max":
            limits.append(int(top) - int(used))
    except (OSError, ValueError):
        pass  # no cgroup v2 memory controller here
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        status = Path("/proc/self/status").read_text()
        vm_kb = int(status.split("VmSize:", 1)[1].split()[0]) if "VmSize:" in status else 0
        limits.append(soft - vm_kb * 1024)
    return min(limits) if limits else 1 << 62


def fits(path: Path) -> None:
    need, room = path.stat().st_size + OVERHEAD, available_memory()
    if need > room:
        raise CannotServe(f"{path.name} needs about {need / 2**30:.1f} GB of memory and only "
                          f"{max(room, 0) / 2**30:.1f} GB is available: close something, or use a smaller model "
                          "(`!pull local:0.5b`).")


def port_free(host: str, port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            why = "is in use by another program" if err.errno == errno.EADDRINUSE else f"can't be used ({err.strerror})"
            raise CannotServe(f"Port {port} on {host} {why}: is another Ghostwire engine running? Set "
                              "GHOSTWIRE_ENGINE_PORT to a free port.") from None
