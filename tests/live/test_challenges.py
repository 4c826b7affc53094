"""Challenges (goals with a deadline): progress on a metric the stream counts, completion
alert when reached in time, one failure alert at the deadline otherwise; state round-trips."""

from __future__ import annotations

from giftengine.domain import challenges
from giftengine.domain.stream import StreamState

from tests.unit.factories import ev, gift


def run(st, events, now):
    for e in events:
        st.apply(e, now)
    st.finish_batch()
    st.alerts.extend(challenges.expire(st.goals.values(), now))
    return [a["type"] for a in st.alerts if a["type"] in ("goal_reached", "challenge_failed")]


def test_a_challenge_reached_in_time_alerts_once_and_never_fails():
    st = StreamState(stream_id="s1")
    st.set_goals([{"goal_id": "c", "metric": "shares", "target": 2, "deadline": 160.0}])
    assert run(st, [ev("share", user="a")], 100.0) == []
    assert st.live_view(5)["goals"]["c"] | {} == {
        "metric": "shares",
        "gift_id": None,
        "target": 2,
        "progress": 1,
        "reached": False,
        "title": "",
        "deadline": 160.0,
        "failed": False,
    }
    st.alerts.clear()
    assert run(st, [ev("share", user="b")], 120.0) == ["goal_reached"]
    st.alerts.clear()
    assert run(st, [], 200.0) == []
    assert st.goals["c"].reached and not st.goals["c"].failed


def test_a_challenge_short_at_its_deadline_fails_once_and_cannot_complete_later():
    st = StreamState(stream_id="s1")
    st.set_goals([{"goal_id": "c", "metric": "joins", "target": 3, "deadline": 150.0}])
    assert run(st, [ev("join", user="a"), ev("join", user="b")], 100.0) == []
    st.alerts.clear()
    assert run(st, [], 150.0) == ["challenge_failed"]
    st.alerts.clear()
    assert run(st, [ev("join", user="c"), ev("join", user="d")], 160.0) == []
    assert st.goals["c"].failed and not st.goals["c"].reached
    again = StreamState.from_dicts("s1", st.core_dict(), [])
    assert again.goals["c"].failed and again.goals["c"].deadline == 150.0


def test_coins_challenge_counts_from_when_it_was_set():
    st = StreamState(stream_id="s1")
    run(st, [gift(coins=10, group="0")], 90.0)
    st.set_goals([{"goal_id": "c", "metric": "coins", "target": 15, "deadline": 500.0}])
    st.alerts.clear()
    assert run(st, [gift(coins=10, group="1")], 100.0) == []
    assert st.goals["c"].progress == 10
    assert "goal_reached" in run(st, [gift(coins=10, group="2")], 110.0)


def test_state_lists_running_challenges_and_ended_ones():
    from giftengine.live.service import challenges

    live = {
        "goals": {
            "plain": {"metric": "coins", "target": 5, "progress": 1, "deadline": None},
            "c1": {"metric": "likes", "target": 10, "progress": 3, "deadline": 200.0,
                   "reached": False, "failed": False},
            "c2": {"metric": "coins", "target": 10, "progress": 4, "deadline": 100.0,
                   "reached": False, "failed": True},
            "c3": {"metric": "coins", "target": 2, "progress": 2, "deadline": 90.0,
                   "reached": True, "failed": False},
            "c4": {"metric": "shares", "target": 2, "progress": 0, "deadline": 150.0,
                   "reached": False, "failed": False},
        }
    }  # fmt: skip
    got = challenges(live)
    assert [(c["goal_id"], c["progress"], c["status"]) for c in got["active"]] == [
        ("c4", 0, "running"),
        ("c1", 3, "running"),
    ]
    assert [(c["goal_id"], c["status"]) for c in got["ended"]] == [
        ("c2", "failed"),
        ("c3", "reached"),
    ]
    assert challenges(None) == {"active": [], "ended": []}
