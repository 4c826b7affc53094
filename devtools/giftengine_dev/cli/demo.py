"""`giftengine demo`: the local cloud, the bundled session, a live terminal display."""

from __future__ import annotations


def run(args) -> int:
    from giftengine_dev.demo.run import run_demo
    from giftengine_dev.devcloud import stack

    status = stack.status()
    started = False
    if not status["running"]:
        print("starting the local cloud (giftengine dev up) ...", flush=True)
        status = stack.up()
        started = True
    try:
        result = run_demo(status, rate=args.rate)
    finally:
        if started and not args.keep:
            print("stopping the local cloud (giftengine dev down) ...", flush=True)
            stack.down()
    return 0 if result["exact"] else 1


def register(sub) -> None:
    p = sub.add_parser("demo", help="replay the bundled session with a live display")
    p.add_argument("--rate", type=float, default=40.0, help="events per second")
    p.add_argument("--keep", action="store_true", help="leave the local cloud running after")
    p.set_defaults(func=run)
