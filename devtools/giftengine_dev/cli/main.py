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


# Arguments that name documents (a stream, a user, a creator, a board): checked before any
# I/O, as the API checks its path ids (domain/ids.py).
ID_ARGS = ("stream_id", "uid", "board", "stream", "creator")


def _arg_problem(args: argparse.Namespace) -> str | None:
    """Why the parsed arguments cannot be used, or None."""
    import math

    from giftengine.domain.ids import id_problem

    if args.command in ("dev", "ingest"):  # ingest: a TikTok username, checked by the command
        return None
    for name in ID_ARGS:
        value = getattr(args, name, None)
        if value is not None and (problem := id_problem(value)) is not None:
            return f"invalid {name.replace('_', ' ')} {value!r}: {problem}"
    limit = getattr(args, "limit", None)
    if isinstance(limit, int) and limit < 0:
        return f"--limit must be 0 or more, not {limit}"
    rate = getattr(args, "rate", None)
    if rate is not None and not (math.isfinite(rate) and rate >= 0.01):
        return f"--rate must be at least 0.01 events per second, not {rate}"
    return None


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """An error the user can act on: one line on stderr, and with --json also as JSON on
    stdout (`{"error": ...}`), never a traceback."""
    import json

    text = f"giftengine {args.command}: {message}"
    if getattr(args, "json", False):
        print(json.dumps({"error": text}))
    print(text, file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    import os

    from giftengine_dev.cli._cloud import CliError, NoCloud

    args = build_parser().parse_args(argv)
    if getattr(args, "state_dir", None) and args.command != "dev":
        os.environ["GIFTENGINE_CLI_STATE_DIR"] = args.state_dir
    if (problem := _arg_problem(args)) is not None:
        return _fail(args, problem, 2)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        return _fail(args, str(exc), exc.code)
    except NoCloud as exc:
        return _fail(args, str(exc).removeprefix("giftengine: "), 1)
    except (OSError, UnicodeDecodeError) as exc:  # a file argument: missing, a folder, binary
        return _fail(args, str(exc), 2)


if __name__ == "__main__":
    sys.exit(main())
