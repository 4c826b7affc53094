"""Stream features on the local cloud (issue 20): commands through
`POST /api/streams/{id}/controls` and settings through `PUT /api/creators/{id}/features/{f}`
with Auth emulator tokens, the events they record, and the features' live views."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import requests
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from google.cloud import firestore

from tests.support import create_stream, id_token, wait_for_doc

pytestmark = pytest.mark.e2e


def auth(uid: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, claims or None)}"}


def control(cloud, stream: str, uid: str | None, body: dict, **claims) -> requests.Response:
    headers = auth(uid, **claims) if uid else {}
    return requests.post(
        f"{cloud['endpoints']['api']}/streams/{stream}/controls",
        json=body,
        headers=headers,
        timeout=30,
    )


def test_commands_are_refused_with_a_clear_4xx(cloud):
    n = uuid.uuid4().hex[:8]
    creator, viewer = f"cr-{n}", f"v-{n}"
    stream = f"s-ctl-{n}"
    create_stream(cloud, creator, stream)
    body = {"feature": "nope", "action": "start", "params": {}, "request_id": f"r-{n}"}
    r = control(cloud, stream, None, body)
    assert r.status_code == 401, r.text
    r = control(cloud, stream, creator, body)
    assert r.status_code == 400 and "unknown feature 'nope'" in r.json()["reason"], r.text
    r = control(cloud, stream, creator, {**body, "feature": "Bad Name"})
    assert r.status_code == 400 and "feature" in r.json()["reason"], r.text
    r = control(cloud, stream, creator, {**body, "params": {"a": [1]}})
    assert r.status_code == 400, r.text
    r = control(cloud, stream, creator, {**body, "request_id": ".."})
    assert r.status_code == 400, r.text
    r = control(cloud, stream, creator, {k: v for k, v in body.items() if k != "request_id"})
    assert r.status_code == 400 and "request_id" in r.json()["reason"], r.text

    r = requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/features/nope",
        json={},
        headers=auth(creator),
        timeout=30,
    )
    assert r.status_code == 400 and "unknown feature" in r.json()["reason"], r.text
    r = requests.put(
        f"{cloud['endpoints']['api']}/creators/{creator}/features/nope",
        data=b"not json",
        headers=auth(viewer),
        timeout=30,
    )
    assert r.status_code == 400, r.text


def gift_event(stream: str, event_id: str, user: str, coins: int) -> EngagementEvent:
    return EngagementEvent.model_validate(
        {
            "event_id": event_id,
            "source": "tiktok",
            "stream_id": stream,
            "kind": "gift",
            "occurred_at": datetime.now(UTC).isoformat(),
            "user": {"id": user, "handle": f"@{user}", "name": user.title()},
            "gift": {"id": "5655", "name": "Rose", "coins": coins, "streakable": False},
        }
    )


def test_rounds_and_the_throne_through_the_api_and_the_pipeline(cloud, capsys):
    n = uuid.uuid4().hex[:8]
    creator, helper, viewer = f"cr-{n}", f"help-{n}", f"v-{n}"
    stream = f"s-rounds-{n}"
    api = cloud["endpoints"]["api"]
    create_stream(cloud, creator, stream)
    assert requests.put(
        f"{api}/creators/{creator}/moderators/{helper}", headers=auth(creator), timeout=30
    ).status_code in (200, 201)

    def put(feature: str, body: dict, uid: str = creator) -> requests.Response:
        url = f"{api}/creators/{creator}/features/{feature}"
        return requests.put(url, json=body, headers=auth(uid), timeout=30)

    settings = {"length_s": 60, "grace_s": 2, "reward_points": 25, "reward_badge": "king"}
    r = put("rounds", settings)  # a badge the creator has not defined (nor round_winner)
    assert r.status_code == 400 and "reward_badge 'king' is neither" in r.json()["reason"], r.text
    king = {"id": "king", "name": "Round king", "metric": "round_winner", "at_least": 1}
    assert (r := put("rewards", {"badges": [king]})).status_code == 200, r.text
    r = put("rounds", settings)
    assert r.status_code == 200 and r.json()["settings"] == settings, r.text
    r = put("rewards", {"badges": []})  # the rounds' reward names it
    assert r.status_code == 400 and "reward_badge" in r.json()["reason"], r.text
    r = put("rounds", {"length_s": 5})
    assert r.status_code == 400 and "length_s" in r.json()["reason"], r.text
    assert (r := put("rounds", {}, viewer)).status_code == 403, r.text

    start = {"feature": "rounds", "action": "start", "params": {}, "request_id": f"go-{n}"}
    assert control(cloud, stream, viewer, start).status_code == 403
    assert control(cloud, f"s-none-{n}", creator, start).status_code == 404
    r = control(cloud, stream, creator, {**start, "action": "pause"})
    assert r.status_code == 400 and "no action 'pause'" in r.json()["reason"], r.text
    r = control(cloud, stream, creator, {**start, "params": {"length_s": 1}})
    assert r.status_code == 400 and "length_s" in r.json()["reason"], r.text
    first = control(cloud, stream, creator, start)
    assert first.status_code == 202 and first.json()["status"] == "recorded", first.text
    again = control(cloud, stream, creator, start)
    assert again.status_code == 202, again.text
    assert again.json() == {**first.json(), "status": "duplicate"}

    db = firestore.Client(project=cloud["project_id"])
    ref = db.collection("streams").document(stream)
    live = wait_for_doc(ref, lambda d: (d.get("features") or {}).get("rounds"))
    assert live["features"]["rounds"]["status"] == "running"
    assert live["features"]["rounds"]["length_s"] == 60
    pub = EventPublisher(cloud["project_id"])
    try:
        a1, b1 = gift_event(stream, f"a1-{n}", "a", 5), gift_event(stream, f"b1-{n}", "b", 7)
        pub.publish_all([a1, b1, a1])  # a redelivered message: counted once
        pub.publish_all([b1, gift_event(stream, f"a2-{n}", "a", 3)])
    finally:
        pub.close()
    live = wait_for_doc(
        ref,
        lambda d: (
            [(e["user_id"], e["coins"]) for e in d["features"]["rounds"]["leaderboard"]]
            == [("a", 8), ("b", 7)]
        ),
    )
    throne = live["features"]["throne"]
    assert (throne["holder"]["user_id"], throne["holder"]["coins"]) == ("a", 8)

    stop = {"feature": "rounds", "action": "stop", "params": {}, "request_id": f"stop-{n}"}
    r = control(cloud, stream, helper, stop)  # the creator's moderator
    assert r.status_code == 202, r.text
    live = wait_for_doc(ref, lambda d: d["features"]["rounds"]["status"] == "idle")
    assert live["features"]["rounds"]["last"]["winner"]["user_id"] == "a"
    doc = wait_for_doc(db.collection("rounds").document(f"{stream}_1"), lambda d: bool(d))
    assert doc["winner"]["coins"] == 8 and doc["creator_id"] == creator
    assert doc["reward"] == {"points": 25, "badge": "king"}
    assert [(e["user_id"], e["coins"]) for e in doc["top"]] == [("a", 8), ("b", 7)]

    from giftengine_dev.cli.main import main

    capsys.readouterr()
    assert main(["state", stream, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["features"]
    assert shown["throne"]["holder"]["user_id"] == "a"
    assert shown["rounds"]["last"]["round"] == 1
