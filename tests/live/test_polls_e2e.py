"""Polls end to end on the local cloud: real ID tokens (Auth emulator), the `api` function,
TikTok chat votes published to Pub/Sub and pushed to `on_comment`, Cloud Tasks running
`live_jobs` (tally publish, freeze), the Firestore emulator. A replay mixes app and chat votes
with duplicates, reordering and late votes; the frozen counts must equal the rules' tally."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from giftengine.live import domain
from giftengine.live.domain import Vote

from tests.support import create_stream, id_token, wait_for_doc

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
CHOICES = ["Red", "Blue", "Green"]


def wait_for(fn, timeout=60.0, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class Api:
    def __init__(self, base: str, uid: str | None, **claims):
        self.base = base
        self.headers = {"Authorization": f"Bearer {id_token(uid, claims)}"} if uid else {}

    def post(self, path: str, body: dict | None = None):
        return requests.post(self.base + path, json=body, headers=self.headers, timeout=30)

    def get(self, path: str):
        return requests.get(self.base + path, headers=self.headers, timeout=30)


@pytest.fixture
def live_stream(cloud):
    from google.cloud import firestore

    db = firestore.Client(project=cloud["project_id"])
    stream = "lv-" + uuid.uuid4().hex[:10]
    create_stream(cloud, f"c-{stream}", stream)  # the ownership record: c-<stream> runs it
    return db, stream


def comment(stream: str, event_id: str, user: str, text: str, at: float) -> dict:
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": "comment",
        "occurred_at": datetime.fromtimestamp(at, UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}"},
        "text": text,
    }


def test_replay_of_app_and_chat_votes_gives_the_rules_tally(cloud, live_stream):
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.domain.events import parse_event

    db, stream = live_stream
    base = cloud["endpoints"]["api"]
    creator = Api(base, f"c-{stream}")
    assert (
        Api(base, "someone-else")
        .post(f"/streams/{stream}/polls", {"question": "q", "choices": CHOICES})
        .status_code
        == 403
    )
    r = creator.post(f"/streams/{stream}/polls", {"question": "Which?", "choices": CHOICES})
    assert r.status_code == 201, r.text
    poll = r.json()
    pid, t0 = poll["poll_id"], poll["opened_at"]
    path = f"/streams/{stream}/polls/{pid}"
    buckets: list[int] = []
    watch = db.document(f"streams/{stream}/polls/{pid}").on_snapshot(
        lambda snaps, changes, read_time: buckets.extend(
            s.to_dict()["tally_bucket"] for s in snaps if s.exists
        )
    )

    # Chat votes, delivered in a shuffled order with duplicates: viewer 1 votes twice (the
    # earlier vote, published last, counts), viewer 2 votes by choice text, viewer 3's vote
    # occurred before the poll opened, viewer 4 sends chat that is no vote.
    chat = [
        comment(stream, f"{stream}-e1b", "v1", "!3", t0 + 2.0),
        comment(stream, f"{stream}-e2", "v2", "blue", t0 + 1.0),
        comment(stream, f"{stream}-e0", "v3", "!1", t0 - 30.0),
        comment(stream, f"{stream}-e4", "v4", "hello there", t0 + 1.0),
        comment(stream, f"{stream}-e5", "v5", "!vote 1", t0 + 1.5),
        comment(stream, f"{stream}-e1a", "v1", "!vote 2", t0 + 0.5),
    ]
    pub = EventPublisher(cloud["project_id"])
    pub.publish_all([parse_event(c) for c in chat + chat[:3]])

    # App votes: a linked viewer (tiktok_id v5) already voted in chat; a plain app viewer.
    linked = Api(base, f"a-{stream}-linked", tiktok_id="v5")
    plain = Api(base, f"a-{stream}-plain")
    assert plain.post(f"{path}/votes", {"choice": 4}).status_code == 400
    assert plain.post(f"/streams/{stream}/polls/nope/votes", {"choice": 1}).status_code == 404
    assert Api(base, None).post(f"{path}/votes", {"choice": 1}).status_code == 401
    sent = time.time()
    ok = plain.post(f"{path}/votes", {"choice": 3, "idempotency_key": "plain-key-1"})
    answered = time.time()
    assert ok.status_code == 201 and ok.json() == {"counted": True, "choice": 3}

    def exact():
        got = creator.get(f"/streams/{stream}/interactions").json()["active_poll"]
        return got and got["exact_counts"]

    # v1 -> Blue (earliest), v2 -> Blue, v5 -> Red, plain -> Green
    assert wait_for(lambda: exact() == [1, 2, 1]), exact()
    # The chat votes above carry made-up times up to t0 + 2 s, and the app vote below is timed
    # by the server's clock on arrival: wait past the last of them so that v5's chat vote
    # (t0 + 1.5 s) is the earlier one, whatever the machine's speed. Closing after it also
    # puts each chat vote inside or outside the window as the comments say.
    time.sleep(max(0.0, t0 + 2.5 - time.time()))
    r = linked.post(f"{path}/votes", {"choice": 2, "idempotency_key": "linked-key-1"})
    assert r.status_code == 409 and r.json()["error"] == "already_voted"
    wait_for_doc(
        db.document(f"streams/{stream}/polls/{pid}"), lambda d: d["counts"] == [1, 2, 1], timeout=60
    )

    closed = creator.post(f"{path}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    closes_at = closed.json()["closes_at"]
    # Late: occurred after the close (never counts), plus redeliveries of counted votes.
    late = [
        comment(stream, f"{stream}-late1", "v6", "!1", closes_at + 0.5),
        comment(stream, f"{stream}-late2", "v2", "!1", closes_at + 1.0),
    ]
    pub.publish_all([parse_event(c) for c in late + chat[:2]])
    final = wait_for_doc(
        db.document(f"streams/{stream}/polls/{pid}"), lambda d: d.get("frozen"), timeout=90
    )
    r = plain.post(f"{path}/votes", {"choice": 1, "idempotency_key": "plain-key-2"})
    assert r.status_code == 409 and r.json()["error"] == "poll_closed"
    pub.publish_all([parse_event(comment(stream, f"{stream}-after", "v7", "!2", t0 + 3.0))])

    rules_poll = domain.Poll(pid, stream, "Which?", tuple(CHOICES), t0, closes_at)
    ballots = [
        Vote(c_at, eid, f"tiktok:{u}", ch)
        for eid, u, ch, c_at in [
            (
                c["event_id"],
                c["user"]["id"],
                domain.parse_chat_vote(c["text"], tuple(CHOICES)),
                datetime.fromisoformat(c["occurred_at"]).timestamp(),
            )
            for c in chat + late
        ]
        if ch is not None
    ]
    # An app vote occurs when the api receives it: the server's time, on the vote document.
    plain_vote = db.document(f"streams/{stream}/polls/{pid}/votes/app:a-{stream}-plain").get()
    plain_at = plain_vote.to_dict()["occurred_at"]
    assert sent <= plain_at <= answered
    ballots.append(Vote(plain_at, "app", f"app:a-{stream}-plain", 2))
    expected = domain.tally(rules_poll, ballots)
    assert expected == [1, 2, 1]
    assert final["counts"] == expected and final["voters"] == 4
    time.sleep(3)  # the vote published after the freeze has had time to be refused
    assert db.document(f"streams/{stream}/polls/{pid}").get().to_dict()["counts"] == expected
    state = creator.get(f"/streams/{stream}/interactions").json()
    assert state["active_poll"] is None and state["last_poll"]["exact_counts"] == expected
    watch.unsubscribe()
    pub.close()
    # the published tally only moves forward in time: a flush never overwrote a newer one
    tallies = [b for b in buckets if b >= 0]
    assert tallies and tallies == sorted(tallies)


def gift(stream: str, event_id: str, user: str, gift_id: str, coins: int, at: float, text=""):
    return {
        "event_id": event_id,
        "source": "tiktok",
        "stream_id": stream,
        "kind": "gift",
        "occurred_at": datetime.fromtimestamp(at, UTC).isoformat(),
        "user": {"id": user, "handle": f"@{user}"},
        "gift": {"id": gift_id, "name": gift_id.title(), "coins": coins, "streakable": False},
        "text": text,
    }


def test_gift_weighted_poll_through_the_pipeline(cloud, live_stream, capsys):
    """Gifts published as the ingest worker publishes them, some twice, one before the open
    and one after the close: the rollup's weights are the coins of the gifts in the window
    that named a choice (the mapped gift, or a comment), once each."""
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.domain.events import parse_event

    db, stream = live_stream
    base = cloud["endpoints"]["api"]
    creator = Api(base, f"c-{stream}")
    bad = creator.post(
        f"/streams/{stream}/polls",
        {
            "question": "Which?",
            "choices": CHOICES,
            "gift_weighted": True,
            "gift_choices": {"rose": 4},
        },
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    r = creator.post(
        f"/streams/{stream}/polls",
        {
            "question": "Which?",
            "choices": CHOICES,
            "gift_weighted": True,
            "gift_choices": {"rose": 1},
        },
    )
    assert r.status_code == 201, r.text
    poll = r.json()
    pid, t0 = poll["poll_id"], poll["opened_at"]
    ref = db.document(f"streams/{stream}/polls/{pid}")
    gifts = [
        gift(stream, f"{stream}-g1", "v1", "rose", 5, t0 + 0.5),  # mapped: Red
        gift(stream, f"{stream}-g2", "v2", "lion", 30, t0 + 0.6, "!vote 3"),  # comment: Green
        gift(stream, f"{stream}-g3", "v3", "tea", 2, t0 + 0.7, "hello"),  # names nothing
        gift(stream, f"{stream}-g4", "v4", "rose", 9, t0 - 10),  # before the open
        gift(stream, f"{stream}-g5", "v5", "lion", 40, t0 + 0.8, "blue"),  # comment: Blue
    ]
    pub = EventPublisher(cloud["project_id"])
    # Weights count from the rollup that applied the poll's open command (decision 090): a
    # gift recorded before it adds nothing, so the gifts go out once the rollup knows the poll
    # (the command's rollup writes the stream's live document with the poll in it).
    wait_for_doc(
        db.document(f"streams/{stream}"),
        lambda d: (d.get("features") or {}).get("poll_weights", {}).get("poll_id") == pid,
        timeout=90,
    )
    pub.publish_all([parse_event(g) for g in gifts + gifts[:2]])
    wait_for_doc(ref, lambda d: d.get("weights") == [5, 40, 30], timeout=90)
    app = Api(base, f"a-{stream}").post(f"/streams/{stream}/polls/{pid}/votes", {"choice": 2})
    assert app.status_code == 201
    time.sleep(max(0.0, t0 + 1.5 - time.time()))
    closed = creator.post(f"/streams/{stream}/polls/{pid}/close").json()
    late = gift(stream, f"{stream}-g6", "v6", "rose", 100, closed["closes_at"] + 0.5)
    pub.publish_all([parse_event(late), parse_event(gifts[4])])
    final = wait_for_doc(ref, lambda d: d.get("frozen") and d.get("weights_final"), timeout=90)
    pub.close()
    assert final["weights"] == [5, 40, 30] and final["weighted_gifts"] == 3
    assert final["counts"] == [0, 1, 0]
    live = db.document(f"streams/{stream}").get().to_dict()
    assert live["features"]["poll_weights"] == {
        "poll_id": pid,
        "weights": [5, 40, 30],
        "frozen": True,
    }
    from giftengine_dev.cli.main import main

    capsys.readouterr()
    assert main(["state", stream, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["interactions"]["last_poll"]
    assert shown["exact_counts"] == [0, 1, 0] and shown["scores"] == [5, 41, 30]
