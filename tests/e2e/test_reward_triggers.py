"""A points reward as a command trigger on the local cloud (issue 21, decision 095): a creator
lists a reward and maps it to `show_text` through the settings API (a mapping naming a reward
the creator does not have is refused with its reason); while the creator is live, a viewer
with points redeems it through the API with a real Auth emulator token; the redemption goes
through the reward outbox, Pub/Sub, `on_engagement` and the rollup, and the stream's alert
feed gets exactly one action item for it: the same request again, and the same event
published once more, add nothing. And the outbox job publishes an entry a crash left."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.commands import redemption_event_id
from giftengine.domain.events import EngagementEvent
from google.cloud import firestore

from tests.support import bearer, create_stream, poll, wait_for_doc

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


def action_items(db, stream: str) -> list[dict]:
    return [
        item
        for doc in db.collection(f"streams/{stream}/alerts").stream()
        for item in (doc.to_dict() or {}).get("items", [])
        if item.get("type") == "action"
    ]


def test_a_redeemed_reward_mapped_to_show_text_plays_once_on_the_live_stream(cloud):
    n = uuid.uuid4().hex[:8]
    creator, fan, stream = f"cr-rw-{n}", f"fan-rw-{n}", f"s-redeem-{n}"
    api = cloud["endpoints"]["api"]
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream)
    shout = {
        "id": "shout",
        "trigger": {"reward_id": "shoutout"},
        "action": "show_text",
        "params": {"text": "Shout-out time!"},
    }
    commands = f"{api}/creators/{creator}/features/commands"
    r = requests.put(commands, json={"mappings": [shout]}, headers=bearer(creator), timeout=30)
    assert r.status_code == 400 and "no points reward 'shoutout'" in r.json()["reason"], r.text
    r = requests.put(
        f"{api}/creators/{creator}/features/rewards",
        json={"rewards": [{"id": "shoutout", "title": "Shout-out", "cost": 40}]},
        headers=bearer(creator),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    r = requests.put(commands, json={"mappings": [shout]}, headers=bearer(creator), timeout=30)
    assert r.status_code == 200, r.text
    db.document(f"xp/{fan}/creators/{creator}").set({"uid": fan, "points_earned": 100})

    # The creator goes live: the stream's first event; its rollup adds the live pointer.
    start = EngagementEvent.model_validate(
        {
            "event_id": f"start-{n}",
            "source": "app",
            "stream_id": stream,
            "creator_id": creator,
            "kind": "stream_start",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    )
    publisher = EventPublisher(cloud["project_id"])
    try:
        publisher.publish_all([start])
        wait_for_doc(
            db.document(f"live_pointers/{creator}"),
            lambda d: bool(d) and stream in (d.get("streams") or {}),
            timeout=90,
        )
        wait_for_doc(
            db.document(f"streams/{stream}"),
            lambda d: bool(d) and d.get("status") == "live",
            timeout=90,
        )

        url = f"{api}/creators/{creator}/rewards/shoutout/redeem"
        body = {"request_id": f"req-{n}"}
        first = requests.post(url, json=body, headers=bearer(fan), timeout=30)
        assert first.status_code == 201, first.text
        rid = first.json()["redemption_id"]
        again = requests.post(url, json=body, headers=bearer(fan), timeout=30)
        assert again.status_code == 200 and again.json()["redemption_id"] == rid, again.text

        played = poll(lambda: action_items(db, stream), timeout=90)
        event_id = redemption_event_id(creator, rid)
        [item] = played
        assert (item["action"], item["mapping_id"], item["params"]["text"]) == (
            "show_text",
            "shout",
            "Shout-out time!",
        )
        assert (item["user_id"], item["reward_id"], item["redemption_id"]) == (fan, "shoutout", rid)
        assert item["event_id"] == event_id

        # The outbox entry was published once, for the live stream; publishing its event
        # again (what the outbox job does after a crash) is recorded once and plays nothing.
        entry = db.document(f"reward_outbox/{event_id}").get().to_dict()
        assert entry["published"] is True and entry["stream_id"] == stream
        publisher.publish_all([EngagementEvent.model_validate(entry["event"])])
    finally:
        publisher.close()
    time.sleep(5)  # room for a second action to appear, if anything ran twice
    assert len(action_items(db, stream)) == 1
    live = db.document(f"streams/{stream}").get().to_dict()
    assert live["features"]["commands"]["executed"] == 1
    assert db.document(f"creators/{creator}/reward_queue/{rid}").get().to_dict()["status"] == (
        "queued"
    )
    points = db.document(f"xp/{fan}/creators/{creator}").get().to_dict()
    assert points["points_spent"] == 40


def test_the_outbox_job_publishes_a_redemption_a_crash_left_behind(cloud):
    """`api` committed a redemption and its outbox entry, then died before the publish, and
    the viewer never retried: the outbox job (`POST /wallet_jobs/outbox`, the wallet-outbox
    schedule) publishes it through the real publisher, and the mapping's action plays."""
    from giftengine.domain.commands import redemption_event
    from giftengine.service import outbox

    n = uuid.uuid4().hex[:8]
    creator, fan, stream = f"cr-rj-{n}", f"fan-rj-{n}", f"s-redeemjob-{n}"
    api = cloud["endpoints"]["api"]
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream)
    for feature, cfg in (
        ("rewards", {"rewards": [{"id": "hydrate", "title": "Drink water", "cost": 5}]}),
        (
            "commands",
            {
                "mappings": [
                    {
                        "id": "water",
                        "trigger": {"reward_id": "hydrate"},
                        "action": "show_text",
                        "params": {"text": "Hydrate!"},
                    }
                ]
            },
        ),
    ):
        r = requests.put(
            f"{api}/creators/{creator}/features/{feature}",
            json=cfg,
            headers=bearer(creator),
            timeout=30,
        )
        assert r.status_code == 200, r.text
    sent = time.time() - 120  # older than the job's grace (60 s)
    rid = uuid.uuid4().hex
    event = redemption_event(
        stream, creator, fan, "Fan", "hydrate", rid, datetime.fromtimestamp(sent, UTC)
    )
    db.document(f"reward_outbox/{event.event_id}").set(
        outbox.entry(event, sent, creator_id=creator, redemption_id=rid, stream_id=stream)
    )
    r = requests.post(f"{cloud['endpoints']['wallet_jobs']}/wallet_jobs/outbox", timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["reward_outbox"]["republished"] >= 1
    assert db.document(f"reward_outbox/{event.event_id}").get().to_dict()["published"] is True
    [item] = poll(lambda: action_items(db, stream), timeout=90)
    assert (item["mapping_id"], item["redemption_id"], item["event_id"]) == (
        "water",
        rid,
        event.event_id,
    )
