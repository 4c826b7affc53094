"""`giftengine dev up|status|env|down|setup`: the local cloud (see docs/local-cloud.md)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    dev = subparsers.add_parser("dev", help="run the local cloud (emulators + functions)")
    sub = dev.add_subparsers(dest="dev_command", required=True)

    def common(p: argparse.ArgumentParser, with_project: bool = True) -> None:
        p.add_argument("--state-dir", help="default .giftengine/dev (GIFTENGINE_STATE_DIR)")
        p.add_argument("--port-base", type=int, help="default 8700 (GIFTENGINE_PORT_BASE)")
        if with_project:
            p.add_argument("--project", help="default demo-giftengine (GIFTENGINE_PROJECT)")

    p = sub.add_parser("up", help="start the stack in the background and wait until ready")
    common(p)
    p.add_argument("--timeout", type=float, help="readiness timeout in seconds (default 300)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=_up)

    p = sub.add_parser("status", help="show ports, endpoints, pids")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_status)

    p = sub.add_parser("env", help="print `export K=V` lines for a shell")
    common(p)
    p.set_defaults(func=_env)

    p = sub.add_parser("down", help="stop everything the stack started")
    common(p, with_project=False)
    p.set_defaults(func=_down)

    p = sub.add_parser("setup", help="prepare local tools (tasks emulator venv, launcher jar)")
    p.set_defaults(func=_setup)


def _where(args) -> dict:
    out = {"state_dir": args.state_dir, "port_base": args.port_base}
    if getattr(args, "project", None):
        out["project"] = args.project
    return out


def _up(args) -> int:
    from giftengine_dev.devcloud import stack

    try:
        st = stack.up(**_where(args), timeout=args.timeout)
    except stack.DevCloudError as e:
        print(f"giftengine dev up failed: {e}", file=sys.stderr)
        return 1
    _print(st, args.json)
    return 0


def _status(args) -> int:
    from giftengine_dev.devcloud import stack

    st = stack.status(**_where(args))
    _print(st, args.json)
    return 0 if st["running"] else 3


def _env(args) -> int:
    from giftengine_dev.devcloud import stack

    for k, v in stack.status(**_where(args))["env"].items():
        print(f"export {k}={shlex.quote(v)}")
    return 0


def _down(args) -> int:
    from giftengine_dev.devcloud import stack

    try:
        result = stack.down(**_where(args))
    except stack.DevCloudError as e:
        print(f"giftengine dev down failed: {e}", file=sys.stderr)
        return 1
    if result["was_running"]:
        print(f"stopped {', '.join(result['stopped'])} ({result['state_dir']})")
        for proc in result["needed_sigkill"]:
            print(f"  needed SIGKILL: {proc}")
    else:
        print(f"no stack recorded in {result['state_dir']}")
    return 0


def _setup(args) -> int:
    from giftengine_dev.devcloud import tools

    for k, v in tools.setup().items():
        print(f"{k}={v}")
    return 0


def _print(st: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(st, indent=2))
        return
    state = "running" if st["running"] else "not running"
    print(f"local cloud: {state}   project {st['project_id']}   state {st['state_dir']}")
    if st.get("dead_components"):
        print(f"  dead: {', '.join(st['dead_components'])}")
    if st.get("closed_ports"):
        print(f"  not answering: {', '.join(st['closed_ports'])}")
    rows = [(name, addr, "emulator") for name, addr in st["emulators"].items()]
    rows += [(name, f["url"], f"function ({f['trigger']})") for name, f in st["functions"].items()]
    rows += [(name, "-", f"service: {what}") for name, what in st["services"].items()]
    rows += [(name, url, "stand-in") for name, url in st.get("stand_ins", {}).items()]
    width = max(len(r[0]) for r in rows)
    owner = {"firestore": "firebase", "pubsub": "firebase", "auth": "firebase-auth"}
    for name, where, kind in rows:
        pids = st["pids"]
        pid = pids.get(owner.get(name, name)) or pids.get(f"fn-{name}") or ""
        print(f"  {name:<{width}}  {where:<28} {kind:<20} {pid}")
    if st.get("startup_seconds"):
        print(f"  started in {st['startup_seconds']}s at {st['started_at']}")
    print(f"  logs: {st['state_dir']}/logs   openapi: {st['openapi']}")
