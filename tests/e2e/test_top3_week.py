"""The "Top 3 of a week" badge on the local cloud (decision 091): TikTok gifts of two past
weeks go through Pub/Sub, the pipeline and the rollup (published twice each, shuffled), which
writes the creator's weekly boards and the gifters' XP; concurrent reads of the viewers'
rewards over HTTP (Auth emulator tokens) judge each closed week once: its top 3 (coins, then
the smaller user id) hold the badge once per week, the fourth does not, and reading again
changes nothing."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from giftengine.adapters.pubsub import EventPublisher
from giftengine.domain.events import EngagementEvent
from google.cloud import firestore

from tests.support import id_token, wait_for_doc

pytestmark = pytest.mark.e2e

W1, W2 = datetime(2026, 11, 16, 12, tzinfo=UTC), datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_closed_weeks_award_their_top_3_once_through_the_local_cloud(cloud):
    n = uuid.uuid4().hex[:8]
    stream, creator = f"s-wk-{n}", f"cr-wk-{n}"
    users = {u: f"{u}-{n}" for u in ("ann", "bob", "cid", "dee")}
    gifts = [("ann", 50, W1), ("bob", 30, W1), ("cid", 30, W1), ("dee", 10, W1), ("dee", 5, W2)]

    def ev(i: int, kind: str, at: datetime, user: str = "ann", **kw) -> EngagementEvent:
        return EngagementEvent.model_validate(
            {
                "event_id": f"wk{i}-{n}",
                "source": "tiktok",
                "stream_id": stream,
                "creator_id": creator,
                "kind": kind,
                "occurred_at": at.isoformat(),
                "user": {"id": users[user], "handle": f"@{user}", "name": user},
                **kw,
            }
        )

    events = [ev(0, "stream_start", W1 - timedelta(minutes=5))]
    for i, (who, coins, week) in enumerate(gifts, 1):
        gift = {"id": f"g{coins}", "name": "Gift", "coins": coins, "streakable": False}
        events.append(ev(i, "gift", week + timedelta(minutes=i), who, gift=gift))
    sends = [e for e in events for _ in range(2)]
    random.shuffle(sends)
    p = EventPublisher(cloud["project_id"])
    p.publish_all(sends)
    p.publish_all([ev(99, "stream_end", W2 + timedelta(hours=1))])
    p.close()

    db = firestore.Client(project=cloud["project_id"])
    for week, who in (("2026-11-16", "cid"), ("2026-11-23", "dee")):
        wait_for_doc(
            db.document(f"leaderboards/creator.{creator}.weekly.{week}/entries/{users[who]}"),
            lambda d: d.get("coins", 0) > 0,
            timeout=120,
        )
    for who in users.values():
        wait_for_doc(
            db.document(f"xp/tiktok:{who}/creators/{creator}"),
            lambda d: d.get("xp_gifts", 0) > 0,
            timeout=120,
        )

    api = cloud["endpoints"]["api"]

    reader = {"Authorization": f"Bearer {id_token(f'reader-{n}')}"}

    def badges(who: str) -> dict[str, int]:
        # The Firestore emulator resolves concurrent read-write transactions on the same
        # documents by a 30 s lock timeout, not by aborting the younger one as Firestore
        # does (firebase-tools#6758, google-cloud-go#2604): eight judgments at once can take
        # a few of those rounds here.
        r = requests.get(
            f"{api}/viewers/tiktok:{users[who]}/creators/{creator}", headers=reader, timeout=300
        )
        assert r.status_code == 200, r.text
        return {b["id"]: b.get("count", 1) for b in r.json()["badges"]}

    seen: list[dict] = []
    threads = [threading.Thread(target=lambda w=w: seen.append(badges(w))) for w in list(users) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    for _ in range(2):
        got = {who: badges(who).get("top3_week", 0) for who in users}
        assert got == {"ann": 1, "bob": 1, "cid": 1, "dee": 1}  # dee: 4th in W1, 1st in W2
    j1 = db.document(f"creators/{creator}/weekly_top3/2026-11-16").get().to_dict()
    assert [(t["rank"], t["viewer_id"], t["coins"]) for t in j1["top"]] == [
        (1, f"tiktok:{users['ann']}", 50),
        (2, f"tiktok:{users['bob']}", 30),
        (3, f"tiktok:{users['cid']}", 30),
    ]
    j2 = db.document(f"creators/{creator}/weekly_top3/2026-11-23").get().to_dict()
    assert [t["viewer_id"] for t in j2["top"]] == [f"tiktok:{users['dee']}"]
    docs = {
        w: db.document(f"xp/tiktok:{u}/creators/{creator}").get().to_dict()
        for w, u in users.items()
    }
    assert {w: d.get("award_top3_week", 0) for w, d in docs.items()} == {
        "ann": 1,
        "bob": 1,
        "cid": 1,
        "dee": 1,
    }
