"""`giftengine` CLI. Each subcommand lives in its own module exposing `register(subparsers)`.

To add a command, write giftengine_dev/cli/<name>.py with `register` and add its module name
to COMMANDS below.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = [
    "dev",
    "replay",
    "state",
    "report",
    "schema",
    "bench",
    "demo",
    "wallet",
    "viewer",
    "chat",
    "ingest",
    "overlay-url",
    "smoke",
    "packages",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="giftengine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"giftengine_dev.cli.{name.replace('-', '_')}").register(sub)
    # Every command finds its local cloud the same way (cli/_cloud.py): all take --state-dir.
    for p in sub.choices.values():
        if not any("--state-dir" in a.option_strings for a in p._actions):
            p.add_argument("--state-dir", help="the local cloud to use (default: the running one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    args = build_parser().parse_args(argv)
    if getattr(args, "state_dir", None) and args.command != "dev":
        os.environ["GIFTENGINE_CLI_STATE_DIR"] = args.state_dir
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
