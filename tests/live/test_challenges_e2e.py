"""Challenges through the real pipeline on the local cloud: POST /api/goals with duration_s,
events published to Pub/Sub, the rollup's progress on streams/{id}.goals, the completion
alert, and the failure alert from the rollup scheduled at the deadline."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import requests
from google.cloud import firestore
from google.cloud.firestore import FieldFilter

from tests.support import create_stream, id_token, wait_for_doc

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


def test_challenges_complete_in_time_or_fail_at_their_deadline(cloud, capsys):
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.domain.events import parse_event

    db = firestore.Client(project=cloud["project_id"])
    stream = "ch-" + uuid.uuid4().hex[:10]
    creator = f"c-{stream}"
    create_stream(cloud, creator, stream)
    pub = EventPublisher(cloud["project_id"])

    def publish(kind, user, n):
        pub.publish_all(
            [
                parse_event(
                    {
                        "event_id": f"{stream}-{kind}-{user}-{n}",
                        "source": "tiktok",
                        "stream_id": stream,
                        "kind": kind,
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "creator_id": creator,
                        "user": {"id": user},
                    }
                )
            ]
        )

    publish("join", "first", 0)
    ref = db.document(f"streams/{stream}")
    wait_for_doc(ref, lambda d: d.get("totals", {}).get("joins") == 1, timeout=60)
    auth = {"Authorization": f"Bearer {id_token(creator)}"}
    for goal in (
        {"goal_id": "shares2", "metric": "shares", "target": 2, "duration_s": 15},
        {"goal_id": "likes1", "metric": "likes", "target": 1, "duration_s": 600},
    ):
        r = requests.post(
            f"{cloud['endpoints']['api']}/goals",
            json={"stream_id": stream, **goal},
            headers=auth,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert r.json()["deadline"] > 0
    wait_for_doc(ref, lambda d: {"shares2", "likes1"} <= set(d.get("goals", {})), timeout=60)
    publish("share", "a", 1)
    publish("like", "b", 1)
    live = wait_for_doc(
        ref,
        lambda d: d["goals"]["likes1"]["reached"] and d["goals"]["shares2"]["progress"] == 1,
        timeout=60,
    )
    assert not live["goals"]["shares2"]["failed"]
    # No more shares: the rollup scheduled at the deadline fails the challenge.
    live = wait_for_doc(ref, lambda d: d["goals"]["shares2"]["failed"], timeout=90)
    assert live["goals"]["shares2"]["reached"] is False and live["goals"]["likes1"]["reached"]
    alerts = [
        i
        for a in ref.collection("alerts").where(filter=FieldFilter("seq", ">", 0)).stream()
        for i in a.to_dict()["items"]
    ]
    kinds = [(i["type"], i.get("goal_id")) for i in alerts if "goal_id" in i]
    assert kinds.count(("goal_reached", "likes1")) == 1
    assert kinds.count(("challenge_failed", "shares2")) == 1
    assert ("goal_reached", "shares2") not in kinds
    pub.close()
    # `giftengine state --json` shows both, ended, with the rollup's exact progress
    from giftengine_dev.cli.main import main

    capsys.readouterr()
    assert main(["state", stream, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["interactions"]["challenges"]
    assert shown["active"] == []
    assert [(c["goal_id"], c["status"], c["progress"]) for c in shown["ended"]] == [
        ("likes1", "reached", 1),
        ("shares2", "failed", 1),
    ]
    assert main(["state", stream]) == 0
    text = capsys.readouterr().out
    assert "challenge shares2: 1/2 shares [failed]" in text
