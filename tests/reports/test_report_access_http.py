"""Who reads a stream's report, over HTTP on the local cloud with Auth emulator tokens: the
stream's owner (its ownership record, POST /api/streams) and admins; not the user whose uid
the stream's events name as creator, another creator, a staff moderator or a moderator the
owner appointed (docs/reports.md, domain/access.py `require_stream_creator`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent

from tests.support import create_stream, id_token, wait_for_doc

pytestmark = pytest.mark.e2e


def _auth(uid: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, claims or None)}"}


def _events(stream: str, named_creator: str) -> list[EngagementEvent]:
    t = datetime.now(UTC).replace(microsecond=0)
    rose = {"id": "rose", "name": "Rose", "coins": 1, "streakable": True}

    def ev(i: int, kind: str, **kw) -> EngagementEvent:
        return EngagementEvent.model_validate(
            {
                "event_id": f"{stream}:{i}",
                "source": "tiktok",
                "stream_id": stream,
                "kind": kind,
                "occurred_at": (t + timedelta(seconds=i)).isoformat(),
                "creator_id": named_creator,
                **kw,
            }  # fmt: skip
        )

    user = {"id": "ana", "handle": "@ana", "name": "Ana"}
    return [
        ev(0, "stream_start"),
        ev(1, "gift", user=user, gift=rose, repeat_count=3, repeat_end=True, group_id="g"),
    ]


def test_the_owner_and_admins_read_the_report_others_get_403(cloud):
    n = uuid.uuid4().hex[:8]
    owner, named, other, appointed = f"own-{n}", f"named-{n}", f"other-{n}", f"cm-{n}"
    stream = f"rep-acc-{n}"
    api = cloud["endpoints"]["api"]
    create_stream(cloud, owner, stream, "report access")
    r = requests.put(f"{api}/creators/{owner}/moderators/{appointed}", headers=_auth(owner),
                     timeout=30)  # fmt: skip
    assert r.status_code in (200, 201), r.text
    publisher = EventPublisher(cloud["project_id"])
    try:  # the events name `named` as the creator: that decides nothing
        publisher.publish_all(_events(stream, named))
    finally:
        publisher.close()
    db = firestore_client(cloud["project_id"])
    wait_for_doc(
        db.collection("streams").document(stream),
        lambda d: bool(d) and (d.get("totals") or {}).get("coins") == 3,
        timeout=180,
    )

    def get(headers: dict, refresh: bool = False) -> requests.Response:
        url = f"{api}/reports/{stream}" + ("?refresh=1" if refresh else "")
        return requests.get(url, headers=headers, timeout=60)

    for who in (_auth(named), _auth(other), _auth(f"mod-{n}", moderator=True), _auth(appointed)):
        r = get(who, refresh=True)
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    r = get(_auth(owner), refresh=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["totals"]["coins"] == 3
    assert report["creator_id"] == report["owner_uid"] == owner
    r = get(_auth(f"adm-{n}", admin=True))
    assert r.status_code == 200 and r.json()["owner_uid"] == owner, r.text
    assert get({}).status_code == 401
    mine = requests.get(f"{api}/creators/{owner}/analytics?days=7", headers=_auth(owner),
                        timeout=60).json()  # fmt: skip
    assert stream in [s["stream_id"] for s in mine["per_stream"]]
    r = requests.get(f"{api}/creators/{owner}/analytics?days=7", headers=_auth(named), timeout=60)
    assert r.status_code == 403, r.text
