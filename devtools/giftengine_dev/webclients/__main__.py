"""`python -m giftengine_dev.webclients serve --settings FILE` / `... build` (used by dev up)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from giftengine_dev.webclients import build, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m giftengine_dev.webclients")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve one app (settings written by `giftengine dev up`)")
    s.add_argument("--settings", required=True, help="JSON settings file")
    sub.add_parser("build", help="npm ci + vite build in web/ when sources changed")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        try:
            print(build.ensure_built(log=lambda m: print(m, file=sys.stderr)))
        except build.BuildError as e:
            print(f"giftengine: {e}", file=sys.stderr)
            return 1
        return 0
    cfg = json.loads(Path(args.settings).read_text())
    server.serve(
        cfg["app"],
        cfg["host"],
        int(cfg["port"]),
        Path(cfg["dist"]),
        cfg["config"],
        cfg["upstreams"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
