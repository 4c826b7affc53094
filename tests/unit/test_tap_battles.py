"""Tap battles (domain/tap_battles.py): team rules, window edges by occurred_at, the freeze,
the membership cap; state round-trips through the stream's documents between rollups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import tap_battles
from giftengine.domain.stream import StreamState
from giftengine.domain.tap_battles import TapBattle, clean_config, hashed_team, team_command
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.factories import T0

pytestmark = pytest.mark.unit

# The start command at T0 - 3 s (starts_in_s 3): the window is [T0, T0 + 60 s).
CMD_AT = T0 - timedelta(seconds=3)
END_S = 60
GRACE = 15


class Harness:
    def __init__(self, config: dict | None = None):
        self.core: dict | None = None
        self.users: list[dict] = []
        self.config = config or {}
        self.alerts: list[dict] = []
        self.view: dict | None = None

    def rollup(self, events, now: float) -> None:
        s = StreamState.from_dicts("s1", self.core, self.users)
        s.load_features((TapBattle,), {"tap_battle": self.config})
        for ev in events:
            s.apply(ev, now)
        s.expire(now, 10.0)
        s.finish_batch()
        s.tick_features(now)
        self.alerts += s.alerts
        self.view = s.live_view(10).get("features", {}).get("tap_battle")
        self.core, self.users = s.core_dict(), [v.to_dict() for v in s.users.values()]


def cmd(action: str, event_id: str, at=CMD_AT, **params):
    return factories.ev(
        "control",
        event_id=event_id,
        user=None,
        at=at,
        control={"feature": "tap_battle", "action": action, "params": params},
    )


def start(event_id="t1"):
    return cmd("start", event_id, tap_battle_id=event_id, duration_s=END_S, starts_in_s=3)


def like(user, secs, n=1, event_id=None):
    return factories.ev(
        "like", user=user, at=T0 + timedelta(seconds=secs), count=n, event_id=event_id
    )


def comment(user, text, secs=0.0):
    return factories.ev("comment", user=user, at=T0 + timedelta(seconds=secs), text=text)


def gift(user, gift_id, coins, secs, event_id):
    return factories.gift(user, gift_id, coins, streakable=False, secs=secs, event_id=event_id)


LIVE = T0.timestamp() + 30
FREEZE = T0.timestamp() + END_S + GRACE
EDGES = [-0.001, 0.0, 30.0, 59.999, 60.0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["like", "gift"]),
            st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
            st.integers(1, 9),
            st.sampled_from(EDGES),
        ),
        max_size=12,
    ),
    st.permutations(range(12)),
    st.integers(0, 12),
    st.integers(1, 3),
    st.integers(1, 3),
)
def test_auto_teams_score_likes_and_gifts_in_the_window_in_any_order(
    acts, perm, late_from, like_points, coin_points
):
    h = Harness({"like_points": like_points, "coin_points": coin_points})
    h.rollup([start()], T0.timestamp() - 3)
    evs = [
        like(u, s, n, f"e{i}") if kind == "like" else gift(u, f"g{i}", n, s, f"e{i}")
        for i, (kind, u, n, s) in enumerate(acts)
    ]
    order = [evs[i] for i in perm if i < len(evs)]
    h.rollup(order[:late_from], LIVE)
    h.rollup([], FREEZE)
    h.rollup(order[late_from:], FREEZE + 1)
    want = {"red": 0, "blue": 0}
    on_time = {e.event_id for e in order[:late_from]}
    for i, (kind, u, n, s) in enumerate(acts):
        if f"e{i}" in on_time and 0 <= s < END_S:
            want[hashed_team("t1", u)] += n * (like_points if kind == "like" else coin_points)
    assert (h.view["red"]["points"], h.view["blue"]["points"]) == (want["red"], want["blue"])
    result = "draw" if want["red"] == want["blue"] else max(want, key=want.get)
    assert h.view["winner"] == result and h.view["frozen"]
    assert [a["winner"] for a in h.alerts if a["type"] == "tap_battle_ended"] == [result]


def test_command_teams_first_choice_sticks_and_unassigned_viewers_score_nothing():
    h = Harness({"team_mode": "command"})
    h.rollup([comment("u0", "!team red", -10)], T0.timestamp() - 10)  # before any battle
    h.rollup([start()], T0.timestamp() - 3)
    h.rollup(
        [
            comment("u1", "  !TEAM Red "),
            comment("u2", "!team blue"),
            comment("u1", "!team blue"),  # too late to switch
            comment("u3", "!team green"),
            like("u1", 1, 5),
            like("u2", 2, 3),
            like("u3", 3, 7),  # no team
            like("u0", 4, 7),  # joined before the battle: no team
        ],
        LIVE,
    )
    h.rollup([], FREEZE)
    assert h.view["red"] == {"points": 5, "likes": 5, "coins": 0, "members": 1}
    assert h.view["blue"] == {"points": 3, "likes": 3, "coins": 0, "members": 1}
    assert h.view["winner"] == "red"


def test_gift_teams_join_with_their_first_team_gift_then_score_everything():
    h = Harness({"team_mode": "gift", "red_gift_id": "rose", "blue_gift_id": "tulip"})
    h.rollup([start()], T0.timestamp() - 3)
    h.rollup(
        [
            like("u1", 1, 4),  # not yet on a team
            gift("u1", "rose", 2, 2, "g1"),
            like("u1", 3, 4),
            gift("u1", "tulip", 5, 4, "g2"),  # stays red
            gift("u2", "tulip", 1, 5, "g3"),
            gift("u3", "lion", 9, 6, "g4"),  # no team gift: no team
        ],
        LIVE,
    )
    h.rollup([], FREEZE)
    assert h.view["red"] == {"points": 11, "likes": 4, "coins": 7, "members": 1}
    assert h.view["blue"]["points"] == 1 and h.view["winner"] == "red"


def test_memberships_are_capped_and_joins_beyond_are_refused(monkeypatch):
    monkeypatch.setattr(tap_battles, "MEMBERS_CAP", 2)
    h = Harness({"team_mode": "command"})
    h.rollup([start()], T0.timestamp() - 3)
    h.rollup([comment(f"u{i}", "!team blue") for i in range(4)] + [like("u3", 1)], LIVE)
    assert h.view["blue"]["members"] == 2 and h.view["refused"] == 2
    assert h.view["blue"]["points"] == 0


def test_stop_ends_the_window_early_and_a_new_battle_starts_fresh():
    h = Harness()
    h.rollup([start()], T0.timestamp() - 3)
    stop_at = T0 + timedelta(seconds=20)
    h.rollup([like("u1", 19.999, 2), cmd("stop", "x1", at=stop_at), like("u1", 20, 5)], LIVE)
    assert h.view["end"] == "2026-11-22T20:00:20Z"
    h.rollup([start("t1")], LIVE + 1)  # the same battle again: nothing
    h.rollup([], T0.timestamp() + 20 + GRACE)
    team = hashed_team("t1", "u1")
    assert h.view[team]["points"] == 2 and h.view["frozen"]
    h.rollup([cmd("start", "t2", at=T0 + timedelta(seconds=100), duration_s=10)], LIVE + 80)
    assert h.view["tap_battle_id"] == "t2" and h.view["red"]["points"] == 0
    assert h.view["start"] == "2026-11-22T20:01:43Z"  # starts_in_s defaults to 3


def test_phases_and_deadlines():
    h = Harness()
    h.rollup([start()], T0.timestamp() - 3)
    assert h.view["phase"] == "upcoming"
    h.rollup([], T0.timestamp())
    assert h.view["phase"] == "live"
    h.rollup([], T0.timestamp() + END_S)
    assert h.view["phase"] == "settling" and not h.view["frozen"]


def test_bad_commands_and_settings_change_nothing():
    h = Harness({"team_mode": "nope", "like_points": -5, "coin_points": "x"})
    h.rollup([cmd("start", "a", duration_s=0), cmd("start", "b", duration_s=10, starts_in_s=99)], 1)
    assert h.view is None
    assert clean_config({"team_mode": "nope", "like_points": -5, "coin_points": True}) == {
        **tap_battles.DEFAULTS,
        "like_points": 0,
    }
    assert team_command("!team red") == "red" and team_command("!team  blue  ") == "blue"
    assert team_command("!team red now") is None and team_command("team red") is None


def test_the_api_checks_commands_and_settings():
    TapBattle.check_control("start", {"tap_battle_id": "t", "duration_s": 30, "starts_in_s": 0})
    TapBattle.check_control("stop", {})
    for action, params in (
        ("start", {"duration_s": 0}),
        ("start", {"duration_s": True}),
        ("start", {"starts_in_s": 61}),
        ("start", {"color": "red"}),
        ("stop", {"now": True}),
        ("reset", {}),
    ):
        with pytest.raises(ValueError):
            TapBattle.check_control(action, params)
    assert TapBattle.check_config({"team_mode": "command"})["team_mode"] == "command"
    for bad in (
        {"team_mode": "nope"},
        {"like_points": -1},
        {"team_mode": "gift", "red_gift_id": "rose"},
        {"colour": 1},
    ):
        with pytest.raises(ValueError):
            TapBattle.check_config(bad)
