"""The reports adapters against the emulators, and the report at stream end end to end:
Pub/Sub -> on_engagement -> rollup (live state) and Pub/Sub -> on_stream_end -> report."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from giftengine.adapters.clients import firestore_client, storage_client
from giftengine.adapters.firestore_store import FirestoreStreamStore
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from giftengine.naming import bucket_name
from giftengine.reports import domain
from giftengine.reports.firestore_store import FirestoreEventLog, FirestoreReportStore

from tests.support import poll, wait_for_doc

T = datetime.now(UTC).replace(microsecond=0)


def _ev(stream, i, kind, secs, **kw) -> EngagementEvent:
    data = {
        "event_id": f"{stream}:{i}",
        "source": "tiktok",
        "stream_id": stream,
        "kind": kind,
        "occurred_at": (T + timedelta(seconds=secs)).isoformat(),
        "creator_id": "cr-" + stream,
    }
    if kind in ("gift", "like", "comment", "follow"):
        data["user"] = {"id": kw.pop("user", "ana"), "handle": "@x", "name": "X"}
    return EngagementEvent.model_validate({**data, **kw})  # fmt: skip


def _session(stream):
    rose = {"id": "rose", "name": "Rose", "coins": 1, "streakable": True}
    lion = {"id": "lion", "name": "Lion", "coins": 29999, "streakable": False}
    return [
        _ev(stream, 0, "stream_start", 0),
        _ev(stream, 1, "gift", 1, gift=rose, repeat_count=2, repeat_end=False, group_id="a"),
        _ev(stream, 2, "gift", 2, gift=rose, repeat_count=5, repeat_end=True, group_id="a"),
        _ev(stream, 3, "like", 61, count=40, user="bo"),
        _ev(stream, 4, "gift", 62, gift=lion, user="bo"),
        _ev(stream, 5, "follow", 63, user="cy"),
        _ev(stream, 6, "comment", 64, user="cy", text="hi"),
        _ev(stream, 7, "viewers", 65, viewers=321),
        _ev(stream, 8, "stream_end", 125),
    ]


def log_order(db, stream: str, event_ids: list[str]) -> list[str]:
    """`event_ids` (each recorded once, in this order, by one client) as the log orders them:
    by their record's commit time, then record id; a repeat inside a later record is not
    read again."""
    snaps = db.collection(f"streams/{stream}/events").stream()
    records = sorted((s.get("ingested_at"), s.id, s.get("event_ids")) for s in snaps)
    seen: list[str] = []
    for _, _, ids in records:
        seen += [i for i in ids if i not in seen]
    assert sorted(seen) == sorted(event_ids)
    # commit order is send order except where two commits share a timestamp
    times: dict = {}
    for t, _, ids in records:  # an event's first record
        for i in ids:
            times.setdefault(i, t)
    assert all(times[a] <= times[b] for a, b in zip(event_ids, event_ids[1:], strict=False))
    return seen


@pytest.mark.emulator
def test_event_log_reads_every_recorded_event_once_in_log_order(cloud):
    stream = f"rep-{uuid.uuid4().hex[:8]}"
    db = firestore_client(cloud["project_id"])
    store = FirestoreStreamStore(db)
    sent = _session(stream)
    for e in sent:
        assert store.record_event(e)
    store.record_event(sent[3])  # a redelivery changes nothing
    logged = list(FirestoreEventLog(store).events(stream))
    got = [e for _, e in logged]
    # Each with its record's commit time, in log order.
    times = [at for at, _ in logged]
    assert times == sorted(times) and abs(times[-1] - datetime.now(UTC).timestamp()) < 120
    # Log order is commit time, then record id (two commits may share a timestamp).
    assert [e.event_id for e in got] == log_order(db, stream, [e.event_id for e in sent])
    # A batch record (several events of one message) and an event it repeats: each event once.
    later = [_ev(stream, 20 + i, "like", 130 + i, count=1) for i in range(3)]
    assert store.record_events(later) and store.record_events([later[0], sent[1]])
    got = [e for _, e in FirestoreEventLog(store).events(stream)]
    assert [e.event_id for e in got] == log_order(db, stream, [e.event_id for e in sent + later])
    report = domain.compute_report(stream, got)
    assert report.totals["likes"] == 40 + 3
    newest = FirestoreEventLog(store).last_recorded_at(stream)
    assert newest is not None and abs(newest - datetime.now(UTC).timestamp()) < 120
    assert FirestoreEventLog(store).last_recorded_at(f"{stream}-none") is None


@pytest.mark.emulator
def test_report_store_roundtrip_and_moderation_counts(cloud):
    stream = f"rep-{uuid.uuid4().hex[:8]}"
    db = firestore_client(cloud["project_id"])
    s = db.collection("streams").document(stream)
    s.collection("chat_held").document("m1").set({"action": "hold"})
    s.collection("chat_held").document("m2").set({"action": "block"})
    s.collection("chat_held").document("m3").set({"action": "block"})
    s.collection("chat_users").document("u1").set({"ban_count": 1})
    s.collection("chat_users").document("u2").set({"ban_count": 0})
    rs = FirestoreReportStore(db)
    assert rs.moderation_summary(stream) == {"held": 1, "blocked": 2, "hidden": 0, "bans": 1}
    creator = f"cr-{stream}"
    for i, started in enumerate(["2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z"]):
        rs.save_report({"stream_id": f"{stream}-{i}", "creator_id": creator,
                        "started_at": started, "totals": {"coins": i}}, [f"u{i}", "z"])  # fmt: skip
    prev = rs.previous_reports(creator, "2026-11-02T10:00:00Z", 10)
    assert [p["stream_id"] for p in prev] == [f"{stream}-0"]
    assert rs.gifter_ids([f"{stream}-0", f"{stream}-1", "none"]) == {
        f"{stream}-0": ["u0", "z"], f"{stream}-1": ["u1", "z"], "none": []}  # fmt: skip
    got = rs.creator_reports(creator, "2026-11-01T00:00:00Z")
    assert [r["stream_id"] for r in got] == [f"{stream}-0", f"{stream}-1"]
    trains = db.collection("creators").document(creator).collection("hype_trains")
    for other, n in ((stream, 1), (stream, 2), (f"{stream}-x", 1)):
        trains.document(f"{other}_{n}").set({"stream_id": other, "train": n, "level": n})
    assert sorted(t["train"] for t in rs.hype_trains(creator, stream)) == [1, 2]


@pytest.mark.e2e
def test_report_at_stream_end_equals_the_live_state(cloud):
    stream = f"rep-{uuid.uuid4().hex[:8]}"
    project = cloud["project_id"]
    db = firestore_client(project)
    publisher = EventPublisher(project)
    try:
        publisher.publish_all(_session(stream))
    finally:
        publisher.close()
    ended = wait_for_doc(
        db.collection("streams").document(stream),
        lambda d: d and d.get("status") == "ended",
        timeout=180,
    )
    assert ended["status"] == "ended"
    report = wait_for_doc(
        db.collection("reports").document(stream),
        lambda d: bool(d) and d.get("live_totals_match"),
        timeout=240,
    )
    live = db.collection("streams").document(stream).get().to_dict()
    for k in domain.COUNTERS:
        assert report["totals"][k] == live["totals"][k]
        assert sum(row[k] for row in report["timeline"]) == report["totals"][k]
    assert report["totals"]["coins"] == 5 + 29999 and report["totals"]["likes"] == 40
    assert report["peaks"][0]["biggest_gift"]["gift_id"] == "lion"
    assert report["viewers_peak"] == 321 and report["status"] == "ended"
    bucket = storage_client(project).bucket(bucket_name(project, "exports"))
    prefix = f"reports/cr-{stream}/{stream}/"
    names = poll(lambda: sorted(b.name[len(prefix) :] for b in bucket.list_blobs(prefix=prefix)))
    assert "events.parquet" in names and "timeline.csv" in names
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(bucket.blob(prefix + "events.parquet").download_as_bytes()))
    assert table.num_rows == len(_session(stream))
    assert json.loads(bucket.blob(prefix + "report.json").download_as_bytes())["events"] == 9
