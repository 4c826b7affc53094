"""App reaction buttons on the local cloud (issue 21, decision 094): an app viewer taps
through `chat_api` `POST /streams/{s}/reactions` with a real Auth emulator token, while the
creator runs a tap battle. Three requests, one of them a retry with the same key: the
stream's like total, the tap battle's likes and the mood count exactly the two requests'
taps, each in its own mood; the log holds two events. A key reused with another count is a
409, a bad reaction a 400, an unknown stream a 404, a viewer the creator banned a 403."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from giftengine.domain.eventlog import event_record_id
from giftengine.moderation import reactions
from google.cloud import firestore

from tests.moderation.conftest import random_ip
from tests.support import bearer, create_stream, poll, wait_for_doc

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


def test_app_reactions_count_once_in_likes_tap_battle_and_mood(cloud):
    n = uuid.uuid4().hex[:8]
    creator, viewer, stream = f"cr-{n}", f"fan-{n}", f"s-react-{n}"
    api, chat = cloud["endpoints"]["api"], cloud["endpoints"]["chat_api"]
    db = firestore.Client(project=cloud["project_id"])
    create_stream(cloud, creator, stream)
    start = {
        "feature": "tap_battle",
        "action": "start",
        "params": {"tap_battle_id": f"t-{n}", "duration_s": 600, "starts_in_s": 0},
        "request_id": f"r-{n}",
    }
    r = requests.post(
        f"{api}/streams/{stream}/controls", json=start, headers=bearer(creator), timeout=30
    )
    assert r.status_code == 202, r.text
    ref = db.document(f"streams/{stream}")
    wait_for_doc(ref, lambda d: "tap_battle" in (d.get("features") or {}), timeout=60)

    headers = {**bearer(viewer), "X-Forwarded-For": random_ip()}

    def react(body: dict, stream_id: str = stream, h: dict = headers) -> requests.Response:
        return requests.post(
            f"{chat}/streams/{stream_id}/reactions", json=body, headers=h, timeout=30
        )

    laugh = react({"key": f"k1-{n}", "reaction": "laugh", "count": 30})
    assert laugh.status_code == 201, laugh.text
    retry = react({"key": f"k1-{n}", "reaction": "laugh", "count": 30})  # same key: a retry
    assert retry.status_code == 200 and retry.json()["duplicate"], retry.text
    assert retry.json()["event_id"] == laugh.json()["event_id"]
    hype = react({"key": f"k2-{n}", "reaction": "hype", "count": 7})
    assert hype.status_code == 201, hype.text
    assert laugh.json()["event_id"] == reactions.event_id(stream, viewer, f"k1-{n}")

    # Refused: the key again with another count, a bad reaction, an unknown stream, no token.
    conflict = react({"key": f"k1-{n}", "reaction": "laugh", "count": 31})
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict", conflict.text
    bad = react({"key": f"k3-{n}", "reaction": "wow", "count": 1})
    assert bad.status_code == 400 and "reaction" in bad.json()["reason"], bad.text
    assert react({"key": f"k4-{n}", "reaction": "like"}, stream_id=f"nope-{n}").status_code == 404
    no_token = react({"key": f"k5-{n}", "reaction": "like"}, h={"X-Forwarded-For": random_ip()})
    assert no_token.status_code == 401, no_token.text

    # A viewer the creator banned in this stream's chat: 403, nothing published.
    banned = f"troll-{n}"
    r = requests.post(
        f"{chat}/streams/{stream}/bans",
        json={"uid": banned, "duration_s": 600, "reason": "spam"},
        headers={**bearer(creator), "X-Forwarded-For": random_ip()},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    refused = react(
        {"key": f"k6-{n}", "reaction": "love", "count": 50},
        h={**bearer(banned), "X-Forwarded-For": random_ip()},
    )
    assert refused.status_code == 403 and refused.json()["error"] == "banned", refused.text

    # The stream counts 30 + 7 likes (the retry is the same event), in the tap battle too.
    live = wait_for_doc(ref, lambda d: (d.get("totals") or {}).get("likes", 0) >= 37, timeout=90)
    time.sleep(3)  # anything more would arrive now (a second event, the banned viewer's)
    live = ref.get().to_dict()
    assert live["totals"]["likes"] == 37, live["totals"]
    tb = live["features"]["tap_battle"]
    assert tb["red"]["likes"] + tb["blue"]["likes"] == 37, tb
    assert {tb["red"]["likes"], tb["blue"]["likes"]} == {0, 37}  # one viewer, one team
    # The mood: laugh and hype from the two buttons, no love (no plain like).
    scores = live["features"]["mood"]["scores"]
    assert scores["laugh"] > 0 and scores["hype"] > 0 and scores["love"] == 0, scores
    assert scores["laugh"] > scores["hype"]  # 30 taps against 7, decayed alike

    # The log: the two events, once each.
    def recorded(event_id: str) -> bool:
        return db.document(f"streams/{stream}/events/{event_record_id(event_id)}").get().exists

    assert poll(lambda: recorded(laugh.json()["event_id"]) and recorded(hype.json()["event_id"]))
    assert not recorded(reactions.event_id(stream, banned, f"k6-{n}"))
