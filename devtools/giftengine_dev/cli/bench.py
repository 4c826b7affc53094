"""`giftengine bench [--json]`: measure the pipeline on the local cloud (BENCHMARKS.md)."""

from __future__ import annotations

import json


def run(args) -> int:
    from giftengine_dev.bench import print_report
    from giftengine_dev.bench import run as bench
    from giftengine_dev.devcloud import stack

    status = stack.status()
    started = False
    if not status["running"]:
        status = stack.up()
        started = True
    try:
        if args.push_window:
            report = bench.push_window(status, [0, 2, 5, 10, 20])
            print(json.dumps(report, indent=2))
            return 0
        if args.only_one_per_s:
            report = bench.run_one_per_s(status, args.one_per_s_seconds)
            print(json.dumps(report, indent=2))
            return 0 if report["exact"] else 1
        report = bench.run(
            status,
            one_per_s_seconds=args.one_per_s_seconds,
            seconds=args.seconds,
            latency_samples=args.samples,
            floor_messages=args.floor_messages,
            users=args.viewers,
            rate=args.rate,
        )
    finally:
        if started and not args.keep:
            stack.down()
    return print_report(report, args.json)


def register(sub) -> None:
    from giftengine_dev import bench as defaults

    p = sub.add_parser("bench", help="benchmark the gift pipeline on the local cloud")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--seconds", type=float, default=defaults.HOT_SECONDS, help="length of the hot-stream run"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=defaults.LATENCY_SAMPLES,
        help="alert latency samples per phase",
    )
    p.add_argument("--floor-messages", type=int, default=defaults.FLOOR_MESSAGES)
    p.add_argument("--viewers", type=int, default=defaults.VIEWERS)
    p.add_argument(
        "--rate",
        type=float,
        help="gifts/s into the hot stream (default: 4 x the measured floor message rate)",
    )
    p.add_argument(
        "--one-per-s-seconds",
        type=float,
        default=defaults.ONE_PER_S_SECONDS,
        help="length of the 1 gift/s stream (one gift a second)",
    )
    p.add_argument(
        "--only-one-per-s",
        action="store_true",
        help="only the 1 gift/s stream's operation counts and cost",
    )
    p.add_argument("--keep", action="store_true", help="leave a stack it started running")
    p.add_argument(
        "--push-window",
        action="store_true",
        help="only measure how many pushes the Pub/Sub emulator keeps in flight",
    )
    p.set_defaults(func=run)
