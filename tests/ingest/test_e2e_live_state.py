"""Done-when of the ingest issue: gifts from a fake TikTok flow through competing worker
instances, a connection drop (TikTok replays history), and a crash/takeover, into the live
state of the stream, counted exactly once."""

from __future__ import annotations

import pytest

from tests.ingest import fake_tiktok as F
from tests.ingest.conftest import wait_until
from tests.support import wait_for_doc

pytestmark = [pytest.mark.e2e]


def test_gifts_reach_live_state_once_through_drops_restarts_and_competition(
    fake, tap, workers, creator, db
):
    cid, room = creator
    stream = f"tiktok-{room}"
    fake.set_state(cid, "live", room_id=room, replay_last=100)
    a, b = workers("e2e-a", ready=False), workers("e2e-b", ready=False)
    a.wait_ready()
    b.wait_ready()
    wait_until(lambda: fake.open_connections(cid) == 1, what="one instance connects")
    holder, other = (a, b) if cid in a.creators() else (b, a)

    def rose(n, end=False):
        return F.gift(room, 501, repeat_count=n, repeat_end=end, group_id=31)

    def gifts_published():
        return len(
            {e["event_id"] for e in tap.drain() if e["stream_id"] == stream and e["kind"] == "gift"}
        )

    fake.push(cid, rose(1), rose(2))
    wait_until(lambda: gifts_published() == 2, what="first gifts published")
    fake.drop(cid)  # network drop: the holder reconnects and TikTok replays the history
    wait_until(
        lambda: fake.creator(cid).connects == 2 and fake.open_connections(cid) == 1,
        what="reconnect",
    )
    fake.push(cid, rose(3))
    wait_until(lambda: gifts_published() == 3, what="gift after reconnect")
    holder.kill()  # crash: the other instance takes over after the lease expires
    wait_until(lambda: cid in other.creators() and fake.open_connections(cid) == 1, what="takeover")
    final = rose(5, end=True)
    fake.push(
        cid,
        rose(4),
        final,
        final,  # the final arrives twice
        F.gift(room, 502, name="Lion", diamonds=29999, streakable=False),
    )
    state = wait_for_doc(
        db.collection("streams").document(stream),
        lambda d: d.get("totals", {}).get("coins", 0) >= 30004,
        timeout=90,
    )
    assert state["totals"]["coins"] == 30004 and state["totals"]["gifts"] == 6
    assert state["creator_id"] == cid and state["source"] == "tiktok"
    top = {t["user_id"]: t["coins"] for t in state["top_gifters"]}
    assert top == {"502": 29999, "501": 5}
