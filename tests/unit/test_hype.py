"""The hype train's rules (domain/hype.py, docs/engagement.md "Hype train"): contributions
applied in `occurred_at` order `settle_s` behind the rollup's clock, so any delivery order
and batching within that delay gives the train the written rule defines: its start, levels,
countdown resets, end, cooldown and the creator's record."""

from __future__ import annotations

import json

import pytest
from giftengine.domain.hype import HypeConfig, HypeTrain, level_of
from giftengine.domain.rounds import iso
from giftengine.domain.stream import StreamState
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories

pytestmark = pytest.mark.unit

T0 = factories.T0.timestamp()
CFG = {
    "min_viewers": 2,
    "window_s": 20,
    "countdown_s": 15,
    "thresholds": [10, 20, 40],
    "cooldown_s": 30,
    "settle_s": 5,
}


def persisted(s: StreamState) -> StreamState:
    core = json.loads(json.dumps(s.core_dict()))
    users = json.loads(json.dumps([v.to_dict() for v in s.users.values()]))
    return StreamState.from_dicts(s.stream_id, core, users)


def rollup(s: StreamState, events, now: float, config=CFG):
    s.load_features((HypeTrain,), {"hype": config})
    for e in events:
        s.apply(e, now)
    s.finish_batch()
    s.tick_features(now)
    alerts = [a for a in s.alerts if a["type"].startswith("hype")]
    side, view = list(s.side_writes), s.live_view(10).get("features", {}).get("hype")
    return persisted(s), alerts, side, view


def gift(i: int, user: str, coins: int, secs: float):
    return factories.gift(user, coins=coins, streakable=False, event_id=f"g{i:03d}", secs=secs)


def model(contribs, cfg=CFG):
    """The written rule, directly: contributions (t, event_id, user, coins) in order."""
    trains, train, recent, cooldown = [], None, [], 0.0
    for t, _, uid, coins in sorted(contribs):
        if train and t >= train["end"]:
            trains.append(train)
            cooldown, train = train["end"] + cfg["cooldown_s"], None
        if train:
            train["coins"] += coins
            train["end"] = t + cfg["countdown_s"]
            continue
        if t < cooldown:
            continue
        recent = [r for r in recent if r[0] > t - cfg["window_s"]] + [(t, uid, coins)]
        if len({r[1] for r in recent}) >= cfg["min_viewers"]:
            train = {"start": t, "end": t + cfg["countdown_s"], "coins": sum(r[2] for r in recent)}
            recent = []
    return trains + ([train] if train else [])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(1, 9), st.integers(0, 120)), max_size=25
    ),
    st.randoms(use_true_random=False),
)
def test_any_order_within_the_settle_delay_gives_the_rule_s_trains(gifts, rnd):
    events = [gift(i, u, c, t) for i, (u, c, t) in enumerate(gifts)]
    # Each event is applied by one of the rollups (every 2 s) in [t, t + settle]; in a
    # rollup, in any order.
    times = [T0 + k * 2 for k in range(0, 70)]
    batches: dict[float, list] = {}
    for e in events:
        t = e.occurred_at.timestamp()
        batches.setdefault(rnd.choice([x for x in times if t <= x <= t + 5]), []).append(e)
    s, alerts, docs = StreamState("s1"), [], {}
    for now in times + [T0 + 1000]:
        batch = batches.get(now, [])
        rnd.shuffle(batch)
        s, a, side, _ = rollup(s, batch, now)
        alerts += a
        for w in side:
            docs[w.path] = {**docs.get(w.path, {}), **w.set}
            for k, v in w.increments.items():
                docs[w.path][k] = docs[w.path].get(k, 0) + v
    want = model([(e.occurred_at.timestamp(), e.event_id, e.user.id, e.gift.coins) for e in events])
    ended = [a for a in alerts if a["type"] == "hype_ended"]
    assert [(a["coins"], a["level"]) for a in ended] == [
        (w["coins"], level_of(w["coins"], CFG["thresholds"])) for w in want
    ]
    for w, a in zip(want, ended, strict=True):
        doc = docs[f"creators/s1/hype_trains/s1_{a['train']}"]
        assert doc["started_at"] == iso(w["start"]) and doc["ended_at"] == iso(w["end"])
    levels = [a for a in alerts if a["type"] == "hype_level"]
    assert len(levels) == sum(level_of(w["coins"], CFG["thresholds"]) - 1 for w in want)
    if want:
        rec = docs["creators/s1/records/hype"]
        assert rec["trains"] == len(want) and rec["coins"] == sum(w["coins"] for w in want)


def test_a_train_starts_levels_resets_its_countdown_and_cools_down():
    s = StreamState("s1")
    s, alerts, _, view = rollup(s, [gift(1, "a", 4, 0)], T0 + 1)
    assert view is None and alerts == []  # one viewer; and not yet past the settle delay
    s, alerts, _, view = rollup(s, [gift(2, "b", 3, 10)], T0 + 15)
    assert [a["type"] for a in alerts] == ["hype_started"]
    assert (view["level"], view["coins"], view["next_at"]) == (1, 7, 10)
    assert view["ends_at_ts"] == T0 + 25 and view["contributors"] == 2
    s, alerts, _, view = rollup(s, [gift(3, "a", 30, 20)], T0 + 26)
    assert [(a["type"], a["level"]) for a in alerts] == [("hype_level", 2), ("hype_level", 3)]
    assert view["ends_at_ts"] == T0 + 35 and view["level_from"] == 20 and view["next_at"] == 40
    s, alerts, side, view = rollup(s, [], T0 + 40)  # 35 + 5: the countdown ran out
    assert [a["type"] for a in alerts] == ["hype_ended"] and alerts[0]["coins"] == 37
    assert view["active"] is False and view["last"]["level"] == 3
    assert {w.path for w in side} == {"creators/s1/hype_trains/s1_1", "creators/s1/records/hype"}
    rec = next(w for w in side if w.path.endswith("records/hype"))
    assert rec.increments == {"trains": 1, "coins": 37, "level_3_trains": 1}
    # Cooldown until 35 + 30 = 65: two viewers at 50 and 55 start nothing; at 66, 70 they do.
    s, alerts, *_ = rollup(s, [gift(4, "a", 1, 50), gift(5, "b", 1, 55)], T0 + 60)
    assert alerts == []
    s, alerts, *_ = rollup(s, [gift(6, "a", 1, 66), gift(7, "b", 1, 70)], T0 + 80)
    assert [a["type"] for a in alerts] == ["hype_started"]


def test_a_late_contribution_counts_at_the_watermark():
    s = StreamState("s1")
    s, *_ = rollup(s, [gift(1, "a", 1, 0), gift(2, "b", 1, 1)], T0 + 10)
    s, alerts, _, view = rollup(s, [], T0 + 21)  # ends at 16: ended at the watermark 16
    assert [a["type"] for a in alerts] == ["hype_ended"]
    s, alerts, _, view = rollup(s, [gift(3, "c", 50, 12)], T0 + 22)  # occurred in it, late
    assert alerts == [] and view["last"]["coins"] == 2  # the ended train does not change


def test_likes_contribute_only_when_the_setting_says_so():
    likes = [factories.ev("like", user=u, event_id=f"l{u}", count=5) for u in "ab"]
    s, alerts, *_ = rollup(StreamState("s1"), likes, T0 + 10)
    assert alerts == []
    cfg = {**CFG, "trigger": "gifts_and_likes"}
    s, alerts, _, view = rollup(StreamState("s1"), likes, T0 + 10, cfg)
    assert [a["type"] for a in alerts] == ["hype_started"] and view["coins"] == 0


def test_settings_are_checked():
    assert HypeTrain.check_config({})["thresholds"] == [500, 1500, 3000, 6000, 10000]
    for bad in (
        {"thresholds": [10, 10]},
        {"thresholds": []},
        {"min_viewers": 0},
        {"trigger": "follows"},
        {"speed": 1},
    ):
        with pytest.raises(ValueError):
            HypeTrain.check_config(bad)
    assert HypeConfig(enabled=False).enabled is False
    disabled = {**CFG, "enabled": False}
    _, alerts, _, view = rollup(
        StreamState("s1"), [gift(1, "a", 5, 0), gift(2, "b", 5, 0)], T0 + 9, disabled
    )
    assert alerts == [] and view is None


def test_a_quiet_stream_s_gift_asks_for_no_extra_rollup():
    s = StreamState("s1")
    s.load_features((HypeTrain,), {"hype": CFG})  # min_viewers 2
    s.apply(gift(1, "a", 5, 0), T0)
    s.tick_features(T0)
    assert s.feature("hype").next_deadline() is None  # one viewer cannot start a train
    s.apply(gift(2, "b", 5, 1), T0 + 1)
    s.tick_features(T0 + 1)
    assert s.feature("hype").next_deadline() == T0 + 5  # two can: the watermark passes at 5
