"""A network cable with faults, in user space: two TAP devices and this process copying Ethernet
frames between them, dropping a share and holding each for a delay — what `tc netem` does, for a
kernel built without it (CONFIG_NET_SCH_NETEM unset). Each TAP end is moved into its own network
namespace, so the hosts on either side see an ordinary link: ARP, TCP retransmits and all.

`python -m tests.netns.wire TAP_A TAP_B` reads commands on stdin, one per line, answering "ok" (or
JSON for `stats`) on stdout once each has taken effect:
  impair LOSS DELAY_S   drop this share of frames (0..1), hold each for DELAY_S, both directions
  cut / mend            drop every frame / stop dropping (a partition: the hosts' links stay up)
  stats                 frames carried and dropped so far
"""

from __future__ import annotations

import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
FRAME_MAX = 65_536


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Wire:
    def __init__(self, a: str, b: str, seed: int):
        self.fds = (open_tap(a), open_tap(b))
        self.peer = {self.fds[0]: self.fds[1], self.fds[1]: self.fds[0]}
        self.loss, self.delay, self.cut = 0.0, 0.0, False
        self.rng = random.Random(seed)
        self.queue: list[tuple[float, int, int, bytes]] = []  # (due, order, to fd, frame): FIFO per due time
        self.order = 0
        self.stats = {"carried": 0, "dropped": 0, "cut": 0}

    def command(self, line: str) -> str:
        word, *args = line.split()
        if word == "impair":
            self.loss, self.delay = float(args[0]), float(args[1])
        elif word == "cut":
            self.cut = True
        elif word == "mend":
            self.cut = False
        elif word == "stats":
            return json.dumps(self.stats)
        else:
            return f"unknown command {word!r}"
        return "ok"

    def frame_in(self, fd: int) -> None:
        try:
            frame = os.read(fd, FRAME_MAX)
        except BlockingIOError:
            return
        if self.cut:
            self.stats["cut"] += 1
        elif self.loss and self.rng.random() < self.loss:
            self.stats["dropped"] += 1
        else:
            self.order += 1
            heapq.heappush(self.queue, (time.monotonic() + self.delay, self.order, self.peer[fd], frame))

    def frames_out(self) -> None:
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            _, _, fd, frame = heapq.heappop(self.queue)
            try:
                os.write(fd, frame)
                self.stats["carried"] += 1
            except OSError:  # the receiving side is down (ip link set down): the frame is lost
                self.stats["dropped"] += 1

    def run(self) -> None:
        stdin = sys.stdin.fileno()
        print("ok", flush=True)  # both taps exist: the harness may move them into their namespaces
        while True:
            timeout = max(0.0, self.queue[0][0] - time.monotonic()) if self.queue else None
            ready, _, _ = select.select([stdin, *self.fds], [], [], timeout)
            for fd in ready:
                if fd == stdin:
                    line = sys.stdin.readline()
                    if not line:
                        return  # the harness went away: so does the cable
                    print(self.command(line), flush=True)
                else:
                    self.frame_in(fd)
            self.frames_out()


if __name__ == "__main__":
    Wire(sys.argv[1], sys.argv[2], seed=int(sys.argv[3]) if len(sys.argv) > 3 else 14).run()
