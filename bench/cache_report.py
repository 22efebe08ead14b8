"""bench/cache.py's table and its goals (issue #23): after the first request every one evaluates at most
its new tokens + 32; Enter → first token after a list change within 1.3× the same turn without change and
1.3× the floor."""

from __future__ import annotations

SLACK = 32
RATIO = 1.3


def goals(results: dict) -> dict:
    changing, still = results["changes"], results["no_changes"]
    # A request cancelled mid-stream (a comment talked over) gets no timings from the server: not counted.
    over = [r["n"] for r in changing[1:] + still[1:]
            if r["evaluated"] is None and not r["cut"] or (r["evaluated"] or 0) > r["new"] + SLACK]
    chats = [r for r in changing if "enter_to_first_ms" in r]
    plain = [r for r in still if "enter_to_first_ms" in r]
    pairs = list(zip(chats, plain))[1:]  # turn 1 is cold in one run and warm in the other
    slow_vs_plain = [a["n"] for a, b in pairs if a["enter_to_first_ms"] > RATIO * b["enter_to_first_ms"]]
    slow_vs_floor = [a["n"] for a in chats[1:] if a["enter_to_first_ms"] > RATIO * a["floor_ms"]]
    return {"evaluated_within_new_plus_32": not over, "over": over,
            "first_token_within_1.3x_unchanged": not slow_vs_plain, "slower_than_unchanged": slow_vs_plain,
            "first_token_within_1.3x_floor": not slow_vs_floor, "slower_than_floor": slow_vs_floor}


def _row(r: dict, plain: dict | None) -> str:
    page = f"{r['enter_to_first_ms']:,} ms" if "enter_to_first_ms" in r else ""
    floor = f"{r['floor_ms']:,} ms ({r['floor_evaluated']})" if "floor_ms" in r else ""
    same = f"{plain['enter_to_first_ms']:,} ms ({plain['evaluated']})" if plain else ""
    what = r["kind"] + (f" after {r['after']}" if r.get("after") and r["after"] != "chat" else "") \
        + (" (cancelled)" if r["cut"] else "") + (" + list" if r["list_sent"] else "")
    shown = {k: "—" if r[k] is None else r[k] for k in ("prompt", "evaluated", "cached")}
    return (f"| {r['n']} | {what} | {shown['prompt']} | {shown['evaluated']} | {shown['cached']} | {r['new']} | "
            f"{page} | {floor} | {same} |")


def table(results: dict) -> str:
    plain = iter([r for r in results["no_changes"] if "enter_to_first_ms" in r])
    lines = ["| # | request | prompt tokens | evaluated | cached | new | Enter → first token | floor (evaluated) "
             "| same message, no list changes (evaluated) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["changes"]:
        lines.append(_row(r, next(plain, None) if "enter_to_first_ms" in r else None))
    g = results["goals"]
    lines.append("")
    lines.append(f"evaluated ≤ new + {SLACK} after the first: {'yes' if g['evaluated_within_new_plus_32'] else 'no'} "
                 f"{g['over'] or ''}; Enter → first token ≤ {RATIO}× unchanged: "
                 f"{'yes' if g['first_token_within_1.3x_unchanged'] else 'no'} {g['slower_than_unchanged'] or ''}; "
                 f"≤ {RATIO}× floor: {'yes' if g['first_token_within_1.3x_floor'] else 'no'} "
                 f"{g['slower_than_floor'] or ''}")
    return "\n".join(lines)
