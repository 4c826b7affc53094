"""A command gift that starts a poll and a tap battle, on the local cloud (decision 077): a
creator maps a Rose streak to `start_poll` and `start_tap_battle` through the settings API
(a poll with one choice is refused with its reason); the streak, sent with a duplicate and a
resent final, opens exactly one poll through the rollup, the `poll_start` task and the live
polls, and starts one tap battle; a second mapped gift while they run is refused with its
reason, and the rollup goes on."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.commands import execution_id
from giftengine.domain.events import EngagementEvent

from tests.support import create_stream, id_token, poll, wait_for_doc

pytestmark = pytest.mark.e2e

ROSE = {"id": "5655", "name": "Rose", "coins": 1, "streakable": True}


def ev(stream, creator, event_id, at, user="fan", **fields):
    return EngagementEvent.model_validate(
        {
            "event_id": event_id,
            "source": "tiktok",
            "stream_id": stream,
            "creator_id": creator,
            "kind": "gift",
            "occurred_at": at.isoformat(),
            "user": {"id": user, "handle": f"@{user}", "name": user.title()},
            "gift": ROSE,
            **fields,
        }
    )


def test_a_mapped_gift_starts_one_poll_under_a_duplicate_and_a_resent_final(cloud):
    n = uuid.uuid4().hex[:8]
    creator, stream = f"cr-{n}", f"s-cpoll-{n}"
    create_stream(cloud, creator, stream)
    url = f"{cloud['endpoints']['api']}/creators/{creator}/features/commands"
    headers = {"Authorization": f"Bearer {id_token(creator)}"}
    vote = {
        "id": "vote",
        "trigger": {"gift_id": "5655"},
        "action": "start_poll",
        "params": {"question": "Next song?", "choices": ["Rock", "Pop", "Jazz"], "duration_s": 120},
    }
    bad = {**vote, "params": {**vote["params"], "choices": ["Rock"]}}
    r = requests.put(url, json={"mappings": [bad]}, headers=headers, timeout=30)
    assert r.status_code == 400 and "choices" in r.json()["reason"], r.text
    tap = {
        "id": "tap",
        "trigger": {"gift_id": "5655"},
        "action": "start_tap_battle",
        "params": {"duration_s": 300, "starts_in_s": 0},
    }
    r = requests.put(url, json={"mappings": [vote, tap]}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text

    now = datetime.now(UTC)
    s = (stream, creator)
    streak = [
        ev(*s, f"r2-{n}", now, repeat_count=2, repeat_end=False, group_id="g"),
        ev(*s, f"r3-{n}", now + timedelta(seconds=1), repeat_count=3, group_id="g"),
        ev(*s, f"r3-{n}", now + timedelta(seconds=1), repeat_count=3, group_id="g"),  # duplicate
        ev(*s, f"r3b-{n}", now + timedelta(seconds=2), repeat_count=3, group_id="g"),  # resent
    ]
    publisher = EventPublisher(cloud["project_id"])
    try:
        for e in streak:
            publisher.publish_all([e])
        db = firestore_client(cloud["project_id"])
        first = execution_id(stream, f"r3-{n}", "vote", 1)
        req = wait_for_doc(
            db.document(f"streams/{stream}/poll_starts/{first}"),
            lambda d: d is not None and d.get("status") != "pending",
            timeout=90,
        )
        assert (req["status"], req["poll_id"]) == ("opened", first), req
        # A second mapped gift while the poll is open: refused with its reason.
        later = now + timedelta(seconds=4)
        publisher.publish_all([ev(*s, f"solo-{n}", later, user="kid", group_id="k")])
        second = execution_id(stream, f"solo-{n}", "vote", 1)
        req2 = wait_for_doc(
            db.document(f"streams/{stream}/poll_starts/{second}"),
            lambda d: d is not None and d.get("status") != "pending",
            timeout=90,
        )
        assert req2["status"] == "refused" and f"poll {first} is still open" in req2["reason"]
    finally:
        publisher.close()
    time.sleep(3)  # room for any duplicate task to run
    polls = [d.id for d in db.collection(f"streams/{stream}/polls").stream()]
    assert polls == [first]
    starts = sorted(d.id for d in db.collection(f"streams/{stream}/poll_starts").stream())
    assert starts == sorted([first, second])
    r = requests.get(f"{cloud['endpoints']['api']}/streams/{stream}/interactions", timeout=30)
    active = r.json()["active_poll"]
    assert (active["poll_id"], active["question"], active["choices"]) == (
        first,
        "Next song?",
        ["Rock", "Pop", "Jazz"],
    )
    # The rollup went on: both gifts counted once (3 + 1 units), all four runs in the view;
    # the streak started one tap battle (in the same rollup), the second gift found it running.
    live = poll(
        lambda: (
            (d := db.document(f"streams/{stream}").get().to_dict() or {})
            and d.get("totals", {}).get("gifts") == 4
            and d
        ),
        timeout=60,
    )
    view = live["features"]["commands"]
    assert view["executed"] == 4
    battle = execution_id(stream, f"r3-{n}", "tap", 1)
    assert [(r["execution_id"], r["result"]) for r in view["recent"]] == [
        (first, "requested"),
        (battle, "started"),
        (second, "requested"),
        (execution_id(stream, f"solo-{n}", "tap", 1), "refused"),
    ]
    assert live["features"]["tap_battle"]["tap_battle_id"] == battle
