"""Streak settlement, counting rules, ranks, goals and flushes of the stream aggregate."""

import json

import pytest
from giftengine.domain.stream import StreamState

from tests.unit.factories import ev, gift

pytestmark = pytest.mark.unit


def run(events, now=100.0, state=None, timeout=None):
    st = state or StreamState(stream_id="s1")
    for e in events:
        st.apply(e, now)
    if timeout is not None:
        st.expire(now, timeout)
    st.finish_batch()
    return st


def test_streak_settles_once_at_final_with_final_count():
    st = run(
        [gift(count=1, end=False), gift(count=2, end=False), gift(count=5, end=True)],
    )
    assert st.totals.coins == 5 and st.totals.gifts == 5
    assert [a["type"] for a in st.alerts] == ["gift"]
    assert st.alerts[0]["units"] == 5 and st.alerts[0]["rank"] == 1


def test_in_progress_combo_is_provisional_and_not_counted():
    st = run([gift(coins=10, count=3, end=False)])
    assert st.totals.coins == 0
    assert st.combos()[0]["count"] == 3 and st.combos()[0]["coins"] == 30
    assert [a["type"] for a in st.alerts] == ["combo"]


def test_resent_final_under_new_event_id_and_late_intermediates_change_nothing():
    st = run([gift(count=4, end=True), gift(count=4, end=True), gift(count=3, end=False)])
    assert st.totals.coins == 4
    assert st.combos() == []


def test_idle_streak_settles_at_last_count_then_final_tops_up():
    st = StreamState(stream_id="s1")
    st.apply(gift(count=3, end=False), now=0.0)
    st.expire(now=5.0, timeout=10.0)
    assert st.totals.gifts == 0
    st.expire(now=10.0, timeout=10.0)
    assert st.totals.gifts == 3
    st.apply(gift(count=7, end=True), now=11.0)
    assert st.totals.gifts == 7  # topped up by 4, not 7 again
    st.apply(gift(count=7, end=True), now=12.0)
    assert st.totals.gifts == 7


def test_stream_end_settles_open_streaks():
    st = run([gift(count=2, end=False, coins=5), ev("stream_end", user=None)])
    assert st.totals.coins == 10 and st.status == "ended"


def test_non_streakable_gifts_count_each_event():
    st = run(
        [gift(streakable=False, coins=100, group="x"), gift(streakable=False, coins=100, group="x")]
    )
    assert st.totals.coins == 200 and st.totals.gifts == 2


def test_likes_follows_shares_comments_viewers():
    st = run(
        [
            ev("like", count=15),
            ev("like", count=5, user="u2"),
            ev("follow"),
            ev("follow"),
            ev("follow", user="u2"),
            ev("share"),
            ev("share"),
            ev("comment", text="hi"),
            ev("comment", text="yo"),
            ev("viewers", user=None, viewers=50),
            ev("viewers", user=None, viewers=80, at=gift(secs=-5).occurred_at),  # older
        ]
    )
    t = st.totals
    assert (t.likes, t.follows, t.shares, t.comments) == (20, 2, 2, 2)
    assert st.viewers_current == 50 and st.viewers_peak == 80


def test_ranks_break_ties_by_user_id_and_alerts_carry_rank():
    st = run(
        [
            gift(user="b", coins=5, group="1"),
            gift(user="a", coins=5, group="2"),
            gift(user="c", coins=9, group="3"),
        ]
    )
    assert [g["user_id"] for g in st.top_gifters(10)] == ["c", "a", "b"]
    assert [g["rank"] for g in st.top_gifters(10)] == [1, 2, 3]
    assert {a["user_id"]: a["rank"] for a in st.alerts} == {"c": 1, "a": 2, "b": 3}


def test_goal_counts_from_first_sight_and_reaches_once():
    st = run([gift(coins=10, group="0")])
    st.set_goals([{"goal_id": "g", "metric": "coins", "target": 25, "title": "Mic"}])
    st.alerts.clear()
    st = run([gift(coins=10, group="1"), gift(coins=10, group="2")], state=st)
    assert st.goals["g"].progress == 20 and not st.goals["g"].reached
    st.alerts.clear()
    st = run([gift(coins=10, group="3")], state=st)
    assert st.goals["g"].reached
    assert [a["type"] for a in st.alerts].count("goal_reached") == 1
    st.alerts.clear()
    st = run([gift(coins=10, group="4")], state=st)
    assert "goal_reached" not in [a["type"] for a in st.alerts]


def test_gift_unit_goal_counts_one_gift_only():
    st = StreamState(stream_id="s1")
    st.set_goals([{"goal_id": "roses", "metric": "gift_units", "gift_id": "rose", "target": 3}])
    run(
        [gift(gift_id="rose", count=2, group="a"), gift(gift_id="lion", count=9, group="b")],
        state=st,
    )
    assert st.goals["roses"].progress == 2


def test_flush_takes_pending_deltas_once_and_limits_users():
    st = run([gift(user=f"u{i}", coins=3, group=str(i)) for i in range(5)])
    assert st.flush_due(now=5.0, interval=10.0) is False
    first = st.take_flush(now=100.0, max_users=3)
    assert len(first) == 3 and st.last_flush_at == 0.0  # more left: clock not restarted
    second = st.take_flush(now=101.0, max_users=3)
    assert len(second) == 2 and st.last_flush_at == 101.0
    assert st.take_flush(now=102.0, max_users=3) == []
    boards = first[0].increments
    assert "global.alltime" in boards and boards["global.alltime"] == (3, 1)
    assert sum(i.session_coins for i in first + second) == 15


def test_settlement_periods_follow_creator_timezone():
    st = StreamState(stream_id="s1", creator_id="c1", timezone="Asia/Kathmandu")
    # 20:00 UTC on Sunday 22 Nov is 01:45 Monday 23 Nov in Kathmandu.
    run([gift()], state=st)
    item = st.take_flush(now=0.0, max_users=10)[0]
    assert "creator.c1.daily.2026-11-23" in item.increments
    assert "creator.c1.weekly.2026-11-23" in item.increments
    assert "global.weekly.2026-11-16" in item.increments


def test_state_roundtrips_through_plain_dicts():
    st = run([gift(count=2, end=False), gift(user="u2", coins=7, group="q")])
    st.set_goals([{"goal_id": "g", "metric": "likes", "target": 5}])
    again = StreamState.from_dicts("s1", st.core_dict(), [v.to_dict() for v in st.users.values()])
    assert again.core_dict() == st.core_dict()
    assert {k: v.to_dict() for k, v in again.users.items()} == {
        k: v.to_dict() for k, v in st.users.items()
    }


def test_session_entries_flush_often_and_period_boards_on_their_own_clock():
    st = run([gift(user="a", coins=2, group="1")])
    first = st.take_flush(now=100.0, max_users=10, periods=False)
    assert [(i.user_id, i.session_coins, i.increments) for i in first] == [("a", 2, {})]
    assert st.users["a"].pending  # period deltas wait for their own flush
    assert st.next_flush_at(10.0, 60.0) == st.last_period_flush_at + 60.0
    second = st.take_flush(now=200.0, max_users=10, periods=True)
    assert second[0].increments["global.alltime"] == (2, 1)
    assert not st.pending_flush() and st.next_flush_at(10.0, 60.0) is None


def test_the_period_boards_clock_starts_with_the_first_flush():
    st = run([gift(user="a", coins=2, group="1")])
    assert not st.period_flush_due(now=100.0, interval=300.0)
    first = st.take_flush(now=100.0, max_users=10, periods=False)
    assert first[0].increments == {} and st.users["a"].pending
    assert st.next_flush_at(10.0, 300.0) == 400.0
    assert not st.period_flush_due(now=399.0, interval=300.0)
    assert st.period_flush_due(now=400.0, interval=300.0)
    st.status = "ended"  # a stream's end flushes everything at once
    assert st.period_flush_due(now=101.0, interval=300.0)


def test_a_board_document_is_written_with_the_streams_first_flush_into_it_only():
    st = run([gift(user="a", coins=2, group="1"), gift(user="b", coins=1, group="2")])
    first = st.take_flush(now=100.0, max_users=10)
    boards = {"stream.s1", *first[0].increments}
    assert len(boards) == 7  # the session board and the six period boards
    assert set(first[0].new_boards) == boards and first[1].new_boards == ()
    st = reload(st)  # remembered in the state, as committed with the flush
    run([gift(user="a", coins=5, group="3")], state=st)
    again = st.take_flush(now=200.0, max_users=10)
    assert again[0].increments and again[0].new_boards == ()


def test_a_flush_round_spanning_several_commits_flushes_each_user_once():
    st = run([gift(user=f"u{i}", coins=1, group=str(i)) for i in range(5)])
    first = st.take_flush(now=100.0, max_users=2)
    # u0 gifts again before the round finishes: it waits for the next round.
    run([gift(user="u0", coins=1, group="again")], state=st)
    second = st.take_flush(now=101.0, max_users=2)
    third = st.take_flush(now=102.0, max_users=2)
    flushed = [i.user_id for i in first + second + third]
    assert flushed == ["u0", "u1", "u2", "u3", "u4"] and st.last_flush_at == 102.0
    assert [i.user_id for i in st.take_flush(now=103.0, max_users=2)] == ["u0"]


def reload(st):
    """What the next rollup sees: the state as stored and loaded again."""
    return StreamState.from_dicts("s1", st.core_dict(), [v.to_dict() for v in st.users.values()])


def test_settled_streaks_are_stored_compactly_and_still_decide_later_messages():
    st = run([gift(count=4, end=True, coins=5, group="a"), gift(count=2, end=False, group="b")])
    stored = st.users["u1"].to_dict()
    assert stored["settled"] == {"rose|a": [4, 1, 100.0]}  # units, final seen, last seen
    assert list(stored["streaks"]) == ["rose|b"]  # the open combo is kept whole
    st = reload(st)
    run(
        [gift(count=4, end=True, coins=5, group="a"), gift(count=3, end=False, group="a")], state=st
    )
    assert st.totals.coins == 20  # re-sent final and late intermediate: nothing


def test_an_idle_settled_streak_reloaded_is_topped_up_at_its_own_price():
    st = StreamState(stream_id="s1")
    st.apply(gift(count=3, end=False, coins=5), now=0.0)
    st.expire(now=10.0, timeout=10.0)
    st = reload(st)  # stored as settled: its price is not kept
    st.apply(gift(count=7, end=True, coins=5), now=11.0)
    assert (st.totals.gifts, st.totals.coins) == (7, 35)


def test_prune_keeps_the_newest_settled_streaks_within_retention_and_cap():
    st = StreamState(stream_id="s1")
    for i in range(6):
        st.apply(gift(user=f"u{i % 2}", count=1, end=True, group=f"g{i}"), now=float(i))
    st.apply(gift(count=2, end=False, group="open"), now=0.0)
    st.prune(now=6.0, retention=4.5, cap=3)  # g0 and g1 are too old; g2 is beyond the cap
    kept = {k for v in st.users.values() for k in v.streaks}
    assert kept == {"rose|g3", "rose|g4", "rose|g5", "rose|open"}  # open streaks stay
    assert st.totals.gifts == 6  # forgetting changes no total


def test_a_stream_at_the_settled_cap_fits_in_one_state_document():
    from giftengine.domain.stream import SETTLED_CAP

    st = StreamState(stream_id="s1")
    for i in range(SETTLED_CAP + 500):  # TikTok group ids are ~19 digits
        st.apply(
            gift(user="whale", count=1, end=True, group=str(7_300_000_000_000_000_000 + i)),
            now=1_795_000_000.0 + i / 10,  # ten settled streaks a second
        )
    st.prune(now=1_795_000_000.0 + (SETTLED_CAP + 500) / 10, retention=3600.0)
    stored = st.users["whale"].to_dict()
    assert len(stored["settled"]) == SETTLED_CAP
    # Firestore counts each map key's UTF-8 bytes + 1 and 8 bytes per number; JSON is bigger.
    assert len(json.dumps(stored)) < 700_000  # of the 1 MiB one shard document may hold


def test_joins_likes_comments_and_shares_keep_no_per_user_state():
    crowd = [f"viewer{i}" for i in range(5_000)]
    st = run(
        [ev("join", user=u) for u in crowd]
        + [ev("like", user=u, count=2) for u in crowd[:2_000]]
        + [ev("comment", user=u, text="hi") for u in crowd[:1_000]]
        + [ev("share", user="viewer7"), ev("follow", user="viewer8"), gift(user="viewer9")]
    )
    assert (st.totals.joins, st.totals.likes, st.totals.comments) == (5_000, 4_000, 1_000)
    assert sorted(st.users) == ["viewer8", "viewer9"]  # the follower and the gifter
    share = next(a for a in st.alerts if a["type"] == "share")
    assert (share["user_id"], share["handle"], share["name"]) == ("viewer7", "@viewer7", "VIEWER7")
