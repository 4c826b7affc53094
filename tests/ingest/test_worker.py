"""The ingest worker end to end, offline: the real TikTokLive 7.0.1 client decodes frames served by
a local fake TikTok (tests/ingest/fake_tiktok.py); workers run as processes started from the
Dockerfile's own command; every test asserts what reached the Pub/Sub emulator."""

from __future__ import annotations

import collections
import time

import pytest

from tests.ingest import fake_tiktok as F
from tests.ingest.conftest import cleanup_targets, wait_until

pytestmark = [pytest.mark.emulator]


def ids(events):
    return [e["event_id"] for e in events]


def sentinel_seen(stream, text="__end__"):
    return lambda evs: any(e["stream_id"] == stream and e.get("text") == text for e in evs)


def assert_unique(events):
    dup = [k for k, n in collections.Counter(ids(events)).items() if n > 1]
    assert not dup, f"published twice: {dup}"


def target(db, cid):
    return db.collection("ingest_targets").document(cid).get().to_dict() or {}


def lease(db, cid):
    return db.collection("ingest_leases").document(cid).get().to_dict() or {}


def connected(fake, cid, n=1):
    return lambda: fake.open_connections(cid) >= n


def test_streak_with_resent_final_is_published_once(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room)
    workers()
    wait_until(connected(fake, cid), what="worker connects")
    stream = f"tiktok-{room}"
    streak = [F.gift(room, 42, repeat_count=n, repeat_end=False, group_id=777) for n in (1, 2, 3)]
    final = F.gift(room, 42, repeat_count=4, repeat_end=True, group_id=777)
    fake.push(cid, *streak)
    fake.push(cid, final)
    fake.push(cid, final)  # TikTok re-sends the final frame: same message id
    fake.push(cid, F.gift(room, 42, repeat_count=4, repeat_end=True, group_id=777))  # new id
    fake.push(cid, F.follow(room, 43), F.share(room, 44), F.comment(room, 45, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    events = tap.for_stream(stream)
    assert_unique(events)
    gifts = [e for e in events if e["kind"] == "gift"]
    assert [(g["repeat_count"], g["repeat_end"]) for g in gifts] == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]
    assert gifts[-1]["event_id"] == f"tiktok:{room}:{F.msg_id_of(final)}"
    assert gifts[0]["gift"] == {"id": "5655", "name": "Rose", "coins": 1, "streakable": True}
    assert gifts[0]["user"]["handle"] == "viewer42" and gifts[0]["creator_id"] == cid
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "stream_start" and kinds.count("stream_start") == 1
    # FollowEvent/ShareEvent ride beside SocialEvent in TikTokLive: counted once each.
    assert kinds.count("follow") == 1 and kinds.count("share") == 1
    # A message names its event (one) or its count (a batch) in its attributes.
    mine = [(a, m) for a, m in tap.messages if a.get("stream_id") == stream]
    assert {e for _, m in mine for e in m} == set(ids(events))
    for a, m in mine:
        assert (a["event_id"] == m[0]) if len(m) == 1 else (a["count"] == str(len(m)))
    # The room's stream belongs to the Firebase user linked to the account (owner_uid).
    owner_ref = db.collection("stream_owners").document(stream)
    wait_until(lambda: owner_ref.get().exists, what="stream ownership record")
    owner = owner_ref.get().to_dict()
    assert (owner["creator_id"], owner["source"], owner["tiktok_username"]) == (
        f"uid-{cid}",
        "tiktok",
        cid,
    )


def test_drop_mid_streak_reconnects_and_drops_replays(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room, replay_last=20)  # TikTok replays recent messages
    workers()
    wait_until(connected(fake, cid), what="worker connects")
    stream = f"tiktok-{room}"
    first = [
        F.gift(room, 7, diamonds=5, repeat_count=n, repeat_end=False, group_id=9) for n in (1, 2, 3)
    ]
    fake.push(cid, *first)
    tap.wait_for(
        lambda evs: len([e for e in evs if e["stream_id"] == stream and e["kind"] == "gift"]) == 3,
        what="first half",
    )
    fake.drop(cid)
    wait_until(
        lambda: fake.creator(cid).connects >= 2 and fake.open_connections(cid) == 1,
        what="reconnect",
    )
    rest = [
        F.gift(room, 7, diamonds=5, repeat_count=n, repeat_end=n == 5, group_id=9) for n in (4, 5)
    ]
    fake.push(cid, *rest, F.comment(room, 8, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    events = tap.for_stream(stream)
    assert_unique(events)
    gifts = [e for e in events if e["kind"] == "gift"]
    assert [g["repeat_count"] for g in gifts] == [1, 2, 3, 4, 5]
    assert [g["event_id"] for g in gifts] == [
        f"tiktok:{room}:{F.msg_id_of(m)}" for m in first + rest
    ]
    assert [e["kind"] for e in events].count("stream_start") == 1
    # The status document is written every stats interval, so a write may show the
    # reconnect before the replays were counted: wait for both (the replayed half of the
    # streak is >= 3 duplicates).
    doc = wait_until(
        lambda: (
            (st := (d := target(db, cid)).get("ingest", {}).get("stats", {})).get("reconnects", 0)
            >= 1
            and st.get("duplicates_dropped", 0) >= 3
            and d
        ),
        what="reconnect and duplicate counters",
    )
    assert doc["status"] == "live" and doc["ingest"]["stream_id"] == stream


def test_rate_limited_sign_request_backs_off(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room)
    fake.sign_retry_after_s = 1
    fake.sign_429_left = 2
    workers()
    wait_until(connected(fake, cid), what="connect after rate limit")
    stream = f"tiktok-{room}"
    fake.push(cid, F.gift(room, 1, streakable=False, diamonds=100), F.comment(room, 1, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    gifts = [e for e in tap.for_stream(stream) if e["kind"] == "gift"]
    assert len(gifts) == 1 and gifts[0]["gift"]["coins"] == 100 and gifts[0]["repeat_end"]
    times = fake.sign_times
    assert fake.sign_requests == 3
    # The worker waited out each 429's retry hint instead of hammering the sign server.
    assert all(b - a >= fake.sign_retry_after_s for a, b in zip(times, times[1:], strict=False))
    wait_until(
        lambda: (
            (d := target(db, cid)).get("ingest", {}).get("stats", {}).get("rate_limited", 0) >= 2
            and d["status"] == "live"
        ),
        what="rate-limit counter",
    )


def test_offline_creator_is_polled_until_live(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "offline", room_id=room)
    workers()
    wait_until(lambda: fake.creator(cid).page_hits >= 3, what="polling")
    wait_until(lambda: target(db, cid).get("status") == "offline", what="offline status")
    assert fake.sign_requests == 0  # no sign request is spent on an offline creator
    fake.set_state(cid, "live")
    wait_until(connected(fake, cid), what="connect once live")
    stream = f"tiktok-{room}"
    fake.push(cid, F.gift(room, 3, streakable=False), F.comment(room, 3, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    kinds = [e["kind"] for e in tap.for_stream(stream)]
    assert kinds == ["stream_start", "gift", "comment"]


def test_live_end_publishes_stream_end_once(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room, replay_last=10)
    workers()
    wait_until(connected(fake, cid), what="connect")
    stream = f"tiktok-{room}"
    end = F.live_end(room)
    fake.push(cid, F.like(room, 5, count=12), F.viewers(room, 321))
    fake.push(cid, end)
    fake.set_state(cid, "offline")
    tap.wait_for(
        lambda evs: any(e["stream_id"] == stream and e["kind"] == "stream_end" for e in evs),
        what="stream_end",
    )
    wait_until(lambda: target(db, cid).get("status") == "offline", what="offline after end")
    tap.drain()
    events = tap.for_stream(stream)
    assert_unique(events)
    assert [e["kind"] for e in events] == ["stream_start", "like", "viewers", "stream_end"]
    assert events[1]["count"] == 12 and events[2]["viewers"] == 321
    assert events[-1]["event_id"] == f"tiktok:{room}:end"


def test_permanent_failure_is_recorded_on_the_target(fake, workers, db):
    from giftengine.ingest.target_store import TargetRepo

    repo = TargetRepo(db)
    cases = {"missing": "user_not_found", "age_restricted": "age_restricted", "blocked": "blocked"}
    cids = {}
    for i, state in enumerate(cases):
        cid = f"perm{i}{next(F._ids) % 100000}"
        fake.set_state(cid, state, room_id=9_100_000 + i + (next(F._ids) % 1000) * 10)
        repo.put(cid, owner_uid="u", by="test")
        cids[cid] = cases[state]
    try:
        workers()
        for cid, code in cids.items():
            doc = wait_until(
                lambda c=cid: (d := target(db, c)).get("status") == "failed" and d,
                what=f"failure of {cid}",
            )
            assert doc["error"]["code"] == code and doc["error"]["reason"]
            # released, and nobody retries a failed target
            wait_until(lambda c=cid: lease(db, c).get("holder") == "", what="lease release")
    finally:
        cleanup_targets(db, cids)


def test_sigterm_mid_stream_flushes_and_releases(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room)
    w = workers()
    assert w.get("/healthz")[0] == 200 and w.get("/nope")[0] == 404
    wait_until(connected(fake, cid), what="connect")
    stream = f"tiktok-{room}"
    for batch in range(10):  # a burst, and SIGTERM while it is still being published
        fake.push(cid, *[F.like(room, 100 + batch * 20 + i, count=1) for i in range(20)])
    assert w.terminate() == 0
    final = target(db, cid)
    assert final["status"] == "stopped"
    assert lease(db, cid)["holder"] == ""  # released: another instance may take it at once
    admitted = final["ingest"]["stats"]["events_total"]
    assert admitted >= 1
    # Everything the worker took in before SIGTERM reached Pub/Sub (flushed), once.
    tap.wait_for(
        lambda evs: len([e for e in evs if e["stream_id"] == stream]) >= admitted,
        what="flushed events",
    )
    events = tap.for_stream(stream)
    assert_unique(events)
    assert len(events) == admitted
    logs = [rec["message"] for rec in w.logs()]
    # Every lease this worker took is released (other tests' targets may share the emulator,
    # so count the worker's own "leased" lines rather than assume one).
    leased = sum(1 for m in logs if m.startswith("leased @"))
    assert leased >= 1
    assert any(m.startswith("stopped in") and f"; {leased} leases released" in m for m in logs)


def test_two_instances_compete_exactly_one_ingests(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room)
    a, b = workers("compete-a", ready=False), workers("compete-b", ready=False)
    a.wait_ready()
    b.wait_ready()
    wait_until(connected(fake, cid), what="connect")
    holders = [w for w in (a, b) if cid in w.creators()]
    assert len(holders) == 1
    stream = f"tiktok-{room}"
    for i in range(5):
        fake.push(cid, F.gift(room, 60 + i, streakable=False, diamonds=10))
    fake.push(cid, F.comment(room, 1, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    events = tap.for_stream(stream)
    assert_unique(events)
    assert [e["kind"] for e in events].count("gift") == 5
    assert fake.creator(cid).max_concurrent == 1 and fake.creator(cid).connects == 1
    assert lease(db, cid)["holder"] == holders[0].name
    assert [w for w in (a, b) if cid in w.creators()] == holders


def test_crashed_instance_is_taken_over(fake, tap, workers, creator, db):
    cid, room = creator
    fake.set_state(cid, "live", room_id=room, replay_last=50)
    a = workers("crash-a")
    wait_until(connected(fake, cid), what="first instance connects")
    b = workers("crash-b")
    assert cid not in b.creators()  # the lease keeps it away while the holder lives
    stream = f"tiktok-{room}"
    before = [F.gift(room, 70, repeat_count=n, repeat_end=False, group_id=5) for n in (1, 2)]
    fake.push(cid, *before)
    tap.wait_for(
        lambda evs: len([e for e in evs if e["stream_id"] == stream and e["kind"] == "gift"]) == 2,
        what="events before crash",
    )
    token_a = lease(db, cid)["token"]
    a.kill()  # SIGKILL: no release, no flush beyond what already landed
    wait_until(lambda: cid in b.creators(), what="takeover")
    wait_until(connected(fake, cid), what="second instance connects")
    after = [F.gift(room, 70, repeat_count=3, repeat_end=True, group_id=5)]
    fake.push(cid, *after, F.comment(room, 1, "__end__"))
    tap.wait_for(sentinel_seen(stream), what="sentinel")
    events = tap.for_stream(stream)
    gifts = [e for e in events if e["kind"] == "gift"]
    # b's replayed history repeats a's ids: the same event ids, so downstream records them once.
    assert sorted({g["event_id"] for g in gifts}) == sorted(
        f"tiktok:{room}:{F.msg_id_of(m)}" for m in before + after
    )
    assert [g["repeat_count"] for g in gifts][-1] == 3 and gifts[-1]["repeat_end"]
    held = lease(db, cid)
    assert held["holder"] == "crash-b" and held["token"] == token_a + 1  # fencing token moved on
    assert fake.creator(cid).max_concurrent == 1


def test_cli_ingests_one_creator_until_live_end(fake, tap, creator, tmp_path):
    import os
    import subprocess
    import sys

    from tests.ingest.conftest import FAST

    cid, room = creator
    fake.set_state(cid, "live", room_id=room)
    out = (tmp_path / "cli.out").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "giftengine_dev.cli.main",
            "ingest",
            f"@{cid.upper()}",
            "--plain",
            "--exit-on-end",
        ],
        env={**os.environ, **FAST, **fake.env()},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(connected(fake, cid), timeout=120, what="cli connects")
        fake.push(
            cid, F.gift(room, 9, name="Lion", diamonds=29999, streakable=False), F.live_end(room)
        )
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = (tmp_path / "cli.out").read_text()
    assert "Lion x1 (29999 coins each)" in text and "stream_end" in text
    stream = f"tiktok-{room}"
    tap.wait_for(
        lambda evs: any(e["stream_id"] == stream and e["kind"] == "stream_end" for e in evs),
        what="stream_end",
    )
    assert [e["kind"] for e in tap.for_stream(stream)] == ["stream_start", "gift", "stream_end"]


def test_sigterm_with_firestore_unreachable_still_stops_within_the_grace(workers):
    """Seen from outside: with the database gone, the worker's loop sat in a Firestore call
    its client retries for a minute, and SIGTERM waited for it (killed after 45 s). Now the
    loop leaves the call to its thread and drains within GIFTENGINE_INGEST_SHUTDOWN_GRACE_S."""
    w = workers(
        ready=False, FIRESTORE_EMULATOR_HOST="127.0.0.1:1", GIFTENGINE_INGEST_SHUTDOWN_GRACE_S="3"
    )
    deadline = time.monotonic() + 60
    while w.get("/healthz")[0] != 200:  # serving, its loop in a Firestore call by now
        assert time.monotonic() < deadline, "the worker never served /healthz"
        time.sleep(0.2)
    time.sleep(1.0)
    t0 = time.monotonic()
    assert w.terminate() == 0
    assert time.monotonic() - t0 < 3 + 3  # the grace, and the process's own exit
