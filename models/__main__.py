"""`python -m models fetch [KEY]` (what `make model` runs): fetch a local model into the cache, saying
where from and how far it got. KEY is one of the catalogue's (default: the default model)."""

from __future__ import annotations

import argparse
import sys
import time

from bus import settings
from models.catalogue import DEFAULT, MODELS
from models.fetch import Cancelled, FetchError, Progress, fetch
from models.local import LocalSettings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="fetch a model into the cache (checked against its pinned SHA-256)")
    get.add_argument("key", nargs="?", default=DEFAULT, choices=sorted(MODELS))
    args = parser.parse_args()
    model = MODELS[args.key]
    shown = [0.0, ""]

    def report(p: Progress) -> None:
        now = time.monotonic()
        if p.status != shown[1] or now - shown[0] >= 1 or p.completed == p.total:
            shown[:] = [now, p.status]
            print(f"{model.title}: {p.status} · {p.completed / 1e6:,.0f} of {p.total / 1e6:,.0f} MB", flush=True)

    print(f"Fetching {model.title} ({model.size / 1e9:.1f} GB, {model.file})", flush=True)
    try:
        path = fetch(model, settings.load(LocalSettings).hub, report)
    except FetchError as err:
        print(f"make model: {err.message}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        print("stopped; what was downloaded is kept, and the next fetch resumes", file=sys.stderr)
        return 130
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
