"""Stream report benchmark against a running local cloud (`giftengine dev up`): a synthetic
stream of N events (default 100,000) is recorded in the Firestore emulator once, then

- `read`: the event log read alone (`FirestoreStore.stream_events`, every event parsed, the
  reader the report uses): the floor;
- `report`: the same read feeding the report builder (`compute_report`), the report's work
  as the on_stream_end function does it, files not written;
- `export`: the CSV and Parquet files of that report encoded (pyarrow);
- `replay`: the report builder alone over the events held in memory (the domain's CPU);

each timed (wall clock, in turn, `--rounds` times, medians) and then its peak Python memory
measured with tracemalloc in a separate pass; reported with the ratios to the read floor.

    python -m giftengine_dev.reports.bench [--events 100000] [--rounds 3] [--per-record 20]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStore
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


def record(store: FirestoreStore, events: list[EngagementEvent], per_record: int) -> float:
    """Record the events as the pipeline does, `per_record` events of a message a record."""
    t = time.perf_counter()
    for k in range(0, len(events), per_record):
        assert store.record_events(events[k : k + per_record])
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


def run(n: int, rounds: int, per_record: int = 20) -> dict:
    s = ensure_env()
    db = firestore_client(s.project_id)
    store = FirestoreStore(db)
    stream = f"bench-report-{uuid.uuid4().hex[:8]}"
    events = synthetic(stream, n)
    record_s = record(store, events, per_record)

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

    scenarios = (("read", read), ("report", report), ("export", encode), ("replay", replay))
    walls: dict[str, list[float]] = {name: [] for name, _ in scenarios}
    for _ in range(rounds):
        for name, fn in scenarios:  # in turn, so a slow spell of the machine hits them all
            wall, out = _timed(fn)
            walls[name].append(wall)
            if name == "read":
                assert out == n, f"read {out} events, recorded {n}"
    peaks = {name: _peak(fn) for name, fn in scenarios}
    floor = statistics.median(walls["read"])
    figures = {
        name: {
            "seconds": round(statistics.median(walls[name]), 3),
            "x_read_time": round(statistics.median(walls[name]) / floor, 2),
            "peak_mib": round(peaks[name] / 2**20, 1),
            "x_read_memory": round(peaks[name] / peaks["read"], 2),
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
    args = p.parse_args(argv)
    out = run(args.events, args.rounds, args.per_record)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, f in out["figures"].items():
            print(f"{name:7} {f['seconds']:8.3f} s ({f['x_read_time']}x read)  "
                  f"{f['peak_mib']:7.1f} MiB ({f['x_read_memory']}x read)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
