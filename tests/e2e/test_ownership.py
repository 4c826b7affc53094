"""Stream ownership over HTTP on the local cloud (issue 14, attack 1): the first event's
creator_id never decides who owns a stream; the record its creator made does."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support import create_stream, id_token

pytestmark = pytest.mark.e2e


def auth(uid: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, claims or None)}"}


def fund(cloud, uid: str, coins: int) -> None:
    r = requests.post(
        f"{cloud['endpoints']['wallet_api']}/wallet_api/admin/adjust",
        headers=auth("own-admin", admin=True),
        json={
            "uid": uid,
            "account": "balance",
            "amount": coins,
            "reason": "test funds",
            "idempotency_key": f"fund-{uid}",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text


def gift(cloud, uid: str, stream: str, key: str, creator: str | None = None):
    body = {"stream_id": stream, "gift_id": "rose", "count": 1, "idempotency_key": key}
    if creator is not None:
        body["creator_id"] = creator
    return requests.post(
        f"{cloud['endpoints']['wallet_api']}/wallet_api/gifts",
        headers=auth(uid),
        json=body,
        timeout=30,
    )


def test_an_unused_stream_id_cannot_be_taken_by_a_gift(cloud):
    n = uuid.uuid4().hex[:8]
    viewer_a, viewer_b, creator = f"va-{n}", f"vb-{n}", f"cr-{n}"
    stream = f"s-own-{n}"
    fund(cloud, viewer_a, 10)
    r = gift(cloud, viewer_a, stream, f"squat-{n}", creator=viewer_b)
    assert r.status_code == 404 and "POST /api/streams" in r.json()["reason"], r.text
    chat = cloud["endpoints"]["chat_api"]
    r = requests.put(
        f"{chat}/streams/{stream}/keywords",
        json={"keywords": ["x"]},
        headers={**auth(viewer_b), "X-Forwarded-For": f"10.9.{n[:2]}.1"},
        timeout=30,
    )
    assert r.status_code == 403, r.text

    record = create_stream(cloud, creator, stream, "Friday")
    assert (record["creator_id"], record["source"]) == (creator, "app")
    assert create_stream(cloud, creator, stream) == record  # idempotent for its creator
    r = requests.post(
        f"{cloud['endpoints']['api']}/streams",
        json={"stream_id": stream},
        headers=auth(viewer_b),
        timeout=30,
    )
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = requests.post(
        f"{cloud['endpoints']['api']}/streams",
        json={"stream_id": "tiktok-7300000000000000001"},
        headers=auth(viewer_b),
        timeout=30,
    )
    assert r.status_code == 403
    assert (
        requests.get(f"{cloud['endpoints']['api']}/streams/{stream}", timeout=30).json() == record
    )

    r = gift(cloud, viewer_a, stream, f"gift-{n}")
    assert r.status_code == 200 and r.json()["creator_id"] == creator, r.text
    r = gift(cloud, viewer_a, stream, f"other-{n}", creator=viewer_b)
    assert r.status_code == 400 and "another creator" in r.json()["reason"]


def test_a_creator_appoints_moderators_for_their_own_streams(cloud):
    n = uuid.uuid4().hex[:8]
    creator, helper, other = f"cr-{n}", f"help-{n}", f"cr2-{n}"
    mine, theirs = f"s-mine-{n}", f"s-theirs-{n}"
    create_stream(cloud, creator, mine)
    create_stream(cloud, other, theirs)
    api, chat = cloud["endpoints"]["api"], cloud["endpoints"]["chat_api"]
    path = f"{api}/creators/{creator}/moderators/{helper}"
    assert requests.put(path, headers=auth(helper), timeout=30).status_code == 403
    assert requests.put(path, headers=auth(creator), timeout=30).status_code == 201
    assert requests.put(path, headers=auth(creator), timeout=30).status_code == 200
    listed = requests.get(
        f"{api}/creators/{creator}/moderators", headers=auth(creator), timeout=30
    ).json()
    assert [m["uid"] for m in listed["moderators"]] == [helper]
    ip = {"X-Forwarded-For": f"10.8.{int(n[:2], 16)}.1"}
    ban = {"uid": f"troll-{n}", "reason": "spam"}
    r = requests.post(
        f"{chat}/streams/{mine}/bans", json=ban, headers={**auth(helper), **ip}, timeout=30
    )
    assert r.status_code == 201, r.text
    r = requests.post(
        f"{chat}/streams/{theirs}/bans", json=ban, headers={**auth(helper), **ip}, timeout=30
    )
    assert r.status_code == 403
    assert requests.delete(path, headers=auth(creator), timeout=30).status_code == 200
    r = requests.post(
        f"{chat}/streams/{mine}/bans", json=ban, headers={**auth(helper), **ip}, timeout=30
    )
    assert r.status_code == 403
