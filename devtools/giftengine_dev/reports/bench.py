"""Stream report benchmark against a running local cloud (`giftengine dev up`): a synthetic
stream of N events (default 100,000) is recorded in the Firestore emulator once, then

- `read`: the event log read alone (`FirestoreStreamStore.stream_events`, every event parsed, the
  reader the report uses): the floor;
- `report`: the same read feeding the report builder (`compute_report`), the report's work
  as the on_stream_end function does it, files not written;
- `export`: the CSV and Parquet files of that report encoded (pyarrow);
- `replay`: the report builder alone over the events held in memory (the domain's CPU);

each timed (wall clock, in turn, `--rounds` times, medians), then its memory measured twice,
each in a pass of its own: the peak of Python's allocations (tracemalloc, which slows Python
several times over) and the process's peak resident memory (VmHWM, in a fresh process per
scenario whose peak is reset after its setup: `peak_rss_mib` is the growth over the resident
memory it started from, C buffers such as gRPC's included); reported with the ratios to the
read floor.

The events are recorded in batched commits (`--batch` records each) with increasing
`ingested_at` values in the events' order, so recording 100,000 events takes seconds rather
than one round trip per record, and the log reads back in the order it was generated.

    python -m giftengine_dev.reports.bench [--events 100000] [--rounds 3] [--per-record 20]
        [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.domain.events import EngagementEvent
from giftengine.reports import archive, domain, export

from giftengine_dev.cli._cloud import ensure_env

GIFTS = [("rose", 1, True), ("doughnut", 30, True), ("heart", 10, True), ("lion", 29999, False),
         ("galaxy", 1000, False)]  # fmt: skip


def synthetic(stream: str, n: int, seed: int = 7) -> list[EngagementEvent]:
    """A two-hour stream: ~35% gift messages (streaks of 1-20 running totals from 2,000
    users, finals mostly present), likes, comments, joins, follows, viewer counts."""
    rnd = random.Random(seed)
    t0 = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    out: list[dict] = []
    i = 0

    def base(kind: str, secs: float) -> dict:
        nonlocal i
        i += 1
        return {"event_id": f"{stream}:{i}", "source": "tiktok", "stream_id": stream,
                "kind": kind, "occurred_at": (t0 + timedelta(seconds=secs)).isoformat(),
                "creator_id": "bench-creator"}  # fmt: skip

    def user() -> dict:
        u = rnd.randrange(2000)
        return {"id": f"u{u}", "handle": f"@u{u}", "name": f"U{u}"}

    out.append(base("stream_start", 0))
    while len(out) < n - 1:
        secs = rnd.uniform(0, 7200)
        r = rnd.random()
        if r < 0.35:
            gid, coins, streakable = rnd.choice(GIFTS)
            who = user()
            gift = {"id": gid, "name": gid.title(), "coins": coins, "streakable": streakable}
            if not streakable:
                out.append({**base("gift", secs), "user": who, "gift": gift})
                continue
            group = str(rnd.randrange(10**12))
            final = rnd.randint(1, 20)
            lost = rnd.random() < 0.05
            for c in range(1, final + 1):
                end = c == final and not lost
                if c < final and rnd.random() < 0.5:
                    continue
                out.append({**base("gift", secs + c * 0.3), "user": who, "gift": gift,
                            "repeat_count": c, "repeat_end": end, "group_id": group})  # fmt: skip
        elif r < 0.65:
            out.append({**base("like", secs), "user": user(), "count": rnd.randint(1, 15)})
        elif r < 0.85:
            out.append({**base("comment", secs), "user": user(), "text": "nice stream"})
        elif r < 0.95:
            out.append({**base("join", secs), "user": user()})
        elif r < 0.98:
            out.append({**base("follow", secs), "user": user()})
        else:
            out.append({**base("viewers", secs), "viewers": rnd.randint(100, 5000)})
    out = out[: n - 1]
    out.sort(key=lambda e: e["occurred_at"])
    out.append(base("stream_end", 7300))
    return [EngagementEvent.model_validate(e) for e in out]


def record(
    store: FirestoreStreamStore, events: list[EngagementEvent], per_record: int, batch: int = 200
) -> float:
    """Record the events in records of `per_record` events, as the pipeline stores a batch
    message (the adapter's own record id and fields), `batch` records a commit. The pipeline
    stamps `ingested_at` with the commit time; here each record gets its own increasing time,
    so the log's order (ingested_at, record id) is the events' order."""
    t = time.perf_counter()
    t0 = datetime.now(UTC)
    chunks = [events[k : k + per_record] for k in range(0, len(events), per_record)]
    for b in range(0, len(chunks), batch):
        wb = store.db.batch()
        for i, chunk in enumerate(chunks[b : b + batch], start=b):
            doc = store._event_record(chunk) | {"ingested_at": t0 + timedelta(microseconds=i)}
            wb.create(store._record_ref(chunk), doc)
        wb.commit()
    return time.perf_counter() - t


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _peak(fn) -> int:
    """Peak Python allocation while `fn` runs (tracemalloc slows it: a separate pass)."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _scenarios(store: FirestoreStreamStore, stream: str, events: list[EngagementEvent]):
    def read():
        return sum(1 for _ in store.stream_events(stream, page=1000))

    def report():
        return domain.compute_report(stream, store.stream_events(stream, page=1000))

    def replay():
        return domain.compute_report(stream, events)

    rows = [archive.archive_row(e) for e in events]
    rep = replay()

    def encode():
        return export.files(rep, rows)

    return (("read", read), ("report", report), ("export", encode), ("replay", replay)), rep


def _status_kib(field: str) -> int:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1))


def _rss_child(name: str, stream: str, n: int, state_dir: str | None) -> int:
    """Run scenario `name` in a fresh process (`--rss-of`); its peak resident growth, bytes."""
    cmd = [sys.executable, "-m", "giftengine_dev.reports.bench", "--rss-of", name,
           "--stream", stream, "--events", str(n)]  # fmt: skip
    if state_dir:
        cmd += ["--state-dir", state_dir]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
    return int(out.stdout.strip().splitlines()[-1])


def rss_of(name: str, stream: str, n: int) -> int:
    """In this fresh process: set up as `run` does (the events generated again, same seed),
    reset the kernel's peak (clear_refs 5), run the scenario, and return VmHWM - VmRSS at
    the start, in bytes."""
    s = ensure_env()
    store = FirestoreStreamStore(firestore_client(s.project_id))
    scenarios, _ = _scenarios(store, stream, synthetic(stream, n))
    fn = dict(scenarios)[name]
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    start = _status_kib("VmRSS")
    fn()
    return (_status_kib("VmHWM") - start) * 1024


def run(n: int, rounds: int, per_record: int = 20, state_dir: str | None = None) -> dict:
    s = ensure_env(state_dir)
    db = firestore_client(s.project_id)
    store = FirestoreStreamStore(db)
    stream = f"bench-report-{uuid.uuid4().hex[:8]}"
    events = synthetic(stream, n)
    record_s = record(store, events, per_record)
    scenarios, rep = _scenarios(store, stream, events)
    walls: dict[str, list[float]] = {name: [] for name, _ in scenarios}
    for _ in range(rounds):
        for name, fn in scenarios:  # in turn, so a slow spell of the machine hits them all
            wall, out = _timed(fn)
            walls[name].append(wall)
            if name == "read":
                assert out == n, f"read {out} events, recorded {n}"
    peaks = {name: _peak(fn) for name, fn in scenarios}
    rss = {name: _rss_child(name, stream, n, state_dir) for name, _ in scenarios}
    floor = statistics.median(walls["read"])
    figures = {
        name: {
            "seconds": round(statistics.median(walls[name]), 3),
            "x_read_time": round(statistics.median(walls[name]) / floor, 2),
            "peak_mib": round(peaks[name] / 2**20, 1),
            "x_read_memory": round(peaks[name] / peaks["read"], 2),
            "peak_rss_mib": round(rss[name] / 2**20, 1),
            "x_read_rss": round(rss[name] / max(1, rss["read"]), 2),
        }
        for name, _ in scenarios
    }
    db.recursive_delete(db.collection("streams").document(stream))
    return {
        "events": n,
        "rounds": rounds,
        "events_per_record": per_record,
        "record_seconds": round(record_s, 1),
        "report_totals": rep.totals,
        "timeline_minutes": len(rep.timeline),
        "gifters": len(rep.gifters),
        "figures": figures,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-record", type=int, default=20, help="events per event record")
    p.add_argument("--json", action="store_true")
    p.add_argument("--state-dir", help="the local cloud to use (default: the running one)")
    p.add_argument("--rss-of", help=argparse.SUPPRESS)  # internal: one scenario's VmHWM
    p.add_argument("--stream", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rss_of:
        if args.state_dir:
            os.environ["GIFTENGINE_CLI_STATE_DIR"] = args.state_dir
        print(rss_of(args.rss_of, args.stream, args.events))
        return 0
    out = run(args.events, args.rounds, args.per_record, args.state_dir)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, f in out["figures"].items():
            print(f"{name:7} {f['seconds']:8.3f} s ({f['x_read_time']}x read)  "
                  f"{f['peak_mib']:7.1f} MiB ({f['x_read_memory']}x read)  "
                  f"rss +{f['peak_rss_mib']:7.1f} MiB ({f['x_read_rss']}x read)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
