"""`python -m bus.logtee FILE`: `tee -a FILE`, but the file is bounded: past MAX_BYTES it becomes FILE.1
(FILE.1 becomes FILE.2 …, KEEP of them), so a flood of log lines can't fill the disk.

Like the `tee` it replaces in `make run`, it ignores INT, TERM, HUP and PIPE: supervisord's output keeps
flowing while it stops the four processes, and it ends when its input does."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024
KEEP = 3  # rotated files kept beside the current one: at most 40 MB in all


class Rotating:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP):
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self.file = open(path, "ab", buffering=0)
        self.size = self.file.tell()

    def write(self, data: bytes) -> None:
        if self.size and self.size + len(data) > self.max_bytes:
            self.rotate()
        self.file.write(data)
        self.size += len(data)

    def rotate(self) -> None:
        self.file.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.keep:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        self.file = open(self.path, "ab", buffering=0)
        self.size = 0


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    out = Rotating(Path(sys.argv[1]))
    terminal = sys.stdout.buffer
    for line in sys.stdin.buffer:  # lines, so a rotation never splits one
        out.write(line)
        try:
            terminal.write(line)
            terminal.flush()
        except OSError:  # the terminal went away (a closed window): the file still gets every line
            terminal = open(os.devnull, "wb")


if __name__ == "__main__":
    main()
