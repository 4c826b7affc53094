"""`giftengine ingest @creator`: run the ingest path for one creator from a terminal.

Same code as the Cloud Run worker (CreatorSession: poll until live, reconnect with backoff,
dedupe, publish to the engagement topic), without leases, with a live display. Publishes to
Pub/Sub (the emulator when PUBSUB_EMULATOR_HOST is set) unless --no-publish.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest", help="follow one TikTok creator's LIVE with a live display", description=__doc__
    )
    p.add_argument("creator", help="TikTok username, e.g. @ana.live")
    p.add_argument(
        "--no-publish", action="store_true", help="decode and show events without publishing them"
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="one line per event instead of the live table (for logs and pipes)",
    )
    p.add_argument("--exit-on-end", action="store_true", help="exit when the LIVE ends")
    p.add_argument("--duration", type=float, default=0, help="stop after this many seconds")
    p.set_defaults(func=run)


def _line(ev) -> str:
    who = f"@{ev.user.handle or ev.user.id}" if ev.user else ""
    extra = {
        "gift": lambda: (
            f"{ev.gift.name} x{ev.repeat_count} ({ev.gift.coins} coins each)"
            f"{'' if ev.repeat_end else ' …streak'}"
        ),
        "like": lambda: f"{ev.count} likes",
        "comment": lambda: repr(ev.text),
        "viewers": lambda: f"{ev.viewers} watching",
    }.get(ev.kind, lambda: "")()
    return f"{ev.occurred_at:%H:%M:%S} {ev.kind:<12} {who} {extra}".rstrip()


def _table(session, started: float):
    from rich.table import Table

    st = session.stats
    t = Table(title=f"@{session.creator_id}  ·  giftengine ingest", expand=False)
    t.add_column("metric")
    t.add_column("value")
    age = f"{time.time() - st.last_message_at:.1f}s" if st.last_message_at else "-"
    rate = st.events_total / max(1e-6, time.monotonic() - started)
    for k, v in (
        ("status", st.status),
        ("room", st.room_id or "-"),
        ("events", st.events_total),
        ("events/s (avg)", f"{rate:.1f}"),
        ("by kind", ", ".join(f"{k}={v}" for k, v in sorted(st.by_kind.items())) or "-"),
        ("duplicates dropped", st.duplicates_dropped),
        ("reconnects", st.reconnects),
        ("rate limited", st.rate_limited),
        ("last message", age),
        ("queued", session.pending),
        ("error", (st.error or {}).get("reason", "-")),
    ):
        t.add_row(k, str(v))
    for ev in list(st.recent)[-6:]:
        t.add_row("", _line(ev))
    return t


async def _main(args) -> int:
    from giftengine import bootstrap
    from giftengine.ingest.targets import normalize_creator_id

    try:
        cid = normalize_creator_id(args.creator)
    except ValueError as exc:
        print(f"giftengine ingest: {exc}", file=sys.stderr)
        return 2
    publisher = None
    sink = None
    if not args.no_publish:
        from giftengine_dev.cli._cloud import ensure_env

        ensure_env()  # the local cloud of --state-dir (or the running one), as every command
        publisher = bootstrap.ingest_publisher()
        sink = publisher.publish_batch

    async def publish(batch):
        if sink is not None:
            await sink(batch)
        if args.plain:  # after publishing: a printed line means it reached Pub/Sub
            for ev in batch:
                print(_line(ev), flush=True)

    session = bootstrap.ingest_session(cid, publish)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(session.stop()))
    started = time.monotonic()
    task = asyncio.create_task(session.run())
    live = None
    if not args.plain:
        from rich.live import Live

        live = Live(_table(session, started), refresh_per_second=4)
        live.start()
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            if live is not None:
                live.update(_table(session, started))
            ended = args.exit_on_end and session.stats.by_kind.get("stream_end", 0)
            timed_out = args.duration and time.monotonic() - started >= args.duration
            if ended or timed_out or session.failure:
                await session.stop()
    finally:
        await task
        if live is not None:
            live.update(_table(session, started))
            live.stop()
        if publisher is not None:
            await publisher.close()
    if session.failure:
        print(
            f"giftengine ingest: {session.failure.code}: {session.failure.reason}", file=sys.stderr
        )
        return 1
    return 0


def run(args) -> int:
    return asyncio.run(_main(args))
