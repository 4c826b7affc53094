"""Benchmark of the ingest worker (docs/bench-ingest.md). Not collected by pytest.

    python -m tests.ingest.bench_ingest throughput [--frames 400 --per-frame 25] [--publish]
    python -m tests.ingest.bench_ingest memory [--creators 1 50 200]

The fake TikTok runs in a child process (so the measured process is the worker alone) and
serves pre-built frames as fast as the socket takes them. `throughput` runs the worker's own
path in this process (TikTokLive Connection -> CreatorSession: normalize, dedupe, queue ->
AsyncPublisher to the Pub/Sub emulator when --publish and PUBSUB_EMULATOR_HOST are set) and
reports frames and messages per second. `memory` follows N live creators at once and reports
the resident-set growth per creator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import sys
import time

ROOM0 = 8_800_000


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fake_proc(port: int, creators: int, frames: int, per_frame: int, ready, go, done) -> None:
    from tests.ingest import fake_tiktok as F

    fake = F.FakeTikTok(port=port).start()
    for i in range(creators):
        fake.set_state(f"bench{i}", "live", room_id=ROOM0 + i)
    ready.set()
    if frames:
        batches = []
        for f in range(frames):  # a realistic mix: gifts (streaks), likes, comments, joins
            msgs = []
            for j in range(per_frame):
                k, uid = (f * per_frame + j) % 10, 1000 + j
                if k < 3:
                    msgs.append(
                        F.gift(ROOM0, uid, repeat_count=f + 1, repeat_end=False, group_id=uid)
                    )
                elif k < 6:
                    msgs.append(F.like(ROOM0, uid))
                elif k < 9:
                    msgs.append(F.comment(ROOM0, uid, f"message {f}/{j}"))
                else:
                    msgs.append(F.join(ROOM0, uid))
            batches.append(msgs)
        go.wait()
        for msgs in batches:
            fake.push("bench0", *msgs, record=False)
    done.wait()
    fake.stop()


def _settings(port: int):
    from giftengine.ingest.settings import IngestSettings

    base = f"http://127.0.0.1:{port}"
    return IngestSettings(
        instance_id="bench",
        tiktok_app_url=base,
        tiktok_webcast_url=f"{base}/webcast",
        sign_api_url=base,
        poll_interval_s=1,
        publish_batch=500,
    )


async def _throughput(args) -> dict:
    from giftengine.ingest.backoff import SignGate
    from giftengine.ingest.normalize import normalize
    from giftengine.ingest.session import CreatorSession
    from giftengine.ingest.source import Connection, configure_endpoints

    ctx = mp.get_context("spawn")
    ready, go, done = ctx.Event(), ctx.Event(), ctx.Event()
    proc = ctx.Process(
        target=_fake_proc, args=(args.port, 1, args.frames, args.per_frame, ready, go, done)
    )
    proc.start()
    ready.wait(60)
    settings = _settings(args.port)
    configure_endpoints(settings)
    expected = args.frames * args.per_frame + 1  # + stream_start
    published = 0
    first = last = 0.0
    publisher = None
    if args.publish:
        from giftengine import config
        from giftengine.adapters.pubsub import EventPublisher
        from giftengine.ingest.publisher import AsyncPublisher

        publisher = AsyncPublisher(EventPublisher(config.load().project_id))

    async def publish(batch):
        nonlocal published, first, last
        if publisher is not None:
            await publisher.publish_batch(batch)
        published += len(batch)
        last = time.perf_counter()

    session = CreatorSession(
        "bench0",
        settings,
        lambda c, s: Connection(c, settings, s),
        publish,
        SignGate(),
        normalize=normalize,
    )
    orig = session.on_event

    def on_event(ev, room):
        nonlocal first
        if not first:
            first = time.perf_counter()
        orig(ev, room)

    session.on_event = on_event
    task = asyncio.create_task(session.run())
    while session.stats.status != "live":
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    cpu0 = time.process_time()
    go.set()
    while published < expected:
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu0
    await session.stop()
    await task
    if publisher is not None:
        await publisher.close()
    done.set()
    proc.join(10)
    secs = last - first
    msgs = expected - 1
    return {
        "mode": "decode+normalize+publish" if args.publish else "decode+normalize",
        "frames": args.frames,
        "messages_per_frame": args.per_frame,
        "messages": msgs,
        "seconds": round(secs, 3),
        "frames_per_s": round(args.frames / secs, 1),
        "messages_per_s": round(msgs / secs, 1),
        "cpu_s": round(cpu, 3),
        "duplicates_dropped": session.stats.duplicates_dropped,
    }


async def _memory(args) -> list[dict]:
    from giftengine.ingest.backoff import SignGate
    from giftengine.ingest.normalize import normalize
    from giftengine.ingest.session import CreatorSession
    from giftengine.ingest.source import Connection, configure_endpoints

    n_max = max(args.creators)
    ctx = mp.get_context("spawn")
    ready, go, done = ctx.Event(), ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_fake_proc, args=(args.port, n_max, 0, 0, ready, go, done))
    proc.start()
    ready.wait(60)
    settings = _settings(args.port)
    configure_endpoints(settings)

    async def publish(batch):
        return None

    # Warm up the process (imports, one connection) so the baseline is the steady state.
    warm = CreatorSession(
        "bench0",
        settings,
        lambda c, s: Connection(c, settings, s),
        publish,
        SignGate(),
        normalize=normalize,
    )
    wt = asyncio.create_task(warm.run())
    while warm.stats.status != "live":
        await asyncio.sleep(0.05)
    await warm.stop()
    await wt
    await asyncio.sleep(0.5)
    base = _rss_mb()
    sessions, tasks, rows = [], [], []
    for n in sorted(args.creators):
        while len(sessions) < n:
            i = len(sessions)
            s = CreatorSession(
                f"bench{i}",
                settings,
                lambda c, s_: Connection(c, settings, s_),
                publish,
                SignGate(),
                normalize=normalize,
            )
            sessions.append(s)
            tasks.append(asyncio.create_task(s.run()))
        while sum(s.stats.status == "live" for s in sessions) < n:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        rss = _rss_mb()
        rows.append(
            {
                "creators": n,
                "rss_mb": round(rss, 1),
                "baseline_mb": round(base, 1),
                "per_creator_kb": round((rss - base) * 1024 / n, 1),
            }
        )
    # The dedupe window at capacity: the bound on what one long stream adds.
    full = CreatorSession("window", settings, None, publish, SignGate(), normalize=normalize)
    before = _rss_mb()
    full.window.add(f"{7_400_000_000_000_000_000 + i}" for i in range(settings.dedupe_window))
    rows.append(
        {
            "dedupe_window_full": settings.dedupe_window,
            "window_kb": round((_rss_mb() - before) * 1024, 1),
        }
    )
    for s in sessions:
        await s.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    done.set()
    proc.join(10)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--frames", type=int, default=400)
    t.add_argument("--per-frame", type=int, default=25)
    t.add_argument("--publish", action="store_true")
    t.add_argument("--port", type=int, default=9795)
    m = sub.add_parser("memory")
    m.add_argument("--creators", type=int, nargs="+", default=[1, 50, 200])
    m.add_argument("--port", type=int, default=9796)
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("TikTokLive").setLevel(logging.CRITICAL)
    out = asyncio.run(_throughput(args) if args.cmd == "throughput" else _memory(args))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    sys.exit(main())
