"""Web client benchmark on the local cloud (docs/bench-web.md).

    python -m giftengine_dev.webclients.bench [--samples 60] [--burst-seconds 10] [--rate 50]
        [--demo-rate 40] [--only latency|frames|demo ...]

- alert latency: a gift published as an EngagementEvent (Pub/Sub -> on_engagement -> rollup
  -> Firestore) until its alert element is in the overlay's DOM, next to the floor measured in
  the same run and the same browser: an alert document written straight to Firestore until
  it is in the DOM of a second overlay page.
- frame pacing: the overlay records every animation frame (perf=1) while gifts arrive at
  `rate` per second from many viewers (streaks, big gifts with the 3D effect, reordering
  leaderboard, goal); the share of frames over 20 ms, with the same page idle as the floor.
- demo replay: the bundled demo session at the demo's rate into a creator-scoped overlay:
  alert document written -> item on screen (alone or condensed) p50 / p99, and alerts lost.

Clocks: the page stamps Date.now() when it renders an alert; Python stamps time.time() before
publishing / writing. Both read the same system clock.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from giftengine_dev.bench.stats import percentile, summary_ms
from giftengine_dev.devcloud import stack
from giftengine_dev.devcloud.layout import HOST, ROOT
from giftengine_dev.webclients import component
from giftengine_dev.webclients.browser import Browser

THREAD_PORTS = {"overlay": 9992, "dashboard": 9993}


def gift(
    stream: str,
    event_id: str,
    user: str,
    coins: int,
    count=1,
    end=True,
    group="",
    streakable=False,
    gift_id="5655",
    name="Rose",
) -> dict:
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": "gift",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": user.title()},
        "gift": {"id": gift_id, "name": name, "coins": coins, "streakable": streakable},
        "repeat_count": count,
        "repeat_end": end,
        "group_id": group,
    }


def open_overlay(b: Browser, page: str, base: str, stream: str, **params) -> None:
    b.open(page, f"{base}?{urlencode({'stream': stream, **params})}", width=1280, height=720)
    b.wait_for(page, "() => document.getElementById('overlay').dataset.alertsReady === '1'")


def shown_at(b: Browser, page: str) -> dict[str, float]:
    rows = b.eval(page, "() => window.giftOverlay.shown")
    return {r["event_id"]: r["at"] / 1000 for r in rows if r.get("event_id")}


def alert_latency(b, urls, db, publish, samples: int) -> dict:
    run = uuid.uuid4().hex[:8]
    pipe, floor = f"bench-web-{run}", f"bench-web-floor-{run}"
    open_overlay(b, "pipe", urls["overlay"], pipe, widgets="alerts", alert_ms=300)
    open_overlay(b, "floor", urls["overlay"], floor, widgets="alerts", alert_ms=300)
    alerts = db.collection("streams").document(floor).collection("alerts")
    # The same gifts' alerts as a Python listener sees them: what the pipeline delivers to
    # Firestore clients, so DOM minus this is the browser's share.
    heard: dict[str, float] = {}

    def on_alerts(snaps, changes, read_time):
        now = time.time()
        for snap in snaps:
            for item in (snap.to_dict() or {}).get("items", []):
                if item.get("event_id"):
                    heard.setdefault(item["event_id"], now)

    watch = (
        db.collection("streams")
        .document(pipe)
        .collection("alerts")
        .order_by("seq", direction="DESCENDING")
        .limit(20)
        .on_snapshot(on_alerts)
    )
    sent_pipe, sent_floor = {}, {}
    for i in range(samples):
        eid = f"bench:{run}:{i}"
        sent_pipe[eid] = time.time()
        publish([gift(pipe, eid, f"u{i % 7}", coins=1)])
        fid = f"floor:{run}:{i}"
        seq = i + 1
        sent_floor[fid] = time.time()
        alerts.document(f"{seq:012d}").set(
            {
                "seq": seq,
                "created_at": datetime.now(UTC),
                "items": [
                    {
                        "type": "gift",
                        "user_id": "f",
                        "name": "Floor",
                        "gift_name": "Rose",
                        "units": 1,
                        "coins": 1,
                        "event_id": fid,
                    }
                ],
            }
        )
        # One alert at a time: the rollup writes a stream at most once per second.
        time.sleep(1.2)
    deadline = time.time() + 30
    while time.time() < deadline:
        got_pipe, got_floor = shown_at(b, "pipe"), shown_at(b, "floor")
        if len(got_pipe) >= samples and len(got_floor) >= samples:
            break
        time.sleep(0.5)
    watch.unsubscribe()
    lat = [got_pipe[e] - t for e, t in sent_pipe.items() if e in got_pipe]
    flo = [got_floor[e] - t for e, t in sent_floor.items() if e in got_floor]
    py = [heard[e] - t for e, t in sent_pipe.items() if e in heard]
    for page in ("pipe", "floor"):
        b.call("close", page=page)
    return {
        "alert_latency_ms": summary_ms(lat),
        "floor_firestore_to_dom_ms": summary_ms(flo),
        "same_alerts_python_listener_ms": summary_ms(py),
        "missing": samples - len(lat),
    }


def frames_summary(frames: list[float]) -> dict:
    frames = [f for f in frames if f > 0]
    if not frames:
        return {"frames": 0}
    over = sum(1 for f in frames if f > 20)
    return {
        "frames": len(frames),
        "over_20ms_share": round(over / len(frames), 4),
        "p50_ms": round(percentile(frames, 50), 1),
        "p99_ms": round(percentile(frames, 99), 1),
        "max_ms": round(max(frames), 1),
    }


def frame_pacing(b, urls, publish, rate: int, seconds: float, fx: str) -> dict:
    stream = f"bench-web-burst-{uuid.uuid4().hex[:8]}"
    open_overlay(b, "burst", urls["overlay"], stream, perf=1, fx=fx)
    time.sleep(1.0)
    b.eval("burst", "() => { window.giftOverlay.frames.length = 0; }")
    time.sleep(5.0)
    idle = b.eval("burst", "() => window.giftOverlay.frames.splice(0)")
    rnd = random.Random(7)
    users = [f"v{i}" for i in range(40)]
    streaks: dict[str, int] = {}
    sent, start = 0, time.monotonic()
    tick = 0.1
    while (now := time.monotonic() - start) < seconds:
        want = int(now * rate) + 1
        batch = []
        while sent < want:
            user = rnd.choice(users)
            r = rnd.random()
            if r < 0.05:
                batch.append(
                    gift(stream, f"{stream}:{sent}", user, coins=500, gift_id="lion", name="Lion")
                )
            elif r < 0.45:  # streaks of Roses, closed every few messages
                n = streaks.get(user, 0) + 1
                streaks[user] = n
                end = n >= rnd.randint(3, 8)
                batch.append(
                    gift(
                        stream,
                        f"{stream}:{sent}",
                        user,
                        coins=1,
                        count=n,
                        end=end,
                        group=f"{user}-{sent // 200}",
                        streakable=True,
                    )
                )
                if end:
                    streaks.pop(user)
            else:
                batch.append(gift(stream, f"{stream}:{sent}", user, coins=rnd.choice([1, 5, 10])))
            sent += 1
        publish(batch)
        time.sleep(tick)
    time.sleep(5.0)  # let the last rollups and alerts arrive
    burst = b.eval("burst", "() => window.giftOverlay.frames.splice(0)")
    shown = b.eval("burst", "() => window.giftOverlay.shown")
    effects = {}
    for row in shown:
        if row.get("fx"):
            effects[row["fx"]] = effects.get(row["fx"], 0) + 1
    b.call("close", page="burst")
    return {
        "fx": fx,
        "gifts": sent,
        "rate": rate,
        "seconds": seconds,
        "alerts_shown": len(shown),
        "big_effects": effects,
        "burst": frames_summary(burst),
        "idle_floor": frames_summary(idle),
    }


def demo_replay(b, urls, status, db, publisher, rate: float) -> dict:
    """The bundled demo session at the demo's rate into a creator-scoped overlay with the
    default widgets and rules: every alert item the pipeline wrote, from its alert document's
    `created_at` (server time) until the overlay put it on screen, alone or condensed; paid
    gift alerts neither shown nor condensed nor hidden by a rule are "lost"."""
    import requests

    from giftengine_dev.cli.replay import Skipped, read_events
    from giftengine_dev.demo.run import EXPECTED, SESSION
    from giftengine_dev.devcloud.tokens import emulator_id_token

    run = uuid.uuid4().hex[:8]
    stream, creator = f"bench-web-demo-{run}", f"bench-creator-{run}"
    with open(SESSION) as f:
        events = [e for e in read_events(f, stream) if not isinstance(e, Skipped)]
    events = [e.model_copy(update={"creator_id": creator}) for e in events]
    expected = json.loads(EXPECTED.read_text())
    url = f"{urls['overlay']}?{urlencode({'creator': creator})}"
    b.open("demo", url, width=1280, height=720)
    b.wait_for("demo", "() => window.giftOverlay.state === 'idle'")
    ref = db.collection("streams").document(stream)
    token = emulator_id_token(creator, status["project_id"], display_name="Bench Creator")
    auth = {"Authorization": f"Bearer {token}"}
    # The ownership record (POST /api/streams): the creator may then set the goal.
    r = requests.post(
        f"{status['endpoints']['api']}/streams",
        json={"stream_id": stream},
        headers=auth,
        timeout=60,
    )
    r.raise_for_status()
    goal_set = False
    started = time.monotonic()
    for i, ev in enumerate(events):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        publisher.publish(ev)
        if not goal_set and i % 40 == 39 and ref.get(["creator_id"]).exists:
            r = requests.post(
                f"{status['endpoints']['api']}/goals",
                json={
                    "stream_id": stream,
                    "goal_id": "new-mic",
                    "metric": "coins",
                    "target": int(expected["coins"] * 0.6),
                    "title": "New microphone",
                },
                headers=auth,
                timeout=60,
            )
            r.raise_for_status()
            goal_set = True
    replay_s = time.monotonic() - started
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        totals = (ref.get().to_dict() or {}).get("totals") or {}
        if all(totals.get(k) == expected[k] for k in ("coins", "gifts", "follows")):
            break
        time.sleep(0.5)
    time.sleep(3.0)  # the last alert documents reach the page
    b.wait_for("demo", "() => !window.giftOverlay.waiting", timeout=60)
    shown = b.eval("demo", "() => window.giftOverlay.shown")
    hidden = b.eval("demo", "() => window.giftOverlay.hidden")
    b.call("close", page="demo")

    written = {}  # "seq:index" -> (item, created_at seconds)
    for snap in ref.collection("alerts").order_by("seq").stream():
        d = snap.to_dict()
        for i, item in enumerate(d.get("items") or []):
            if item.get("type") != "combo":
                written[f"{d['seq']}:{i}"] = (item, d["created_at"].timestamp())
    on_screen = {}  # key -> (seconds, condensed)
    for row in shown:
        for k in row.get("keys") or []:
            if k:
                on_screen.setdefault(k, (row["at"] / 1000, row["condensed"]))
    hidden_keys = {h.get("key") for h in hidden}
    lat = [on_screen[k][0] - at for k, (_, at) in written.items() if k in on_screen]
    paid = {k for k, (it, _) in written.items() if it["type"] == "gift" and it.get("coins", 0) > 0}
    kinds: dict[str, int] = {}
    for it, _ in written.values():
        kinds[it["type"]] = kinds.get(it["type"], 0) + 1
    lost = [k for k in written if k not in on_screen and k not in hidden_keys]
    return {
        "events": len(events),
        "rate": rate,
        "replay_seconds": round(replay_s, 1),
        "alert_items_written": len(written),
        "by_type": kinds,
        "screen_turns": len(shown),
        "condensed_turns": sum(1 for r in shown if r["condensed"]),
        "items_shown_alone": sum(1 for v in on_screen.values() if not v[1]),
        "items_in_condensed": sum(1 for v in on_screen.values() if v[1]),
        "hidden_by_rules": len(hidden_keys & set(written)),
        "paid_alerts": len(paid),
        "paid_lost": len([k for k in lost if k in paid]),
        "lost": len(lost),
        "alert_write_to_screen_ms": summary_ms(lat),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m giftengine_dev.webclients.bench")
    p.add_argument("--state-dir", default=str(ROOT / ".giftengine" / "bench-web"))
    p.add_argument("--port-base", type=int, default=9950)
    p.add_argument("--samples", type=int, default=60)
    p.add_argument("--rate", type=int, default=50)
    p.add_argument("--burst-seconds", type=float, default=10.0)
    p.add_argument("--demo-rate", type=float, default=40.0, help="the demo replay's events/s")
    p.add_argument(
        "--only",
        choices=["latency", "frames", "demo"],
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    p.add_argument("--keep", action="store_true", help="leave the stack running")
    args = p.parse_args(argv)

    was_running = stack.status(args.state_dir)["running"]
    status = stack.up(args.state_dir, port_base=args.port_base)
    os.environ.update(status["env"])
    servers = []
    try:
        from giftengine.adapters.pubsub import EventPublisher
        from giftengine.domain.events import EngagementEvent
        from google.cloud import firestore

        eps = status["endpoints"]
        if "overlay" in eps:
            urls = {"overlay": eps["overlay"], "dashboard": eps["dashboard"]}
        else:
            urls, servers = component.serve_in_threads(status, HOST, THREAD_PORTS)
        db = firestore.Client(project=status["project_id"])
        publisher = EventPublisher(status["project_id"])

        def publish(events):
            publisher.publish_all([EngagementEvent.model_validate(e) for e in events])

        with Browser() as b:
            report = {"browser": f"chromium {b.version} (headless, software WebGL)"}
            parts = set(args.only or ["latency", "frames", "demo"])
            if "latency" in parts:
                report.update(alert_latency(b, urls, db, publish, args.samples))
            if "frames" in parts:
                report["frame_pacing"] = [
                    frame_pacing(b, urls, publish, args.rate, args.burst_seconds, fx)
                    for fx in ("auto", "2d")
                ]
            if "demo" in parts:
                report["demo_replay"] = demo_replay(b, urls, status, db, publisher, args.demo_rate)
        publisher.close()
        print(json.dumps(report, indent=2))
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        if not was_running and not args.keep:
            stack.down(args.state_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
