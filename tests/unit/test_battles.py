"""Creator-vs-creator battles (domain/battles.py): the written rules, over the stream's own
streak settlement, under reordering, re-sent finals, late intermediates, window edges and
late arrivals after the freeze; state round-trips through the stream's documents between
rollups."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from giftengine.domain import battles
from giftengine.domain.battles import Battle, BattleRules, Window, mvp_key, winner
from giftengine.domain.events import utc_iso
from giftengine.domain.stream import StreamState
from giftengine.service.memory import _merge
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.unit import factories
from tests.unit.factories import T0

pytestmark = pytest.mark.unit

START = T0
END = T0 + timedelta(seconds=300)
GRACE = 15
IDLE = 10.0
LIVE = END.timestamp() + 10  # processing clock of the batches before the freeze
FREEZE = END.timestamp() + GRACE


def rules(battle_id="b1", **kw) -> BattleRules:
    return BattleRules(
        battle_id=battle_id,
        start=kw.pop("start", START),
        end=kw.pop("end", END),
        grace_s=kw.pop("grace_s", GRACE),
        opponent_stream_id="s2",
        opponent_creator_id="c2",
        windows=kw.pop("windows", [Window(from_s=270, to_s=300, x=2)]),
    )


def start_cmd(r: BattleRules, event_id="start-b1", secs=-3.0):
    return factories.ev(
        "control",
        event_id=event_id,
        user=None,
        at=T0 + timedelta(seconds=secs),
        control={"feature": "battle", "action": "start", "params": r.params()},
    )


class Harness:
    """Rollups of one stream: state saved and loaded between them (the adapter's dicts),
    side writes merged into documents as Firestore merges them."""

    def __init__(self, cap: int | None = None):
        self.core: dict | None = None
        self.users: list[dict] = []
        self.docs: dict[str, dict] = defaultdict(dict)
        self.alerts: list[dict] = []
        self.view: dict | None = None

    def rollup(self, events, now: float) -> StreamState:
        s = StreamState.from_dicts("s1", self.core, self.users)
        s.creator_id = s.creator_id or "c1"
        s.load_features((Battle,), {})
        for ev in events:
            s.apply(ev, now)
        s.expire(now, IDLE)
        s.finish_batch()
        s.tick_features(now)
        for w in s.side_writes:
            _merge(self.docs[w.path], w.set)
        self.alerts += s.alerts
        self.view = s.live_view(10).get("features", {}).get("battle")
        self.core, self.users = s.core_dict(), [v.to_dict() for v in s.users.values()]
        return s


EDGES = [-5.0, -0.001, 0.0, 0.001, 150.0, 269.999, 270.0, 299.999, 300.0, 300.001, 310.0]


def expected_points(at_s: float) -> int:
    if not 0 <= at_s < 300:
        return 0
    return 2 if at_s >= 270 else 1


@st.composite
def battle_gifts(draw):
    """Gifts around the window edges: one-offs and streaks (intermediates, a final, maybe a
    re-sent final under a new event id), delivered in any order, some after the freeze."""
    units = []  # (user, coins, at_s, messages)
    for i in range(draw(st.integers(1, 9))):
        user = draw(st.sampled_from(["u1", "u2", "u3"]))
        coins = draw(st.integers(1, 5))
        at = draw(st.sampled_from(EDGES))
        if draw(st.booleans()):
            msgs = [
                factories.gift(user, f"g{i}", coins, streakable=False, secs=at, event_id=f"o{i}")
            ]
            units.append((user, coins, at, msgs))
            continue
        k = draw(st.integers(2, 4))
        msgs = [
            factories.gift(
                user,
                f"g{i}",
                coins,
                count=c,
                end=False,
                group=f"s{i}",
                secs=at - (k - c) * 0.5,
                event_id=f"s{i}-{c}",
            )
            for c in range(1, k)
        ]
        final = dict(count=k, end=True, group=f"s{i}", secs=at)
        msgs.append(factories.gift(user, f"g{i}", coins, event_id=f"s{i}-f", **final))
        if draw(st.booleans()):  # TikTok re-sends the final under a new message id
            msgs.append(factories.gift(user, f"g{i}", coins, event_id=f"s{i}-r", **final))
        units.append((user, coins * k, at, msgs))
    messages = [m for u in units for m in u[3]]
    order = draw(st.permutations(messages))
    late_from = draw(st.integers(0, len(order)))  # applied after the side froze
    cuts = sorted(set(draw(st.lists(st.integers(0, late_from), max_size=4))))
    return units, order, late_from, cuts


@settings(max_examples=300, deadline=None)
@given(battle_gifts())
def test_a_side_scores_exactly_the_settlements_its_rules_count(case):
    units, order, late_from, cuts = case
    h = Harness()
    r = rules()
    h.rollup([start_cmd(r)], START.timestamp() - 3)
    on_time, late = order[:late_from], order[late_from:]
    bounds = [0, *cuts, len(on_time)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        h.rollup(on_time[a:b], LIVE)
    h.rollup([], FREEZE)
    h.rollup(late, FREEZE + 1)
    h.rollup([], FREEZE + 60)  # idle streaks of late messages settle: frozen, nothing counts

    applied = {m.event_id for m in on_time}
    points: dict[str, int] = defaultdict(int)
    last: dict[str, str] = {}
    coins = 0
    for user, unit_coins, at, msgs in units:
        settling = [m for m in msgs if m.repeat_end]
        if not any(m.event_id in applied for m in settling) or not expected_points(at):
            continue
        points[user] += unit_coins * expected_points(at)
        coins += unit_coins
        last[user] = max(last.get(user, ""), utc_iso(T0 + timedelta(seconds=at)))
    score = sum(points.values())
    mvp = min(points, key=lambda u: mvp_key(u, points[u], last[u])) if points else None

    side = h.docs["battles/b1"]["sides"]["s1"]
    assert (side["score"], side["coins"], side["frozen"], side["phase"]) == (
        score,
        coins,
        True,
        "final",
    )
    assert (side["mvp"] or {}).get("user_id") == mvp
    if mvp:
        assert side["mvp"] == {
            "user_id": mvp,
            "handle": f"@{mvp}",
            "name": mvp.upper(),
            "points": points[mvp],
        }
    assert h.view["score"] == score and h.view["mvp"] == side["mvp"]
    ended = [a for a in h.alerts if a["type"] == "battle_ended"]
    assert ended == [
        {"type": "battle_ended", "battle_id": "b1", "score": score, "mvp": side["mvp"]}
    ]


def test_window_edges_and_multiplier_edges():
    h = Harness()
    h.rollup([start_cmd(rules())], START.timestamp() - 3)
    secs = {"u1": -0.001, "u2": 0.0, "u3": 269.999, "u4": 270.0, "u5": 299.999, "u6": 300.0}
    h.rollup(
        [
            factories.gift(u, f"g-{u}", 10, streakable=False, secs=s, event_id=f"e-{u}")
            for u, s in secs.items()
        ],
        LIVE,
    )
    h.rollup([], FREEZE)
    assert h.docs["battles/b1"]["sides"]["s1"]["score"] == 10 + 10 + 20 + 20
    assert h.view["mvp"]["user_id"] == "u4"  # 20 points each: u4's came first (270 s)


def test_a_streak_still_running_at_the_end_counts_if_it_idles_out_inside_the_window():
    h = Harness()
    h.rollup([start_cmd(rules())], START.timestamp() - 3)
    a = dict(count=3, end=False, group="a", streakable=True)
    b = dict(count=5, end=False, group="b", streakable=True)
    h.rollup(
        [
            factories.gift("u1", "rose", 2, secs=298, event_id="a3", **a),  # idles out inside
            factories.gift("u2", "rose", 3, secs=299, event_id="b5", **b),
        ],
        END.timestamp() - 1,
    )
    # u2's streak goes on past the end: its last message (and the final) are outside.
    h.rollup(
        [factories.gift("u2", "rose", 3, secs=301, count=6, end=False, group="b", event_id="b6")],
        END.timestamp() + 1,
    )
    h.rollup([], END.timestamp() + 9.5)  # u1's idles out (10 s after its last message)
    h.rollup(
        [factories.gift("u1", "rose", 2, secs=302, count=4, group="a", event_id="a4")],
        END.timestamp() + 10,
    )  # u1's final tops up after the end: the top-up does not count
    h.rollup([], FREEZE)
    side = h.docs["battles/b1"]["sides"]["s1"]
    assert side["score"] == 3 * 2 * 2 and side["mvp"]["user_id"] == "u1"


def test_late_settlements_after_the_freeze_change_nothing():
    h = Harness()
    h.rollup([start_cmd(rules())], START.timestamp() - 3)
    h.rollup([factories.gift("u1", "g", 5, streakable=False, secs=10, event_id="x")], LIVE)
    h.rollup([], FREEZE)
    before = dict(h.docs["battles/b1"])
    h.rollup([factories.gift("u2", "g", 99, streakable=False, secs=20, event_id="y")], FREEZE + 1)
    assert h.docs["battles/b1"] == before and h.view["score"] == 5 and h.view["frozen"]


def test_phases_follow_the_clock_and_ask_for_their_rollups():
    h = Harness()
    s = h.rollup([start_cmd(rules())], START.timestamp() - 3)
    assert (
        h.view["phase"] == "upcoming" and s.feature("battle").next_deadline() == START.timestamp()
    )
    s = h.rollup([], START.timestamp())
    assert h.view["phase"] == "live" and s.feature("battle").next_deadline() == END.timestamp()
    s = h.rollup([], END.timestamp())
    assert h.view["phase"] == "settling" and s.feature("battle").next_deadline() == FREEZE
    s = h.rollup([], FREEZE)
    assert h.view["phase"] == "final" and s.feature("battle").next_deadline() is None
    assert [p for p in h.docs["battles/b1"]["sides"]["s1"] if p == "phase"]
    assert h.docs["battles/b1"]["sides"]["s1"]["creator_id"] == "c1"


def test_a_second_start_is_ignored_until_the_battle_froze_and_a_battle_never_restarts():
    h = Harness()
    h.rollup([start_cmd(rules())], START.timestamp() - 3)
    other = rules("b2")
    h.rollup([start_cmd(other, "start-b2")], START.timestamp() + 1)
    assert h.view["battle_id"] == "b1" and "battles/b2" not in h.docs
    h.rollup([factories.gift("u1", "g", 5, streakable=False, secs=10, event_id="x")], LIVE)
    h.rollup([], FREEZE)
    h.rollup([start_cmd(rules(), "start-b1-again")], FREEZE + 1)  # b1 again: ignored
    assert h.view["battle_id"] == "b1" and h.view["score"] == 5
    later = rules(
        "b3", start=END + timedelta(seconds=60), end=END + timedelta(seconds=120), windows=[]
    )
    h.rollup([start_cmd(later, "start-b3", secs=350)], FREEZE + 2)
    assert h.view["battle_id"] == "b3" and h.view["score"] == 0 and h.view["mvp"] is None
    assert h.docs["battles/b1"]["sides"]["s1"]["score"] == 5  # b1's document keeps its result


def test_contributors_are_capped_by_dropping_the_last_ranked(monkeypatch):
    monkeypatch.setattr(battles, "CONTRIBUTORS_CAP", 2)
    h = Harness()
    h.rollup([start_cmd(rules())], START.timestamp() - 3)
    gifts = [("u1", 5, 1), ("u2", 3, 2), ("u3", 4, 3), ("u2", 9, 4)]
    h.rollup(
        [
            factories.gift(u, f"g{i}", c, streakable=False, secs=s, event_id=f"e{i}")
            for i, (u, c, s) in enumerate(gifts)
        ],
        LIVE,
    )
    h.rollup([], FREEZE)
    contributors = h.core["features"]["battle"]["current"]["contributors"]
    # u2 (3) was dropped for u3; u2's 9 then dropped u3 (4): u2 counts from its new gift.
    assert {u: p for u, (p, _) in contributors.items()} == {"u1": 5, "u2": 9}
    assert h.view["score"] == 21 and h.view["mvp"]["user_id"] == "u2"


def test_mvp_ties_go_to_who_reached_the_total_first_then_the_smaller_user_id():
    assert min(["b", "a"], key=lambda u: mvp_key(u, 5, "2026-01-01T00:00:01Z")) == "a"
    keys = {"a": (5, "2026-01-01T00:00:02Z"), "b": (5, "2026-01-01T00:00:01Z")}
    assert min(keys, key=lambda u: mvp_key(u, *keys[u])) == "b"
    assert (
        min({"a": (4, "0"), "b": (5, "9")}.items(), key=lambda kv: mvp_key(kv[0], *kv[1]))[0] == "b"
    )


def test_the_result_needs_both_sides_frozen():
    a, b = {"score": 5, "frozen": True}, {"score": 7, "frozen": True}
    assert winner({"s1": a, "s2": b}) == "s2"
    assert winner({"s1": a, "s2": {**b, "score": 5}}) == "draw"
    assert winner({"s1": a, "s2": {**b, "frozen": False}}) is None
    assert winner({"s1": a}) is None


def test_rules_round_trip_through_flat_params_and_reject_bad_windows():
    r = rules(windows=[Window(from_s=0, to_s=10, x=3), Window(from_s=5, to_s=300, x=2)])
    assert BattleRules.from_params(r.params()) == r
    assert r.multiplier(START + timedelta(seconds=7)) == 3  # overlap: the largest
    with pytest.raises(ValidationError):
        rules(windows=[Window(from_s=250, to_s=301, x=2)])
    with pytest.raises(ValidationError):
        Window(from_s=10, to_s=10, x=2)
    with pytest.raises(ValidationError):
        rules(end=START)
    with pytest.raises(ValidationError):
        rules(windows=[Window(from_s=0, to_s=1, x=2)] * 4)
