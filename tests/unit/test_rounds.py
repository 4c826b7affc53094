"""Timed rounds' rules (domain/rounds.py, docs/engagement.md "Timed rounds"): whatever the
order and batching of the settlements, each round's leaderboard and winner are what the
written rule gives: settled coins by `occurred_at` in the round's window, counted when the
rollup that applies them comes before the round's freeze (end + grace), nothing after."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from giftengine.domain.features import path_segment
from giftengine.domain.rounds import MAX_GIFTERS, Rounds, rank
from giftengine.domain.stream import StreamState
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories

pytestmark = pytest.mark.unit

T0 = factories.T0.timestamp()
L, GRACE = 60, 15
CONFIG = {"length_s": L, "grace_s": GRACE, "reward_points": 50}


def persisted(s: StreamState) -> StreamState:
    core = json.loads(json.dumps(s.core_dict()))
    users = json.loads(json.dumps([v.to_dict() for v in s.users.values()]))
    return StreamState.from_dicts(s.stream_id, core, users)


def rollup(s: StreamState, events, now: float, config=CONFIG):
    """One rollup as domain/rollup.py runs it: load, apply, tick; the state comes back as
    stored. Returns (state, alerts, side writes, view)."""
    s.load_features((Rounds,), {"rounds": config})
    for e in events:
        s.apply(e, now)
    s.finish_batch()
    s.tick_features(now)
    alerts = [a for a in s.alerts if a["type"].startswith("round")]
    side = list(s.side_writes)
    view = s.live_view(10).get("features", {}).get("rounds")
    return persisted(s), alerts, side, view


def control(action: str, secs: float, eid: str, **params):
    return factories.ev(
        "control",
        user=None,
        event_id=eid,
        at=factories.T0 + timedelta(seconds=secs),
        control={"feature": "rounds", "action": action, "params": params},
    )


def gift(i: int, user: str, coins: int, secs: float):
    return factories.gift(user, coins=coins, streakable=False, event_id=f"g{i}", secs=secs)


@settings(max_examples=250, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(1, 5),
            # around each edge: just before / at / after 0, 60, 120, 180 (the stop)
            st.sampled_from([-1, 0, 1, 30, 59, 59.999, 60, 61, 119, 120, 121, 179, 180, 181]),
        ),
        max_size=20,
    ),
    st.randoms(use_true_random=False),
    st.lists(st.integers(0, 40), min_size=1, max_size=6),
)
def test_each_round_has_exactly_the_winner_the_rule_gives(gifts, rnd, gaps):
    events = [gift(i, u, c, t) for i, (u, c, t) in enumerate(gifts)]
    rnd.shuffle(events)
    s, out = StreamState("s1"), []
    s, *_ = rollup(s, [control("start", 0, "c1"), control("stop", 180, "c2")], 1.0 + T0)
    now, previous = T0 + 1, {}
    chunks = [events[j :: len(gaps)] for j in range(len(gaps))]  # reordered batches
    for chunk, gap in zip(chunks, gaps, strict=True):
        for e in chunk:
            previous[e.event_id] = now  # the rollup before the one that applies it
        now += gap * 3  # rollups at increasing times, some past a freeze
        s, alerts, side, _ = rollup(s, chunk, now)
        out.append((alerts, side))
    s, alerts, side, view = rollup(s, [], T0 + 1000)
    out.append((alerts, side))

    # The model: round k = [60(k-1), 60k) for k = 1..3 (stopped at 180); a gift counts unless
    # a rollup before the one that applied it ran at or after the round's end + 15 s (the
    # freeze; what the freezing rollup applies counts first).
    expected: dict[int, dict[str, list]] = {}
    for e in events:
        t = e.occurred_at.timestamp() - T0
        if not 0 <= t < 180:
            continue
        k = int(t // 60) + 1
        if previous[e.event_id] - T0 >= 60 * k + GRACE:
            continue  # frozen before it arrived: counts nowhere
        entry = expected.setdefault(k, {}).setdefault(e.user.id, [0, t + T0, "", ""])
        entry[0] += e.gift.coins
        entry[1] = max(entry[1], t + T0)
    docs = {w.path: w.set for _, side in out for w in side}
    ended = [a for alerts, _ in out for a in alerts if a["type"] == "round_ended"]
    assert sorted(a["round"] for a in ended) == sorted(expected)
    for k, board in expected.items():
        doc = docs[f"rounds/s1_{k}"]
        want = [(uid, e[0]) for uid, e in rank(board)]
        assert [(g["user_id"], g["coins"]) for g in doc["top"]] == want[:10]
        assert doc["winner"]["user_id"] == want[0][0]
        assert doc["reward"] == {"points": 50, "badge": None}
    assert view == {"status": "idle", "last": view["last"]} if expected else view is None
    assert "run" not in s.features.get("rounds", {}) or s.features["rounds"]["run"] is None


def test_rounds_follow_one_another_and_numbers_continue_across_runs():
    s = StreamState("s1")
    s, alerts, _, view = rollup(s, [control("start", 0, "c1")], T0 + 1)
    assert alerts[0]["type"] == "rounds_started" and view["round"] == 1
    assert view["ends_at_ts"] == T0 + 60 and view["leaderboard"] == []
    s, _, _, view = rollup(s, [gift(1, "a", 5, 10), gift(2, "b", 7, 20)], T0 + 30)
    assert [(e["user_id"], e["coins"], e["rank"]) for e in view["leaderboard"]] == [
        ("b", 7, 1),
        ("a", 5, 2),
    ]
    s, _, _, view = rollup(s, [gift(3, "a", 3, 65)], T0 + 70)  # round 2 shows; 1 not final
    assert view["round"] == 2 and view["leaderboard"][0]["user_id"] == "a"
    s, alerts, side, _ = rollup(s, [gift(4, "a", 9, 59)], T0 + 74.9)  # in time for round 1
    assert not alerts
    s, alerts, side, view = rollup(s, [gift(5, "c", 99, 59)], T0 + 75)  # applied, then frozen
    assert [(a["type"], a["round"], a["user_id"], a["coins"]) for a in alerts] == [
        ("round_ended", 1, "c", 99)
    ]
    assert side[0].path == "rounds/s1_1" and side[0].set["top"][1]["user_id"] == "a"
    s, alerts, side, _ = rollup(s, [gift(6, "b", 500, 30)], T0 + 80)  # late: counts nowhere
    assert not alerts and not side
    # Round 3 has no gift: no output. Stop at 150 s cuts round 3.
    s, alerts, _, view = rollup(s, [control("stop", 150, "c2"), gift(7, "b", 1, 151)], T0 + 151)
    assert [a["round"] for a in alerts] == [2]  # 120 + 15 <= 151: round 2 freezes
    assert view["status"] == "stopping" and view["round"] == 3 and view["ends_at_ts"] == T0 + 150
    s, alerts, side, view = rollup(s, [], T0 + 300)
    assert alerts == [] and view["status"] == "idle" and view["last"]["round"] == 2
    s, alerts, _, view = rollup(s, [control("start", 400, "c3", rounds=1, length_s=120)], T0 + 401)
    assert alerts[0]["round"] == 4 and view["round"] == 4 and view["ends_at_ts"] == T0 + 520
    s, _, _, view = rollup(s, [control("start", 402, "c4")], T0 + 402)  # running: ignored
    assert view["run_started_at"].startswith("2026-11-22T20:06:40")
    s, alerts, _, view = rollup(s, [gift(8, "a", 2, 500)], T0 + 600)
    assert [a["round"] for a in alerts] == [4] and view["last"]["round"] == 4


def test_ties_go_to_who_reached_the_total_first_then_the_user_id():
    s = StreamState("s1")
    s, *_ = rollup(s, [control("start", 0, "c1")], T0)
    s, *_ = rollup(s, [gift(2, "a", 5, 20), gift(1, "b", 5, 10), gift(3, "c", 5, 20)], T0 + 30)
    s, _, side, _ = rollup(s, [], T0 + 100)
    assert [g["user_id"] for g in side[0].set["top"]] == ["b", "a", "c"]


def test_the_board_is_capped():
    s = StreamState("s1")
    s, *_ = rollup(s, [control("start", 0, "c1")], T0)
    gifts = [gift(i, f"u{i:05d}", 1 + (i % 7), 1) for i in range(MAX_GIFTERS + 50)]
    s, _, _, view = rollup(s, gifts, T0 + 2)
    assert len(s.features["rounds"]["boards"]["1"]) == MAX_GIFTERS
    assert len(view["leaderboard"]) == 10 and view["leaderboard"][0]["coins"] == 7


def test_commands_and_settings_are_checked():
    Rounds.check_control("start", {"length_s": 600, "rounds": 3})
    Rounds.check_control("stop", {})
    for action, params in [
        ("start", {"length_s": 10}),
        ("start", {"length_s": True}),
        ("start", {"colour": "red"}),
        ("stop", {"now": 1}),
        ("pause", {}),
    ]:
        with pytest.raises(ValueError):
            Rounds.check_control(action, params)
    assert Rounds.check_config({}) == {
        "length_s": 600,
        "grace_s": 15,
        "reward_points": 0,
        "reward_badge": None,
    }
    with pytest.raises(ValueError):
        Rounds.check_config({"length_s": 5})
    assert path_segment("s1") == "s1" and path_segment("a b/c").startswith("h")


def test_at_most_three_rounds_are_scored_at_once():
    s = StreamState("s1")
    s, *_ = rollup(s, [control("start", 0, "c1")], T0)
    far = [gift(1, "a", 1, 10), gift(2, "b", 1, 70), gift(3, "c", 1, 130), gift(4, "d", 1, 190)]
    s, *_ = rollup(s, far, T0 + 11)
    assert sorted(s.features["rounds"]["boards"]) == ["1", "2", "3"]  # round 4's gift: dropped
    s, *_ = rollup(s, [gift(5, "e", 1, 1)], T0 + 12)
    assert sorted(s.features["rounds"]["boards"]["1"]) == ["a", "e"]
