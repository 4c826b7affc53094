"""A creator-vs-creator battle on the local cloud (issue 20): invite and accept through the
HTTP API with Auth emulator tokens, gifts to both streams published through Pub/Sub with
duplicates, a re-sent final, out-of-order messages and gifts just before and after the
window's and the multiplier window's edges; both sides of `battles/{id}` are exactly the
rules' (docs/engagement.md, "Battles"), and a gift applied after the freeze changes
nothing. The test stack runs with a 5 s settlement grace (tests/conftest.py)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
import requests
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from google.cloud import firestore

from tests.support import create_stream, id_token, invite_battle, wait_for_doc

pytestmark = pytest.mark.e2e


def auth(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid)}"}


def gift(stream, event_id, user, coins, at, count=1, end=True, group="", streakable=False):
    return EngagementEvent.model_validate(
        {
            "event_id": event_id,
            "source": "tiktok",
            "stream_id": stream,
            "kind": "gift",
            "occurred_at": at.isoformat(),
            "user": {"id": user, "handle": f"@{user}", "name": user.title()},
            "gift": {"id": "g1", "name": "Rose", "coins": coins, "streakable": streakable},
            "repeat_count": count,
            "repeat_end": end,
            "group_id": group,
        }
    )


def test_a_battle_scores_both_sides_exactly_and_freezes(cloud, capsys):
    b = invite_battle(cloud, "bt", 10, [{"from_s": 8, "to_s": 10, "x": 2}])
    alice, bob, sa, sb = b["alice"], b["bob"], b["sa"], b["sb"]
    body, bid = b["body"], b["battle_id"]
    n = b["n"]
    api = cloud["endpoints"]["api"]
    assert (
        requests.post(f"{api}/battles", json=body, headers=auth(alice), timeout=30).json()[
            "battle_id"
        ]
        == bid
    )
    r = requests.post(f"{api}/battles/{bid}/accept", headers=auth(alice), timeout=30)
    assert r.status_code == 403, r.text
    r = requests.post(f"{api}/battles/{bid}/accept", headers=auth(bob), timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    start = datetime.fromisoformat(r.json()["start"].replace("Z", "+00:00"))

    def t(s: float) -> datetime:
        return start + timedelta(seconds=s)

    streak = dict(streakable=True, group="k")
    a_events = [
        gift(sa, f"a1-{n}", "u1", 5, t(1)),
        gift(sa, f"a2-{n}", "u2", 3, t(8)),  # x2
        gift(sa, f"a3-{n}", "u3", 100, t(10)),  # at the end: outside
        gift(sa, f"a0-{n}", "u3", 50, t(-0.001)),  # just before the start: outside
        # A streak: its final (4 x 2 coins at 5 s) arrives before its intermediate, and again
        # under a new message id.
        gift(sa, f"a5-{n}", "u2", 2, t(5), count=4, **streak),
        gift(sa, f"a4-{n}", "u2", 2, t(2), count=2, end=False, **streak),
        gift(sa, f"a6-{n}", "u2", 2, t(5.1), count=4, **streak),
    ]
    b_events = [
        gift(sb, f"b1-{n}", "v1", 9, t(0)),
        gift(sb, f"b2-{n}", "v2", 9, t(1)),
        gift(sb, f"b3-{n}", "v3", 4, t(9.999)),  # x2
        gift(sb, f"b4-{n}", "v3", 40, t(10.001)),  # after the end: outside
    ]
    p = EventPublisher(cloud["project_id"])
    try:
        for events in (a_events, b_events, a_events[:3], b_events[2:]):  # then duplicates
            for e in events:
                p.publish_all([e])
        db = firestore.Client(project=cloud["project_id"])
        ref = db.collection("battles").document(bid)
        doc = wait_for_doc(
            ref,
            lambda d: (
                all(s.get("frozen") for s in (d.get("sides") or {}).values())
                and len(d.get("sides") or {}) == 2
            ),
            timeout=90,
        )
        sides = doc["sides"]
        # sa: u1 5 + u2 3 x2 + u2's streak at its final (8 coins) = 19; MVP u2 (14).
        assert (sides[sa]["score"], sides[sa]["coins"]) == (19, 16), sides
        assert sides[sa]["mvp"] == {"user_id": "u2", "handle": "@u2", "name": "U2", "points": 14}
        # sb: v1 9 + v2 9 + v3 4 x2 = 26; v1 and v2 tie at 9: v1's came first.
        assert (sides[sb]["score"], sides[sb]["coins"]) == (26, 22), sides
        assert sides[sb]["mvp"]["user_id"] == "v1"
        got = requests.get(f"{api}/battles/{bid}", headers=auth(alice), timeout=30).json()
        assert got["result"] == sb and got["sides"] == sides
        live = db.collection("streams").document(sa).get().to_dict()
        assert live["features"]["battle"]["score"] == 19
        assert live["features"]["battle"]["phase"] == "final"

        from giftengine_dev.cli.main import main

        capsys.readouterr()
        assert main(["state", sb, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["features"]["battle"]["score"] == 26
        assert shown["battle"]["sides"] == sides and shown["battle"]["result"] == sb

        # After the freeze: a gift inside the window is applied to the stream, not the battle.
        p.publish_all([gift(sb, f"late-{n}", "v9", 500, t(3))])
        wait_for_doc(db.collection("streams").document(sb), lambda d: d["totals"]["coins"] >= 562)
        assert ref.get().to_dict()["sides"] == sides
    finally:
        p.close()


def test_a_tap_battle_replay_scores_exactly(cloud, capsys):
    """Command teams, likes and gifts at the window's edges, duplicates and a re-sent final,
    through the controls and feature-settings routes and the real pipeline."""
    n = uuid.uuid4().hex[:8]
    creator, stream = f"tb-{n}", f"s-tb-{n}"
    create_stream(cloud, creator, stream)
    api = cloud["endpoints"]["api"]
    r = requests.put(
        f"{api}/creators/{creator}/features/tap_battle",
        json={"team_mode": "command", "like_points": 1, "coin_points": 2, "grace_s": 5},
        headers=auth(creator),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    start_cmd = {
        "feature": "tap_battle",
        "action": "start",
        "params": {"tap_battle_id": f"t-{n}", "duration_s": 20, "starts_in_s": 2},
        "request_id": f"r-{n}",
    }
    for _ in range(2):  # a retried command: recorded once
        r = requests.post(
            f"{api}/streams/{stream}/controls", json=start_cmd, headers=auth(creator), timeout=30
        )
        assert r.status_code == 202, r.text
    db = firestore.Client(project=cloud["project_id"])
    ref = db.collection("streams").document(stream)
    view = wait_for_doc(ref, lambda d: "tap_battle" in (d.get("features") or {}))
    tb = view["features"]["tap_battle"]
    start = datetime.fromisoformat(tb["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(tb["end"].replace("Z", "+00:00"))

    def ev(event_id, kind, user, at, **kw):
        return EngagementEvent.model_validate(
            {
                "event_id": f"{event_id}-{n}",
                "source": "tiktok",
                "stream_id": stream,
                "kind": kind,
                "occurred_at": at.isoformat(),
                "user": {"id": user, "handle": f"@{user}", "name": user},
                **kw,
            }
        )

    s = timedelta(seconds=1)
    ms = timedelta(milliseconds=1)
    rose = {"id": "rose", "name": "Rose", "coins": 1, "streakable": True}
    events = [
        ev("c1", "comment", "u1", start + s / 2, text="!team red"),
        ev("c2", "comment", "u2", start + s / 2, text="!team blue"),
        ev("c3", "comment", "u3", start + s / 2, text="  !TEAM Red "),
        ev("c4", "comment", "u1", start + s, text="!team blue"),  # the first choice sticks
        ev("l1", "like", "u1", start + s, count=5),
        ev("l2", "like", "u2", start + s, count=3),
        ev("l3", "like", "u3", start - ms, count=2),  # before the start
        ev("l4", "like", "u3", end - ms, count=4),
        ev("l5", "like", "u4", start + s, count=9),  # no team
        ev("l6", "like", "u2", end, count=7),  # at the end: outside
        ev(
            "g1",
            "gift",
            "u2",
            start + 3 * s,
            gift={**rose, "id": "lion", "coins": 5, "streakable": False},
        ),
        # u1's streak: the final (3 x 1 coin) before its intermediate, and re-sent.
        ev(
            "g2",
            "gift",
            "u1",
            start + 4 * s,
            gift=rose,
            repeat_count=3,
            repeat_end=True,
            group_id="k",
        ),
        ev(
            "g3",
            "gift",
            "u1",
            start + 3 * s,
            gift=rose,
            repeat_count=1,
            repeat_end=False,
            group_id="k",
        ),
        ev(
            "g4",
            "gift",
            "u1",
            start + 4 * s,
            gift=rose,
            repeat_count=3,
            repeat_end=True,
            group_id="k",
        ),
    ]
    p = EventPublisher(cloud["project_id"])
    try:
        for e in events[:4]:  # teams first: a like counts for the team its sender has then
            p.publish_all([e])
        wait_for_doc(
            ref,
            lambda d: (
                (
                    d["features"]["tap_battle"]["red"]["members"],
                    d["features"]["tap_battle"]["blue"]["members"],
                )
                == (2, 1)
            ),
        )
        for e in [*events[4:], *events[4:8], events[10]]:  # then duplicates
            p.publish_all([e])
        live = wait_for_doc(ref, lambda d: d["features"]["tap_battle"]["frozen"], timeout=90)
    finally:
        p.close()
    tb = live["features"]["tap_battle"]
    assert tb["red"] == {"points": 5 + 4 + 3 * 2, "likes": 9, "coins": 3, "members": 2}, tb
    assert tb["blue"] == {"points": 3 + 5 * 2, "likes": 3, "coins": 5, "members": 1}, tb
    assert tb["winner"] == "red" and tb["refused"] == 0

    from giftengine_dev.cli.main import main

    capsys.readouterr()
    assert main(["state", stream, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["features"]["tap_battle"] == tb
