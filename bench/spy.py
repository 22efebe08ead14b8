"""Optional sampling profiles of the four processes during chosen runs, with py-spy.

py-spy is not a dependency: `--py-spy DIR` needs it on PATH or next to the interpreter
(`pip install py-spy==0.4.1`). Output is py-spy's raw collapsed stacks, one file per run and
process, and `python -m bench.spy FILE...` prints where the samples fall.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE_HZ = 500


def find_py_spy() -> str:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).is_file():
        raise SystemExit("--py-spy needs py-spy: `.venv/bin/pip install py-spy==0.4.1`")
    return exe


class Spy:
    def __init__(self, out_dir: Path, pids: dict[str, int]):
        self.exe = find_py_spy()
        self.out_dir = out_dir
        self.pids = pids
        self.procs: list[subprocess.Popen] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def start(self, label: str) -> None:
        # --nonblocking: never pause the target, so the profile costs it (almost) nothing.
        for name, pid in self.pids.items():
            self.procs.append(subprocess.Popen(
                [self.exe, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--format", "raw", "--nonblocking",
                 "--output", str(self.out_dir / f"{label}-{name}.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for p in self.procs:
            p.wait(30)
        self.procs.clear()


def summarize(path: Path, top: int = 15) -> str:
    """Samples by the innermost frame (self) and by every frame on the stack (inclusive)."""
    own, incl, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        total += int(n)
        own[frames[-1]] += int(n)
        for f in set(frames):
            incl[f] += int(n)
    out = [f"{path.name}: {total} samples"]
    for title, counter in (("self", own), ("inclusive", incl)):
        out.append(f"  by {title}:")
        out += [f"    {100 * k / total:5.1f}%  {f}" for f, k in counter.most_common(top)]
    return "\n".join(out)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(summarize(Path(arg)))
