"""End to end on the local cloud: Pub/Sub push -> on_engagement -> Cloud Tasks -> rollup ->
Firestore, observed through Firestore listeners as a client would."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from giftengine_dev.cli import replay as replay_cli
from giftengine_dev.demo import sessions
from google.cloud import firestore, pubsub_v1
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support import create_stream, id_token, poll, wait_for_doc, wait_for_query

pytestmark = [pytest.mark.e2e]

TOTALS = ("coins", "gifts", "likes", "comments", "follows", "shares")


@pytest.fixture
def db(cloud):
    return firestore.Client(project=cloud["project_id"])


@pytest.fixture
def publisher(cloud):
    p = EventPublisher(cloud["project_id"])
    yield p
    p.close()


def publish(publisher, *events: dict) -> None:
    publisher.publish_all([EngagementEvent.model_validate(e) for e in events])


def gift(
    stream_id,
    event_id,
    user,
    gift_id="5655",
    coins=1,
    count=1,
    end=True,
    group="g",
    streakable=True,
):
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream_id,
        "kind": "gift",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}", "name": user.title()},
        "gift": {"id": gift_id, "name": "Rose", "coins": coins, "streakable": streakable},
        "repeat_count": count,
        "repeat_end": end,
        "group_id": group,
    }


def test_replay_of_a_messy_session_gives_exactly_the_defined_totals(cloud, db, stream_id, tmp_path):
    events, expected = sessions.build(stream_id, viewers=25, streaks=60, seed=3)
    path = tmp_path / "session.jsonl"
    sessions.write_jsonl(events, path)
    with open(path, "a") as f:
        f.write('{"kind": "gift"}\nnot json at all\n')
    p = EventPublisher(cloud["project_id"])
    try:
        published, skipped = replay_cli.replay(str(path), stream_id, None, p)
    finally:
        p.close()
    assert published == len(events)
    assert [s.line for s in skipped] == [len(events) + 1, len(events) + 2]

    want = {k: expected.get(k, 0) for k in TOTALS}
    live = wait_for_doc(
        db.collection("streams").document(stream_id),
        lambda d: {k: d.get("totals", {}).get(k) for k in TOTALS} == want,
        timeout=60,
    )
    assert live["totals"]["coins"] == expected["coins"]
    top = [(g["user_id"], g["coins"]) for g in live["top_gifters"]]
    assert top == expected["top"][: len(top)]
    assert [g["rank"] for g in live["top_gifters"]] == list(range(1, len(top) + 1))
    # Nothing more arrives later (no late double counting).
    time.sleep(3)
    again = db.collection("streams").document(stream_id).get().to_dict()
    assert {k: again["totals"][k] for k in TOTALS} == want


def test_alerts_carry_settled_gift_and_rank_and_session_board_is_complete(
    cloud, db, stream_id, publisher
):
    publish(
        publisher,
        gift(stream_id, "a1", "ana", coins=5, count=1, end=False, group="s1"),
        gift(stream_id, "a2", "ana", coins=5, count=3, end=True, group="s1"),
        gift(stream_id, "b1", "bo", gift_id="lion", coins=500, streakable=False),
    )
    alerts_q = (
        db.collection("streams")
        .document(stream_id)
        .collection("alerts")
        .order_by("seq", direction=firestore.Query.DESCENDING)
        .limit(20)
    )
    docs = wait_for_query(
        alerts_q, lambda ds: sum(1 for d in ds for a in d["items"] if a["type"] == "gift") >= 2
    )
    gifts = {a["user_id"]: (d["seq"], a) for d in docs for a in d["items"] if a["type"] == "gift"}
    (ana_seq, ana), (bo_seq, bo) = gifts["ana"], gifts["bo"]
    assert ana["units"] == 3 and ana["coins"] == 15
    assert bo["coins"] == 500 and bo["rank"] == 1
    # Ranks are as of the rollup that wrote the alert: behind bo once bo's gift is in.
    assert ana["rank"] == (2 if ana_seq >= bo_seq else 1)
    entries = (
        db.collection("leaderboards")
        .document(f"stream.{stream_id}")
        .collection("entries")
        .order_by("coins", direction=firestore.Query.DESCENDING)
        .order_by("user_id")
    )
    wait_for_query(entries, lambda ds: len(ds) == 2)
    rows = [s.to_dict() for s in entries.stream()]  # the server's order for this query
    assert [(r["user_id"], r["coins"]) for r in rows] == [("bo", 500), ("ana", 15)]


def test_combo_is_provisional_then_settles_after_idle_timeout(cloud, db, stream_id, publisher):
    publish(
        publisher,
        *[
            gift(stream_id, f"c{i}", "cy", coins=2, count=i, end=False, group="k")
            for i in (1, 2, 4)
        ],
    )
    ref = db.collection("streams").document(stream_id)
    live = wait_for_doc(ref, lambda d: d.get("combos") and d["combos"][0]["count"] == 4)
    assert live["totals"]["coins"] == 0  # provisional only
    # The test stack runs with a 2 s idle timeout; the combo settles at its last count.
    live = wait_for_doc(ref, lambda d: d["totals"]["coins"] == 8 and not d["combos"], timeout=30)
    assert live["totals"]["gifts"] == 4
    # The final arriving late tops up to its count instead of counting again.
    publish(publisher, gift(stream_id, "c-final", "cy", coins=2, count=6, end=True, group="k"))
    live = wait_for_doc(ref, lambda d: d["totals"]["coins"] == 12)
    time.sleep(2.5)
    assert ref.get().to_dict()["totals"]["coins"] == 12


def test_stream_end_settles_open_streaks(cloud, db, stream_id, publisher):
    ref = db.collection("streams").document(stream_id)
    publish(publisher, gift(stream_id, "d1", "dev", coins=10, count=7, end=False, group="q"))
    # The streak open (two messages published together may be delivered either way round,
    # and an end applied first would leave nothing open to settle).
    wait_for_doc(ref, lambda d: bool(d.get("combos")))
    end = {
        "event_id": "end",
        "source": "tiktok",
        "stream_id": stream_id,
        "kind": "stream_end",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    publish(publisher, end)
    live = wait_for_doc(ref, lambda d: d.get("status") == "ended")
    assert live["totals"]["coins"] == 70 and live["combos"] == []


def test_poison_message_is_dead_lettered_with_reason_and_does_not_block(
    cloud, db, stream_id, publisher
):
    project = cloud["project_id"]
    client = pubsub_v1.PublisherClient()
    topic = client.topic_path(project, "engagement-events")
    bad = json.dumps(
        {"event_id": "x", "source": "myspace", "stream_id": stream_id, "kind": "gift"}
    ).encode()
    message_id = client.publish(topic, bad, stream_id=stream_id).result(timeout=30)
    rec = poll(
        lambda: [
            d.to_dict()
            for d in db.collection("dead_letters")
            .where(filter=FieldFilter("message_id", "==", message_id))
            .stream()
        ],
        timeout=30,
    )
    assert "source" in rec[0]["reason"]
    publish(publisher, gift(stream_id, "after-poison", "eli", coins=3, streakable=False))
    wait_for_doc(db.collection("streams").document(stream_id), lambda d: d["totals"]["coins"] == 3)
    sub = pubsub_v1.SubscriberClient()
    path = sub.subscription_path(project, "dead-letter-audit")

    def pulled():
        resp = sub.pull(subscription=path, max_messages=50, timeout=5)
        if resp.received_messages:
            sub.acknowledge(subscription=path, ack_ids=[m.ack_id for m in resp.received_messages])
        return [m for m in resp.received_messages if m.message.data == bad]

    msgs = poll(pulled, timeout=30)
    assert "source" in msgs[0].message.attributes["reason"]


def test_rollup_endpoint_rejects_bad_input_with_4xx(cloud):
    url = cloud["endpoints"]["rollup"]
    r = requests.post(url, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.post(f"{url}?stream_id=a/b", timeout=10)
    assert r.status_code == 400


def test_goal_set_through_the_api_fills_and_completes(cloud, db, stream_id, publisher):
    api = cloud["endpoints"]["api"]
    creator = f"creator-{stream_id}"
    first = gift(stream_id, "g0", "fay", coins=1, streakable=False)
    first["creator_id"] = creator
    publish(publisher, first)
    ref = db.collection("streams").document(stream_id)
    wait_for_doc(ref, lambda d: d.get("creator_id") == creator)

    body = {
        "stream_id": stream_id,
        "goal_id": "mic",
        "metric": "coins",
        "target": 100,
        "title": "New mic",
    }
    assert requests.post(f"{api}/goals", json=body, timeout=10).status_code == 401
    token = id_token(creator)
    auth = {"Authorization": f"Bearer {token}"}
    # The first event's creator_id grants nothing: powers come from the ownership record.
    r = requests.post(f"{api}/goals", json=body, headers=auth, timeout=10)
    assert r.status_code == 404 and "POST /api/streams" in r.json()["reason"], r.text
    create_stream(cloud, creator, stream_id)
    other = id_token("someone-else")
    r = requests.post(
        f"{api}/goals", json=body, timeout=10, headers={"Authorization": f"Bearer {other}"}
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = requests.post(f"{api}/goals", json={**body, "target": -5}, headers=auth, timeout=10)
    assert r.status_code == 400 and "target" in r.json()["reason"]
    r = requests.post(f"{api}/goals", json=body, headers=auth, timeout=10)
    assert r.status_code == 201, r.text
    wait_for_doc(ref, lambda d: d.get("goals", {}).get("mic", {}).get("progress") == 0)

    publish(
        publisher,
        gift(stream_id, "g1", "fay", coins=60, streakable=False),
        gift(stream_id, "g2", "gus", coins=50, streakable=False),
    )
    live = wait_for_doc(ref, lambda d: d["goals"]["mic"]["reached"])
    assert live["goals"]["mic"]["progress"] == 110
    alerts = [a for d in ref.collection("alerts").stream() for a in d.to_dict()["items"]]
    assert [a["goal_id"] for a in alerts if a["type"] == "goal_reached"] == ["mic"]


def test_creator_timezone_setting_validates_zone(cloud):
    api = cloud["endpoints"]["api"]
    token = id_token("tz-creator")
    auth = {"Authorization": f"Bearer {token}"}
    r = requests.put(
        f"{api}/creators/tz-creator/settings",
        json={"timezone": "Mars/Base"},
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 400 and "time zone" in r.json()["reason"]
    r = requests.put(
        f"{api}/creators/tz-creator/settings",
        json={"timezone": "Asia/Kathmandu"},
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["timezone"] == "Asia/Kathmandu"
    r = requests.put(
        f"{api}/creators/other/settings", json={"timezone": "UTC"}, headers=auth, timeout=10
    )
    assert r.status_code == 403


def test_push_of_a_raw_cloud_event_with_garbage_data_is_acknowledged(cloud, db):
    """A push whose base64 is broken must not crash-loop the function (2xx, dead-lettered)."""
    url = cloud["functions"]["on_engagement"]["url"]
    project = cloud["project_id"]
    body = {
        "message": {
            "data": "%%%not-base64%%%",
            "messageId": f"garbage-{time.time()}",
            "attributes": {},
        },
        "subscription": f"projects/{project}/subscriptions/engagement-to-on-engagement",
    }
    r = requests.post(f"{url}/projects/{project}/topics/engagement-events", json=body, timeout=10)
    assert r.status_code < 300, r.text
    mid = body["message"]["messageId"]
    poll(
        lambda: list(
            db.collection("dead_letters")
            .where(filter=FieldFilter("message_id", "==", mid))
            .stream()
        )
    )
