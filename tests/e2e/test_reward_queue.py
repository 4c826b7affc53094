"""The creator's reward queue on the local cloud through the HTTP API with Auth emulator
tokens (docs/engagement.md, "Loyalty points"): viewers redeem; the creator and a moderator
they appointed list the queue (queued first, oldest first, in pages), fulfil and reject
(repeats change nothing, the other outcome is a 409, bad input a 400 with its reason, others
a 403); a rejection refunds the points once, and `giftengine viewer --json` shows the
refunded balance."""

from __future__ import annotations

import uuid

import pytest
import requests
from google.cloud import firestore

from tests.support import cli_viewer, id_token

pytestmark = pytest.mark.e2e


def auth(uid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid)}"}


def test_creator_and_moderator_work_the_queue_and_a_rejection_refunds_once(cloud):
    n = uuid.uuid4().hex[:8]
    creator, fan, mod = f"cr-q-{n}", f"fan-q-{n}", f"mod-q-{n}"
    api = cloud["endpoints"]["api"]
    # The api function's first request imports every route: wake it before timed calls.
    requests.get(f"{api}/viewers/{fan}/creators/{creator}", headers=auth(fan), timeout=180)
    cfg = {
        "rewards": [
            {"id": "song", "title": "Choose the next song", "cost": 50, "needs_note": True},
            {"id": "hi", "title": "Shout-out", "cost": 5},
        ]
    }
    r = requests.put(
        f"{api}/creators/{creator}/features/rewards", json=cfg, headers=auth(creator), timeout=30
    )
    assert r.status_code == 200, r.text
    db = firestore.Client(project=cloud["project_id"])
    db.document(f"xp/{fan}/creators/{creator}").set({"uid": fan, "points_earned": 200})

    rids = []
    for k, (reward, note) in enumerate([("song", "Song A"), ("hi", ""), ("song", "Song B")]):
        r = requests.post(
            f"{api}/creators/{creator}/rewards/{reward}/redeem",
            json={"request_id": f"req-{k}-{n}", "note": note},
            headers=auth(fan),
            timeout=30,
        )
        assert r.status_code == 201, r.text
        rids.append(r.json()["redemption_id"])

    queue = f"{api}/creators/{creator}/reward_queue"
    for who in (fan, mod):  # the viewer and a not-yet-appointed user
        r = requests.get(queue, headers=auth(who), timeout=30)
        assert r.status_code == 403 and "creator" in r.json()["reason"], r.text
    assert requests.get(queue, timeout=30).status_code == 401
    for bad in ("limit=0", "limit=abc", "status=done", "after=1.2.x", "colour=red"):
        r = requests.get(f"{queue}?{bad}", headers=auth(creator), timeout=30)
        assert r.status_code == 400, (bad, r.text)
    r = requests.put(
        f"{api}/creators/{creator}/moderators/{mod}", json={}, headers=auth(creator), timeout=30
    )
    assert r.status_code in (200, 201), r.text

    r = requests.get(f"{queue}?limit=2", headers=auth(creator), timeout=30)
    assert r.status_code == 200, r.text
    first = r.json()
    assert [e["redemption_id"] for e in first["items"]] == rids[:2] and first["next"]
    assert first["items"][0]["note"] == "Song A" and first["items"][0]["at"].endswith("Z")
    r = requests.get(
        queue, params={"limit": 2, "after": first["next"]}, headers=auth(mod), timeout=30
    )
    assert [e["redemption_id"] for e in r.json()["items"]] == rids[2:]
    assert r.json()["next"] is None

    def act(uid, rid, action, body=None):
        return requests.post(f"{queue}/{rid}/{action}", json=body, headers=auth(uid), timeout=30)

    r = act(fan, rids[0], "fulfil")
    assert r.status_code == 403, r.text
    for bad_rid, action, body, status in [
        ("not-a-redemption", "fulfil", None, 400),
        (rids[0], "approve", None, 404),
        (rids[0], "reject", {"reason": "<script>x</script>"}, 400),
        ("0" * 32, "fulfil", None, 404),
    ]:
        r = act(creator, bad_rid, action, body)
        assert r.status_code == status and r.json()["reason"], (bad_rid, action, r.text)

    r = act(mod, rids[0], "fulfil")
    assert r.status_code == 200 and r.json()["changed"] and r.json()["status"] == "fulfilled"
    assert r.json()["handled_by"] == mod
    again = act(creator, rids[0], "fulfil")
    assert again.status_code == 200 and not again.json()["changed"]
    r = act(creator, rids[0], "reject")
    assert r.status_code == 409 and "already fulfilled" in r.json()["reason"], r.text

    for _ in range(2):  # a repeated reject refunds once
        r = act(creator, rids[1], "reject", {"reason": "off topic"})
        assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    r = act(mod, rids[1], "fulfil")
    assert r.status_code == 409, r.text

    r = requests.get(queue, headers=auth(creator), timeout=30)
    assert [(e["redemption_id"], e["status"]) for e in r.json()["items"]] == [
        (rids[2], "queued"),
        (rids[0], "fulfilled"),
        (rids[1], "rejected"),
    ]
    r = requests.get(f"{queue}?status=rejected", headers=auth(creator), timeout=30)
    assert [e["reason"] for e in r.json()["items"]] == ["off topic"]

    refund = db.document(f"xp/{fan}/creators/{creator}/refunds/{rids[1]}").get().to_dict()
    assert refund["points"] == 5 and refund["by"] == creator
    view = requests.get(
        f"{api}/viewers/{fan}/creators/{creator}", headers=auth(fan), timeout=30
    ).json()
    expected = {
        "earned": 200,
        "rewarded": 0,
        "spent": 105,
        "staked": 0,
        "won": 0,
        "revoked": 0,
        "refunded": 5,
        "balance": 100,
    }
    assert view["points"] == expected
    assert cli_viewer(fan, creator)["points"] == expected
