"""The benchmark: pipeline figures next to floors measured in the same run.

- floor_latency_ms: bare Pub/Sub push delivery to a functions-framework function that does
  nothing (the pipeline's own delivery mechanism) plus bare Firestore write -> listener.
- alert_latency_ms: publish of a gift -> its alert seen by a Firestore listener; sampled in
  turn with the two floors so the ratio compares like with like; once before the hot run
  and once after it (`after_hot_run`).
- sustained_gifts_per_s: gifts into one hot stream for `seconds`, published at
  `hot_multiple` x the floor rate in batch messages as the sources send them, until the
  live totals are exact; floor_msgs_per_s: the bare push delivery rate (messages).
- firestore_writes_per_gift / max_doc_writes_per_s: counted from the functions' write logs.
- operations per gift and cost_usd_per_million_gifts (bench/cost.py, docs/deploy.md's
  prices): counted over the hot run, a steady 100 gifts/s stream and the quiet streams
  of the latency phase (a gift every ~1.4 s each).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from giftengine.adapters import writelog
from giftengine.adapters.pubsub import LINGER_S, MAX_EVENTS, EventPublisher
from giftengine.domain import eventlog
from giftengine.domain.events import EngagementEvent
from google.cloud import firestore, pubsub_v1

from giftengine_dev import bench as defaults
from giftengine_dev.bench import cost
from giftengine_dev.bench.stats import busiest, in_flight_fit, latency_figures

STALL_S = 120.0  # the sustained run gives up after this long without progress
HOT_MULTIPLE = 4.0  # the hot stream's gifts per second, in floor message rates
STEADY_RATE = 100.0  # gifts/s of the steady stream priced at "100 gifts/s"
STEADY_SECONDS = 60.0
STEADY_VIEWERS = 50
# Subscriptions of the engagement topic that bill a delivery per message: on_engagement
# and on_comment (filtered: Pub/Sub still bills the delivery of what it acknowledges).
ENGAGEMENT_SUBSCRIPTIONS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- floors -----------------------------------------------------------------------------------
class PushFloor:
    """A no-op functions-framework function fed by its own push subscription."""

    def __init__(
        self,
        project: str,
        emulator_host: str,
        workdir: Path,
        sleep_s: float = 0.0,
        durable: bool = False,
    ):
        self.project, self.host = project, emulator_host
        self.port = _free_port()
        self.log = workdir / f"noop-{self.port}.jsonl"
        self.log.unlink(missing_ok=True)
        self.topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
        self.sub = f"{self.topic}-push"
        env = {
            **os.environ,
            "GIFTENGINE_NOOP_LOG": str(self.log),
            "GIFTENGINE_NOOP_SLEEP_S": str(sleep_s),
            "GIFTENGINE_NOOP_DURABLE": project if durable else "",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "functions_framework",
                "--source",
                str(Path(__file__).with_name("noop.py")),
                "--target",
                "noop",
                "--signature-type",
                "cloudevent",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        base = f"http://{self.host}/v1/projects/{project}"
        requests.put(f"{base}/topics/{self.topic}", timeout=10).raise_for_status()
        requests.put(
            f"{base}/subscriptions/{self.sub}",
            timeout=10,
            json={
                "topic": f"projects/{project}/topics/{self.topic}",
                "ackDeadlineSeconds": 60,
                "pushConfig": {
                    "pushEndpoint": f"http://127.0.0.1:{self.port}/projects/{project}"
                    f"/topics/{self.topic}"
                },
            },
        ).raise_for_status()
        self.publisher = pubsub_v1.PublisherClient(
            batch_settings=pubsub_v1.types.BatchSettings(max_messages=500, max_latency=0.01)
        )
        self.path = self.publisher.topic_path(project, self.topic)

    def _received(self, offset: int = 0) -> list[dict]:
        """The arrivals the no-op function logged (from byte `offset` on). Only complete
        lines: the function may be halfway through writing the last one."""
        if not self.log.exists():
            return []
        with open(self.log, "rb") as f:
            f.seek(offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1].decode()
        return [json.loads(x) for x in complete.splitlines() if x.strip()]

    def sample(self, i: int) -> float | None:
        """One message published -> its arrival at the no-op function, in seconds."""
        key = f"l{i}"
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.publisher.publish(
            self.path, json.dumps({"i": key, "sent": time.time()}).encode()
        ).result(timeout=30)
        deadline = time.time() + 30
        while time.time() < deadline:
            for r in self._received(offset):
                if r["i"] == key:
                    return r["got"] - r["sent"]
            time.sleep(0.005)
        return None

    def throughput(self, n: int) -> float:
        start = len(self._received())
        t0 = time.time()
        futs = [
            self.publisher.publish(
                self.path, json.dumps({"i": f"t{i}", "sent": time.time()}).encode()
            )
            for i in range(n)
        ]
        for f in futs:
            f.result(timeout=120)
        self._wait(start + n, 180)
        got = [r["got"] for r in self._received()[start:]]
        return n / (max(got) - t0)

    def _wait(self, count: int, timeout: float) -> None:
        deadline = time.time() + timeout
        while len(self._received()) < count and time.time() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        base = f"http://{self.host}/v1/projects/{self.project}"
        for what in (f"subscriptions/{self.sub}", f"topics/{self.topic}"):
            with contextlib.suppress(requests.RequestException):
                requests.delete(f"{base}/{what}", timeout=10)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.publisher.stop()


class _Arrivals:
    """When a listener first saw each key, and a wait for one key."""

    def __init__(self):
        self.seen: dict = {}
        self.cond = threading.Condition()

    def note(self, keys, now: float) -> None:
        with self.cond:
            for k in keys:
                self.seen.setdefault(k, now)
            self.cond.notify_all()

    def since(self, key, t: float, timeout: float) -> float | None:
        """Seconds from `t` until `key` was seen; None if not within `timeout`."""
        with self.cond:
            self.cond.wait_for(lambda: key in self.seen, timeout=timeout)
        return self.seen[key] - t if key in self.seen else None


class ListenerFloor:
    """Bare Firestore write -> `on_snapshot` of that document."""

    def __init__(self, db: firestore.Client):
        self.ref = db.collection("bench").document(f"floor-{uuid.uuid4().hex[:8]}")
        self.arrivals = _Arrivals()
        self.ref.set({"i": -1})
        self.watch = self.ref.on_snapshot(self._on_snap)

    def _on_snap(self, snaps, changes, read_time):
        now = time.time()
        self.arrivals.note([s.get("i") for s in snaps if s.exists], now)

    def sample(self, i: int) -> float | None:
        t = time.time()
        self.ref.set({"i": i})
        return self.arrivals.since(i, t, timeout=10)

    def close(self) -> None:
        self.watch.unsubscribe()
        self.ref.delete()


# ---- pipeline ---------------------------------------------------------------------------------
def _gift(
    stream: str,
    creator: str,
    user: int,
    gift: dict,
    count: int,
    end: bool,
    group: str,
    n: int,
    at: float | None = None,
) -> EngagementEvent:
    when = datetime.fromtimestamp(at, UTC) if at is not None else datetime.now(UTC)
    return EngagementEvent.model_validate(
        {
            "event_id": f"{stream}:{n}",
            "source": "tiktok",
            "stream_id": stream,
            "creator_id": creator,
            "kind": "gift",
            "occurred_at": when.isoformat(),
            "user": {"id": f"v{user}", "handle": f"@viewer{user}", "name": f"Viewer {user}"},
            "gift": gift,
            "repeat_count": count,
            "repeat_end": end,
            "group_id": group,
        }
    )


def hot_stream_messages(
    stream: str,
    creator: str,
    total: int,
    users: int,
    seed: int = 11,
    rate: float | None = None,
    start: float | None = None,
):
    """`total` gift messages from `users` viewers: streaks (running counts, then a final)
    and single gifts. Returns (messages, expected coins, expected units).

    With `rate`, event i occurred at `start + i / rate`, the time it is published at that
    rate, as a source stamps it (TikTok's `create_time`); the events' time slots, which the
    rollup's record lookup goes by (decision 004), then spread as in production instead of
    all falling in the second the messages were built."""
    rnd = random.Random(seed)
    start = time.time() if start is None else start

    def at() -> float | None:
        return start + len(msgs) / rate if rate else None

    rose = {"id": "5655", "name": "Rose", "coins": 1, "streakable": True}
    heart = {"id": "5487", "name": "Finger Heart", "coins": 5, "streakable": True}
    corgi = {"id": "6267", "name": "Corgi", "coins": 299, "streakable": False}
    msgs, coins, units, n = [], 0, 0, 0
    while len(msgs) < total:
        u = rnd.randrange(users)
        g = rnd.choice([rose, rose, heart, corgi])
        if g["streakable"]:
            k = min(rnd.choice([1, 3, 5, 10]), total - len(msgs))
            group = uuid.UUID(int=rnd.getrandbits(128)).hex[:12]
            for c in range(1, k + 1):
                n += 1
                msgs.append(_gift(stream, creator, u, g, c, c == k, group, n, at()))
            coins, units = coins + k * g["coins"], units + k
        else:
            n += 1
            msgs.append(_gift(stream, creator, u, g, 1, True, f"s{n}", n, at()))
            coins, units = coins + g["coins"], units + 1
    return msgs, coins, units


class _Sent:
    """Messages a publisher sent, and the bytes Pub/Sub bills for them."""

    def __init__(self):
        self.messages = 0
        self.events = 0
        self.billed_bytes = 0

    def __call__(self, message: list[EngagementEvent]) -> None:
        self.messages += 1
        self.events += len(message)
        size = len(eventlog.encode_message(message))
        self.billed_bytes += cost.pubsub_bytes(size, ENGAGEMENT_SUBSCRIPTIONS)


def sustained(db, project: str, seconds: float, rate: float, users: int, kind: str = "hot") -> dict:
    stream = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
    creator = f"bench-creator-{uuid.uuid4().hex[:6]}"
    total = int(seconds * rate)
    msgs, coins, units = hot_stream_messages(stream, creator, total, users, rate=rate)
    _log(
        f"{kind}: {len(msgs)} gift events into {stream} at {rate:.0f}/s, up to {MAX_EVENTS} "
        f"per message, gathering {LINGER_S * 1000:.0f} ms"
    )
    pub = EventPublisher(project)
    sent = _Sent()
    t0 = time.time()
    futs = pub.publish_paced(msgs, rate, MAX_EVENTS, LINGER_S, on_sent=sent)
    for f in futs:
        f.result(timeout=300)
    t_published = time.time()
    ref = db.collection("streams").document(stream)
    # Wait while the pipeline makes progress: a slow machine drains for longer, a stuck
    # pipeline is reported (exact: false) after STALL_S without any change.
    live: dict = {}
    seen, last_change = -1, time.time()
    while time.time() - last_change < STALL_S:
        snap = ref.get()
        live = snap.to_dict() or {}
        gifts = (live.get("totals") or {}).get("gifts", 0)
        if gifts >= units:
            break
        if gifts != seen:
            seen, last_change = gifts, time.time()
        time.sleep(0.1)
    t_done = time.time()
    pub.close()
    totals = live.get("totals") or {}
    # Wait for the leaderboard flush of the last pending users (every 10 s) to be counted.
    time.sleep(12)
    return {
        "stream": stream,
        "creator": creator,
        "messages": len(msgs),  # gift events (the figure's name predates batches)
        "sent": sent,
        "t0": t0,
        "t_published": t_published,
        "t_done": t_done,
        "exact": totals.get("coins") == coins and totals.get("gifts") == units,
        "expected": {"coins": coins, "gifts": units},
        "got": {"coins": totals.get("coins"), "gifts": totals.get("gifts")},
        "gifts_per_s": len(msgs) / (t_done - t0),
        "publish_rate": len(msgs) / (t_published - t0),
    }


# ---- one stream at 1 gift/s (issue #18's "$5 per million gifts at 1 gift/s") ----------------
ONE_PER_S_SECONDS = defaults.ONE_PER_S_SECONDS  # gifts, one a second
ONE_PER_S_VIEWERS = 40  # the stream's audience; a few regulars give most gifts
PERIOD_S = 300.0  # GIFTENGINE_PERIOD_FLUSH_INTERVAL_S, the period boards' flush interval


def one_per_s_messages(stream: str, creator: str, total: int, start: float, seed: int = 23):
    """`total` gift events one second apart (event i occurred at `start + i`), as a
    single stream of a creator with a modest audience sends them: gifters drawn with
    weights 1/rank from ONE_PER_S_VIEWERS viewers (a few regulars gift again and again,
    most viewers once or twice), gifts as in the hot stream (roses and finger hearts in
    streaks of 1-5 messages, a second apart, and single corgis). Returns (events, coins,
    units)."""
    rnd = random.Random(seed)
    viewers = list(range(ONE_PER_S_VIEWERS))
    weights = [1 / (k + 1) for k in viewers]
    rose = {"id": "5655", "name": "Rose", "coins": 1, "streakable": True}
    heart = {"id": "5487", "name": "Finger Heart", "coins": 5, "streakable": True}
    corgi = {"id": "6267", "name": "Corgi", "coins": 299, "streakable": False}
    evs: list[EngagementEvent] = []
    coins = units = 0
    while len(evs) < total:
        u = rnd.choices(viewers, weights)[0]
        g = rnd.choice([rose, rose, heart, corgi])
        k = min(rnd.choice([1, 1, 2, 3, 5]) if g["streakable"] else 1, total - len(evs))
        group = f"g{len(evs)}"
        for c in range(1, k + 1):
            n = len(evs) + 1
            evs.append(_gift(stream, creator, u, g, c, c == k, group, n, start + len(evs)))
        coins, units = coins + k * g["coins"], units + k
    return evs, coins, units


def gifters_per_period(total: int, seed: int = 23) -> int:
    """Distinct gifters among the first `total` gifts of `one_per_s_messages`."""
    evs, _, _ = one_per_s_messages("x", "x", total, 0.0, seed)
    return len({e.user.id for e in evs})


def one_gift_per_s(db, project: str, writes_dir: str, seconds: float) -> dict:
    """One stream, one gift a second for `seconds`, then its end. Operations counted from
    the first publish until the last session-board flush after the last gift (every
    flush and follow-up of those seconds). The period boards flush every PERIOD_S (their
    clock starts at the stream's first flush) or at the stream's end, so a window shorter
    than a period holds none: their share is counted at the stream's end instead (the
    period-entry writes of the end's flush, per gifter flushed) and spread over a full
    period of this stream: writes per gifter x distinct gifters of the first PERIOD_S
    gifts of the same generator / PERIOD_S gifts (`period_entries_amortized`)."""
    stream = f"bench-1ps-{uuid.uuid4().hex[:8]}"
    creator = f"bench-creator-{uuid.uuid4().hex[:6]}"
    total = max(1, int(seconds))
    start = time.time()
    evs, coins, units = one_per_s_messages(stream, creator, total, start)
    _log(f"1 gift/s: {total} gifts into {stream} from {ONE_PER_S_VIEWERS} viewers")
    pub = EventPublisher(project)
    sent = _Sent()
    try:
        futs = pub.publish_paced(evs, 1.0, MAX_EVENTS, LINGER_S, on_sent=sent)
        for f in futs:
            f.result(timeout=60)
        ref = db.collection("streams").document(stream)
        deadline, totals = time.time() + STALL_S, {}
        while time.time() < deadline:
            totals = (ref.get().to_dict() or {}).get("totals") or {}
            if totals.get("gifts", 0) >= units:
                break
            time.sleep(0.2)
        t_done = time.time()
        time.sleep(12)  # the last session-board flush (every 10 s) and its follow-up
        t_window = time.time()
        end = evs[-1].model_copy(
            update={
                "event_id": f"{stream}:end",
                "kind": "stream_end",
                "occurred_at": datetime.fromtimestamp(t_window, UTC),
                "user": None,
                "gift": None,
            }
        )
        pub.publish_message([end]).result(timeout=30)
        time.sleep(10)  # the end's rollup and its flush of every board
        t_end = time.time()
    finally:
        pub.close()
    ops = operations(writes_dir, start - 1, t_window, sent, 0)
    per_gift = ops.pop("_per_gift")
    ended = [
        w
        for w in writelog.read(writes_dir)
        if "path" in w
        and t_window <= w["t"] <= t_end
        and write_category(w["path"]) == "period_board_entry"
    ]
    # Each gifter's period entries written by the end's flush (the creator's and the
    # global boards: nothing else gifts meanwhile), per gifter flushed.
    flushed = {w["path"].rsplit("/", 1)[1] for w in ended}
    per_gifter = len(ended) / len(flushed) if flushed else 0.0
    period_gifters = gifters_per_period(int(PERIOD_S))
    amortized = per_gifter * period_gifters / PERIOD_S
    per_gift["firestore_writes"] += amortized
    ops["period_entries_amortized"] = {
        "writes_per_gifter": round(per_gifter, 2),
        "gifters_per_period": period_gifters,
        "period_s": PERIOD_S,
        "writes_per_gift": round(amortized, 4),
    }
    ops["firestore_writes_per_gift_with_periods"] = round(per_gift["firestore_writes"], 4)
    ops["cost_usd_per_million_gifts_with_periods"] = cost.per_million_gifts(per_gift)
    ops["exact"] = totals.get("coins") == coins and totals.get("gifts") == units
    # Its listened-to documents, as the hot stream's (`write_figures`): the fast path
    # takes a turn up to a quarter interval early (decision 096), at most one per interval
    # in the long run.
    listened = [
        w
        for w in writelog.read(writes_dir)
        if "path" in w and start - 1 <= w["t"] <= t_window and _listened(w["path"], stream)
    ]
    path, rate = busiest(listened)
    ops["busiest_listened_doc"] = path
    ops["busiest_listened_doc_writes_per_s"] = round(rate, 2)
    ops["seconds"] = round(t_done - start, 1)
    ops["distinct_gifters"] = len({e.user.id for e in evs})
    return ops


class AlertProbe:
    """Publish of a gift to a quiet stream -> its alert (by `event_id`) seen by an
    `on_snapshot` listener on the stream's alerts query."""

    CORGI = {"id": "6267", "name": "Corgi", "coins": 299, "streakable": False}

    def __init__(self, db: firestore.Client, project: str, sent: _Sent | None = None):
        self.stream = f"bench-lat-{uuid.uuid4().hex[:8]}"
        q = (
            db.collection("streams")
            .document(self.stream)
            .collection("alerts")
            .order_by("seq", direction=firestore.Query.DESCENDING)
            .limit(10)
        )
        self.arrivals = _Arrivals()
        self.watch = q.on_snapshot(self._on_snap)
        self.pub = EventPublisher(project)
        self.sent = sent if sent is not None else _Sent()

    def _on_snap(self, snaps, changes, read_time):
        now = time.time()
        ids = [a["event_id"] for s in snaps for a in s.get("items") or [] if a.get("event_id")]
        self.arrivals.note(ids, now)

    def sample(self, i: int) -> float | None:
        ev = _gift(self.stream, "bench-lat", i % 7, self.CORGI, 1, True, f"x{i}", i)
        t = time.time()
        self.pub.publish_message([ev]).result(timeout=30)
        self.sent([ev])
        return self.arrivals.since(ev.event_id, t, timeout=30)

    def close(self) -> None:
        self.watch.unsubscribe()
        self.pub.close()


WARMUP_ROUNDS = 5
QUIET_STREAMS = 3  # alert probes taken in turn: each stream gets a gift every ~1.4 s or more


class _Rotation:
    """Probes sampled in turn, one per call."""

    def __init__(self, probes: list):
        self.probes = probes

    def sample(self, i: int) -> float | None:
        return self.probes[i % len(self.probes)].sample(i)

    def close(self) -> None:
        for p in self.probes:
            p.close()


def latencies(
    db, project: str, floor: PushFloor, samples: int, sent: _Sent | None = None
) -> dict[str, list[float]]:
    """The pipeline's alert latency and its two floors, sampled in turn (one of each per
    round), so all three see the same machine and the same emulators: a floor measured at
    one moment against a pipeline measured at another would put the machine's state into
    the ratio.

    - The alert probe rotates over QUIET_STREAMS streams, so each stream stays quiet (one
      gift per rollup interval or less) while rounds come three times as often.
    - Rounds are spaced by a random pause: the Pub/Sub emulator's push loops poll an empty
      subscription every 100 ms, which adds 0-100 ms to every delivery; with a fixed pause
      that wait repeated nearly periodically from round to round. The random pause makes
      each sample's place in the cycle independent; how the subscription's two loops sit
      relative to each other still varies between runs (BENCHMARKS.md).
    - The first WARMUP_ROUNDS rounds are not kept: on a stack just started they time the
      emulators' JIT compiling the paths they take, the pipeline's more than the floors'."""
    listener = ListenerFloor(db)
    alert = _Rotation([AlertProbe(db, project, sent) for _ in range(QUIET_STREAMS)])
    probes = {"push": floor, "listener": listener, "alert": alert}
    out: dict[str, list[float]] = {k: [] for k in probes}
    rnd = random.Random(7)
    try:
        time.sleep(0.5)  # the listeners are attached
        for i in range(WARMUP_ROUNDS + samples):
            for name, probe in probes.items():
                v = probe.sample(i)
                if v is not None and i >= WARMUP_ROUNDS:
                    out[name].append(v)
            time.sleep(0.35 + rnd.random() * 0.1)
    finally:
        listener.close()
        alert.close()
    return out


def _log_sizes(status: dict) -> int:
    """Bytes the pipeline's function processes have logged so far (in production these
    lines go to Cloud Logging; the platform adds a request log per invocation)."""
    total = 0
    for name in ("fn-on_engagement", "fn-rollup"):
        path = (status.get("logs") or {}).get(name)
        if path and os.path.exists(path):
            total += os.path.getsize(path)
    return total


def write_category(path: str) -> str:
    """What a written document is, for the operation counts by kind."""
    parts = path.split("/")
    if parts[0] == "streams":
        if len(parts) == 2:
            return "live"
        if parts[2] == "events":
            return "record"
        if parts[2] == "alerts":
            return "alert"
        if parts[2] == "rollup":
            return {"state": "state", "lease": "lease"}.get(parts[3], "user_shard")
        return parts[2]
    if parts[0] == "leaderboards":
        scope = "session" if parts[1].startswith("stream.") else "period"
        return f"{scope}_board_entry" if len(parts) > 2 else f"{scope}_board"
    return parts[0]


def operations(writes_dir: str, lo: float, hi: float, sent: _Sent, app_log_bytes: int) -> dict:
    """What production would bill for the gifts `sent` between `lo` and `hi`, per gift:
    counted from the functions' write logs (writes, reads, invocations and their
    durations, Cloud Tasks creates) and the publisher (messages, billed bytes)."""
    lines = [w for w in writelog.read(writes_dir) if lo <= w["t"] <= hi]
    ops: dict[str, float] = {}
    reads: dict[str, float] = {}
    writes: dict[str, int] = {}
    billed = 0.0
    for w in lines:
        if "op" in w:
            ops[w["op"]] = ops.get(w["op"], 0) + w["n"]
            if w["op"].startswith("seconds."):
                billed += cost.billed_seconds(w["n"])
            if w["op"] == "read":
                what = w.get("what", "other")
                reads[what] = reads.get(what, 0) + w["n"]
        elif "path" in w:
            what = write_category(w["path"])
            writes[what] = writes.get(what, 0) + 1
    gifts = max(1, sent.events)
    invocations = ops.get("invocation.on_engagement", 0) + ops.get("invocation.rollup", 0)
    # Cloud Tasks bills each create attempt and each dispatch (a rollup invocation).
    tasks = ops.get("tasks_create", 0) + ops.get("invocation.rollup", 0)
    logged = sum(
        ops.get(f"invocation.{f}", 0)
        for f in ("on_engagement", "rollup")
        if f not in cost.REQUEST_LOGS_EXCLUDED
    )
    log_bytes = app_log_bytes + logged * cost.REQUEST_LOG_BYTES
    per_gift = {
        "pubsub_bytes": sent.billed_bytes / gifts,
        "invocations": invocations / gifts,
        "invocation_seconds": billed / gifts,
        "firestore_writes": sum(1 for w in lines if "path" in w) / gifts,
        "firestore_reads": ops.get("read", 0) / gifts,
        "tasks_operations": tasks / gifts,
        "log_bytes": log_bytes / gifts,
    }
    mean_s = {
        f: round(ops[f"seconds.{f}"] / ops[f"invocation.{f}"], 4)
        for f in ("on_engagement", "rollup")
        if ops.get(f"invocation.{f}")
    }
    return {
        "gifts": sent.events,
        "pubsub_messages_per_gift": round(sent.messages / gifts, 4),
        **{f"{k}_per_gift": round(v, 4) for k, v in per_gift.items()},
        "invocations": {f: int(ops.get(f"invocation.{f}", 0)) for f in ("on_engagement", "rollup")},
        "invocation_mean_seconds": mean_s,
        "app_log_bytes": app_log_bytes,
        "writes_refused": int(ops.get("write_refused", 0)),
        # Where they come from, per gift: reads by operation, writes by document kind.
        "reads_by_operation": {k: round(v / gifts, 4) for k, v in sorted(reads.items())},
        "writes_by_kind": {k: round(v / gifts, 4) for k, v in sorted(writes.items())},
        "cost_usd_per_million_gifts": cost.per_million_gifts(per_gift),
        "_per_gift": per_gift,
    }


def _listened(path: str, stream: str) -> bool:
    """A document clients listen to: the stream's live document, its alerts, a board."""
    return (
        path == f"streams/{stream}"
        or path.startswith(f"streams/{stream}/alerts/")
        or path.startswith("leaderboards/")
    )


def write_figures(writes_dir: str, hot: dict) -> dict:
    s, c = hot["stream"], hot["creator"]
    lo, hi = hot["t0"] - 1, hot["t_done"] + 12
    mine = [
        w
        for w in writelog.read(writes_dir)
        if "path" in w
        and lo <= w["t"] <= hi
        and (
            w["path"].startswith(f"streams/{s}")
            or w["path"].startswith(f"leaderboards/stream.{s}")
            or w["path"].startswith(f"leaderboards/creator.{c}.")
            or w["path"].startswith("leaderboards/global.")
        )
    ]
    path, rate = busiest([w for w in mine if _listened(w["path"], s)])
    by_kind: dict[str, int] = {}
    for w in mine:
        key = (
            w["path"].split("/")[2]
            if w["path"].startswith("streams/") and w["path"].count("/") >= 2
            else w["path"].split("/")[0]
        )
        by_kind[key] = by_kind.get(key, 0) + 1
    return {
        "firestore_writes_per_gift": round(len(mine) / hot["messages"], 3),
        "firestore_writes": len(mine),
        "writes_by_collection": by_kind,
        "max_doc_writes_per_s": round(rate, 2),
        "busiest_listened_doc": path,
    }


def run(
    status: dict,
    seconds: float = defaults.HOT_SECONDS,
    latency_samples: int = defaults.LATENCY_SAMPLES,
    floor_messages: int = defaults.FLOOR_MESSAGES,
    users: int = defaults.VIEWERS,
    rate: float | None = None,
    hot_multiple: float = HOT_MULTIPLE,
    one_per_s_seconds: float = ONE_PER_S_SECONDS,
) -> dict:
    os.environ.update(status["env"])
    project = status["project_id"]
    db = firestore.Client(project=project)
    workdir = Path(status["state_dir"])
    _log("floor: Pub/Sub push -> no-op functions-framework function")
    floor = PushFloor(project, status["emulators"]["pubsub"], workdir)
    try:
        floor_rate = floor.throughput(floor_messages)
        _log(f"floor: push delivery {floor_rate:.0f} msg/s; the same with one create each")
        durable = PushFloor(project, status["emulators"]["pubsub"], workdir, durable=True)
        try:
            durable_rate = durable.throughput(floor_messages)
        finally:
            durable.close()
        _log(f"floor: push + create {durable_rate:.0f} msg/s; alert latency and its floors")
        quiet_sent, logs0, t_q0 = _Sent(), _log_sizes(status), time.time()
        quiet = latencies(db, project, floor, latency_samples, quiet_sent)
        time.sleep(3)  # the quiet streams' follow-up rollups
        t_q1, logs_q = time.time(), _log_sizes(status)
        one_per_s = one_gift_per_s(db, project, status["writes_dir"], one_per_s_seconds)
        logs1 = _log_sizes(status)
        hot = sustained(db, project, seconds, rate or floor_rate * hot_multiple, users)
        logs2 = _log_sizes(status)
        _log(
            f"sustained: {hot['gifts_per_s']:.0f} gifts/s, exact={hot['exact']}; "
            f"a steady {STEADY_RATE:.0f} gifts/s stream for its operation counts"
        )
        steady = sustained(db, project, STEADY_SECONDS, STEADY_RATE, STEADY_VIEWERS, kind="steady")
        logs3 = _log_sizes(status)
        _log("alert latency and its floors again, after the hot run")
        after = latencies(db, project, floor, latency_samples)
    finally:
        floor.close()
    wd = status["writes_dir"]
    ops = {
        "hot": operations(wd, hot["t0"] - 1, hot["t_done"] + 12, hot["sent"], logs2 - logs1),
        "steady_100_gifts_per_s": operations(
            wd, steady["t0"] - 1, steady["t_done"] + 12, steady["sent"], logs3 - logs2
        ),
        "quiet": operations(wd, t_q0, t_q1, quiet_sent, logs_q - logs0),
    }
    for o in ops.values():
        o.pop("_per_gift")
    ops["one_gift_per_s"] = one_per_s
    writes = write_figures(status["writes_dir"], hot)
    lat = latency_figures(quiet)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        **lat,
        # The same, after the hot run: the Firestore emulator's queries slow down with every
        # event record ever written (BENCHMARKS.md), which production's indexes do not.
        "after_hot_run": latency_figures(after),
        "sustained_gifts_per_s": round(hot["gifts_per_s"], 1),
        "sustained_seconds": round(hot["t_done"] - hot["t0"], 1),
        "sustained_publish_rate": round(hot["publish_rate"], 1),
        "floor_msgs_per_s": round(floor_rate, 1),
        "sustained_ratio": round(hot["gifts_per_s"] / floor_rate, 2),
        # The same delivery with one Firestore create per message (keyed by its id) before
        # the acknowledgement: what any exactly-once consumer does at the least.
        "floor_durable_msgs_per_s": round(durable_rate, 1),
        "durable_floor_ratio": round(durable_rate / floor_rate, 2),
        "sustained_vs_durable_floor": round(hot["gifts_per_s"] / durable_rate, 2),
        **writes,
        "exact": hot["exact"],
        "expected_totals": hot["expected"],
        "final_totals": hot["got"],
        "gift_messages": hot["messages"],
        "viewers": users,
        # Issue #18: what production would bill, from the operations counted here.
        "pubsub_messages_per_gift": ops["hot"]["pubsub_messages_per_gift"],
        "invocations_per_gift": ops["hot"]["invocations_per_gift"],
        "cost_usd_per_million_gifts": {
            "hot_stream": ops["hot"]["cost_usd_per_million_gifts"]["total"],
            "at_100_gifts_per_s": ops["steady_100_gifts_per_s"]["cost_usd_per_million_gifts"][
                "total"
            ],
            "quiet_stream": ops["quiet"]["cost_usd_per_million_gifts"]["total"],
            # one stream, a gift a second, with its share of the period boards
            "at_1_gift_per_s": one_per_s["cost_usd_per_million_gifts_with_periods"]["total"],
        },
        "steady_exact": steady["exact"],
        "operations": ops,
        "batching": {"max_events": MAX_EVENTS, "linger_ms": LINGER_S * 1000},
        "hot_multiple": hot_multiple,
    }
    return report


def push_window(status: dict, sleeps_ms: list[float], messages: int = 1500) -> dict:
    """How many pushes the emulator keeps in flight. The no-op floor function answers after
    `sleep` ms (no CPU); with N requests in flight and s0 of its own time per message,
    1/rate = (sleep + s0) / N (Little's law), so a straight line through the measured
    1/rate against sleep gives both (`stats.in_flight_fit`)."""
    os.environ.update(status["env"])
    rows = []
    for i, ms in enumerate([sleeps_ms[0], *sleeps_ms]):
        floor = PushFloor(
            status["project_id"],
            status["emulators"]["pubsub"],
            Path(status["state_dir"]),
            ms / 1000,
        )
        try:
            rate = floor.throughput(messages if i else 300)
        finally:
            floor.close()
        if i:  # the first run only warms the emulator up
            rows.append({"sleep_ms": ms, "msgs_per_s": round(rate, 1)})
    n, s0 = in_flight_fit([r["sleep_ms"] / 1000 for r in rows], [r["msgs_per_s"] for r in rows])
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "push_window": rows,
        "in_flight": round(n, 2),
        "service_ms": round(s0 * 1000, 2),
    }


def run_one_per_s(status: dict, seconds: float = ONE_PER_S_SECONDS) -> dict:
    """Only the 1 gift/s window (`giftengine bench --only-one-per-s`)."""
    os.environ.update(status["env"])
    db = firestore.Client(project=status["project_id"])
    ops = one_gift_per_s(db, status["project_id"], status["writes_dir"], seconds)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "exact": ops["exact"],
        "operations": {"one_gift_per_s": ops},
    }
