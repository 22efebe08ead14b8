"""`python -m bench --quick` runs end to end and accounts for every token. No timing thresholds:
the numbers belong to the machine, the counts don't."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.stack import ROOT

PROFILES = ("laptop", "desktop", "cloud", "max")
PROCS = ("broker", "crud_worker", "llm_worker", "web")
TABS = 20


@pytest.mark.timeout(200)
def test_quick_bench_completes_and_counts_every_token(tmp_path):
    out = tmp_path / "latest.json"
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--tabs", str(TABS), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "idle RSS of all four" in run.stdout
    r = json.loads(out.read_text())

    assert {"cpu", "cores", "python", "date"} <= r["machine"].keys()
    assert set(r["profiles"]) == set(PROFILES)
    for name, p in r["profiles"].items():
        planned = r["plan"]["commands"][name]
        assert p["tokens"] == r["plan"]["tokens"][name]
        assert p["received"] + p["lost"] == p["tokens"], name
        assert (p["lost_total"], p["duplicates"], p["final_seen"]) == (0, 0, True), name
        assert (p["commands"]["n"], p["commands"]["missing"]) == (planned, 0), name
        assert p["direct"]["received"] == p["tokens"] and p["direct"]["lost"] == 0, name
        for key in ("p50", "p99", "max"):
            assert p["lag_ms"][key] is not None, (name, key)
        for key in ("throughput_tps", "ceiling_tps", "ceiling_ratio", "bytes_per_char", "events_per_s",
                    "wire_bytes", "stages"):
            assert p[key] is not None, (name, key)
        assert set(PROCS) <= p["cpu_s"].keys()
        assert p["stages"]["deltas"] >= 1

    fan = r["fanout"]
    assert fan["tabs"] == TABS
    assert fan["tabs_complete"] == TABS and fan["min_received"] == fan["tokens"] and fan["lost_total"] == 0
    assert fan["lag_ms"]["n"] == TABS * fan["tokens"]

    lengths = r["lengths"]
    assert [x["tokens"] for x in lengths["runs"]] == r["plan"]["lengths"]
    assert all(x["lost_total"] == 0 and x["wire_bytes"] > x["text_chars"] for x in lengths["runs"])
    assert lengths["fit"]["slope"] is not None

    mem = r["memory"]
    assert set(mem["idle_rss_mb"]) == set(PROCS) == set(mem["peak_rss_mb"])
    assert mem["idle_rss_total_mb"] > 0
    assert len(r["goals"]) == 14 and all(g["ok"] in (True, False) for g in r["goals"])

    # The run in Chromium: every marker word of every reply reached the DOM, bytes and CPU accounted.
    assert "in the browser" in run.stdout
    assert set(r["browser"]) == set(PROFILES)
    for name, b in r["browser"].items():
        assert b["tokens"] == r["plan"]["browser_tokens"][name]
        assert (b["seen"], b["never_seen"]) == (b["tokens"], 0), name
        assert b["lag_ms"]["p99"] is not None and b["lag_ms"]["p50"] <= b["lag_ms"]["p99"], name
        assert b["decoded_bytes"] > b["tokens"] and b["wire_bytes"] > 0, name
        assert b["main_thread_s"]["TaskDuration"] > 0 and b["cpu_s"]["browser"] >= 0, name
