"""`python -m models fetch` (what `make model` runs) with the real pins: the 0.5B model's official bytes
from a fake hub, the fetch SIGKILLed mid-download, then run again: it resumes with a range from where the
file ends, checks the whole against the pinned SHA-256 and puts it in place. In between, nothing is under
the model's name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from models.catalogue import MODELS, model_path
from tests.fakes.hub import FakeHub
from tests.stack import ROOT, clean_env
from tests.util import wait_for

MODEL = MODELS["0.5b"]
SOURCE = model_path(MODEL)  # the real cache's copy is what the fake hub serves
RATE = 40e6  # bytes/s for the first run: slow enough to be killed mid-way
KILL_AT = 60e6


@pytest.mark.skipif(not SOURCE.is_file(), reason=f"no {SOURCE} for the fake hub to serve (`make test` fetches it)")
@pytest.mark.timeout(300)
def test_a_killed_fetch_resumes_and_is_checked(tmp_path):
    partial = tmp_path / "models" / ".fetching" / MODEL.file / (MODEL.file + ".download")
    with FakeHub(MODEL.repo, MODEL.file, SOURCE, rate=RATE) as hub:
        env = clean_env(GHOSTWIRE_CACHE_DIR=str(tmp_path), GHOSTWIRE_MODEL_HUB=hub.url)
        cmd = [sys.executable, "-m", "models", "fetch", MODEL.key]
        first = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_for(lambda: partial.exists() and partial.stat().st_size >= KILL_AT, 60, what="the download under way")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        kept = partial.stat().st_size
        assert not (tmp_path / "models" / MODEL.file).exists(), "nothing under the model's name after a kill"
        hub.rate = 0
        again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "fetched from Hugging Face" in again.stdout
    assert again.stdout.strip().endswith(str(tmp_path / "models" / MODEL.file))
    assert (tmp_path / "models" / MODEL.file).stat().st_size == MODEL.size
    assert not partial.parent.exists(), "the staging is gone once the model is in place"
    ranges = [r for p, r in hub.requests if p.startswith("/cdn/")]
    assert ranges == ["", f"bytes={kept}-"], ranges
