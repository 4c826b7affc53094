"""A timed round's reward reaches its winner (domain/rounds.py, domain/rewards.py; decision
093): the reward's points join the winner's loyalty points with the creator
(`points_rewarded`, in the one balance formula) and its badge is counted once per round won,
in the commit that freezes the round, so exactly once under duplicates, re-sent batches,
redeliveries and crashes; banned viewers, the creator and a stream with rewards off get
nothing; `reward_badge` must name `round_winner` or one of the creator's own badges."""

from __future__ import annotations

from datetime import date

import pytest
from giftengine.domain import access, feature_registry
from giftengine.domain import badges as bd
from giftengine.domain.rewards import Rewards
from giftengine.domain.rounds import Rounds
from giftengine.domain.stream import StreamState
from giftengine.service import controls, pipeline, rewards
from giftengine.service.docstore import MemoryStore
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.test_pipeline_service import Leading, make_deps, play
from tests.unit.test_rounds import control

pytestmark = pytest.mark.unit

T0 = factories.T0.timestamp()
ROUNDS = {"length_s": 60, "grace_s": 5, "reward_points": 50, "reward_badge": "round_winner"}


def gift(eid: str, user: str, coins: int, secs: float, source: str = "tiktok"):
    g = factories.gift(user, coins=coins, streakable=False, event_id=eid, group=eid, secs=secs)
    return g.model_copy(update={"source": source}) if source != "tiktok" else g


def granted(w) -> dict:
    """What a round's reward adds to a viewer's counters (their XP aside)."""
    return {
        k: v for k, v in w.increments.items() if k == "points_rewarded" or k.startswith("award_")
    }


def one_round(config: dict, gifts, rounds_cfg=ROUNDS, creator="c1", source="tiktok"):
    """Start, the gifts, then a rollup past the first round's freeze: (side writes, alerts)."""
    s = StreamState("s1", creator_id=creator, source=source)
    s.load_features((Rounds, Rewards), {"rounds": rounds_cfg, "rewards": config})
    s.apply(control("start", 0, "c-start"), T0 + 1)
    for g in gifts:
        s.apply(g, T0 + 30)
    s.finish_batch()
    s.tick_features(T0 + 66)
    return {w.path: w for w in s.side_writes}, s.alerts


def test_the_winner_gets_the_rounds_points_and_badge_in_the_freezing_commit():
    writes, alerts = one_round({}, [gift("g1", "ann", 30, 10), gift("g2", "bob", 20, 20)])
    per = writes["xp/tiktok:ann/creators/c1"]
    assert granted(per) == {"points_rewarded": 50, "award_round_winner": 1}
    assert per.increments["points_earned"] == 31  # its XP written out in the same commit
    ledger = writes["xp/tiktok:ann/creators/c1/round_rewards/s1_1"]
    assert ledger.set["points"] == 50 and ledger.set["round"] == 1 and not ledger.merge
    assert granted(writes["xp/tiktok:bob/creators/c1"]) == {}  # the runner-up: XP only
    badge = [a for a in alerts if a["type"] == "badge"]
    assert badge == [
        {
            "type": "badge",
            "badge": "round_winner",
            "badge_name": "Round winner",
            "user_id": "ann",
            "handle": "@ann",
            "name": "ANN",
            "rank": None,
            "round": 1,
        }
    ]
    assert rewards.points(per.increments)["balance"] == 31 + 50


def test_a_tiktok_stream_whose_first_event_is_the_start_command_pays_the_tiktok_viewer():
    """The start command is an app event; the stream's viewers are still TikTok users."""
    s = StreamState("s1", creator_id="c1")
    s.load_features((Rounds, Rewards), {"rounds": ROUNDS})
    start = control("start", 0, "c-start").model_copy(update={"source": "app"})  # as the API
    s.apply(start, T0 + 1)
    s.apply(gift("g1", "ann", 30, 10), T0 + 30)
    s.finish_batch()
    s.tick_features(T0 + 66)
    writes = {w.path: w for w in s.side_writes}
    assert s.source == "tiktok"
    assert granted(writes["xp/tiktok:ann/creators/c1"]) == {
        "points_rewarded": 50,
        "award_round_winner": 1,
    }
    assert writes["xp/tiktok:ann/creators/c1"].increments["xp_gifts"] == 30
    assert not [p for p in writes if p.startswith("xp/ann")]


def test_a_creators_own_badge_is_awarded_and_shown_by_its_name():
    own = {"id": "champ", "name": "Song-off champ", "metric": "gifts", "at_least": 500}
    cfg = {**ROUNDS, "reward_points": 0, "reward_badge": "champ"}
    writes, alerts = one_round({"badges": [own]}, [gift("g1", "ann", 30, 10)], rounds_cfg=cfg)
    assert granted(writes["xp/tiktok:ann/creators/c1"]) == {"award_champ": 1}
    assert [a["badge_name"] for a in alerts if a["type"] == "badge"] == ["Song-off champ"]
    held = bd.held({"gifts": 1, "award_champ": 2}, date(2026, 12, 4), (bd.Rule(**own),))
    assert {"id": "champ", "name": "Song-off champ", "custom": True, "count": 2} in held


@pytest.mark.parametrize(
    ("rewards_cfg", "winner", "creator", "source"),
    [
        ({"banned": ["ann"]}, "ann", "c1", "tiktok"),  # banned in the stream's chat
        ({"enabled": False}, "ann", "c1", "tiktok"),  # rewards off
        ({}, "c1", "c1", "app"),  # the creator in their own stream
    ],
)
def test_who_the_rewards_feature_would_not_credit_gets_nothing(
    rewards_cfg, winner, creator, source
):
    writes, alerts = one_round(
        rewards_cfg, [gift("g1", winner, 30, 10, source)], creator=creator, source=source
    )
    assert [a["user_id"] for a in alerts if a["type"] == "round_ended"] == [winner]
    assert not [p for p in writes if p.startswith("xp/")]
    assert not [a for a in alerts if a["type"] == "badge"]


def test_the_rewards_feature_runs_after_the_features_whose_alerts_it_reads():
    names = [f.name for f in feature_registry.REGISTRY]
    assert names.index("rewards") > max(
        names.index(n) for n in ("battle", "throne", "rounds", "hype")
    ), names


def test_a_round_without_a_reward_grants_nothing():
    cfg = {**ROUNDS, "reward_points": 0, "reward_badge": None}
    writes, alerts = one_round({}, [gift("g1", "ann", 30, 10)], rounds_cfg=cfg)
    assert granted(writes["xp/tiktok:ann/creators/c1"]) == {}
    assert not [p for p in writes if "/round_rewards/" in p]
    assert [a["reward"] for a in alerts if a["type"] == "round_ended"] == [None]


def test_the_balance_formula_counts_rewarded_points_once():
    doc = {"points_earned": 10, "points_rewarded": 50, "points_spent": 15, "points_staked": 5}
    got = rewards.points(doc)
    assert got["rewarded"] == 50 and got["balance"] == 40


# ---- settings: what reward_badge may name ----------------------------------------------------
def test_reward_badge_must_name_round_winner_or_the_creators_own_badge():
    store = MemoryEventStore()
    fs = controls.MemoryFeatureSettings(store.creators)
    me = access.Actor("c1")
    put = controls.set_feature_settings
    put("c1", "rounds", {"reward_badge": "round_winner"}, me, fs)
    with pytest.raises(controls.Invalid, match="neither 'round_winner' nor one of your badges"):
        put("c1", "rounds", {"reward_badge": "champ"}, me, fs)
    with pytest.raises(controls.Invalid, match="neither .* one of your badges"):
        put("c1", "rounds", {"reward_badge": "throne"}, me, fs)  # a built-in, not a reward
    with pytest.raises(controls.Invalid, match="reward_badge"):
        put("c1", "rounds", {"reward_badge": "<b>"}, me, fs)
    own = {"id": "champ", "name": "Champ", "metric": "gifts", "at_least": 1}
    put("c1", "rewards", {"badges": [own]}, me, fs)
    put("c1", "rounds", {"reward_badge": "champ", "reward_points": 10}, me, fs)
    assert store.creators["c1"]["features"]["rounds"]["reward_badge"] == "champ"
    with pytest.raises(controls.Invalid, match="is the timed rounds' reward_badge"):
        put("c1", "rewards", {"badges": []}, me, fs)  # would orphan the round's badge
    assert store.creators["c1"]["features"]["rewards"]["badges"][0]["id"] == "champ"


# ---- through the pipeline, under any delivery ------------------------------------------------
EDGES = [0, 1, 30, 59, 59.999, 60, 61, 90, 119, 120, 121, 150, 179, 180, 181]


@st.composite
def round_scenarios(draw):
    gifts = [
        gift(f"g{i}", draw(st.sampled_from(["u0", "u1", "u2"])), draw(st.integers(1, 9)), t)
        for i, t in enumerate(draw(st.lists(st.sampled_from(EDGES), min_size=1, max_size=12)))
    ]
    events = [*gifts, control("stop", 180, "c-stop")]
    messages, pos = [], 0
    while pos < len(events):
        size = draw(st.integers(1, 4))
        messages.append(events[pos : pos + size])
        pos += size
    for _ in range(draw(st.integers(0, 3))):  # re-sent with other boundaries
        first = draw(st.integers(0, len(events) - 1))
        messages.append(events[first : draw(st.integers(first + 1, len(events)))])
    for _ in range(draw(st.integers(0, 3))):  # redeliveries
        messages.append(draw(st.sampled_from(messages)))
    start = [control("start", 0, "c-start")]  # the creator starts before the gifts come
    steps = [("deliver", start, None, True)]
    for k in draw(st.permutations(range(len(messages)))):
        steps.append(
            ("deliver", messages[k], draw(st.sampled_from([None, None, "before", "after"])), True)
        )
        if draw(st.booleans()):
            steps.append(("rollup", None, draw(st.sampled_from([None, "before", "after"])), 0))
    ticks = draw(st.lists(st.sampled_from([0.0, 1.0, 5.0, 30.0]), min_size=1, max_size=8))
    return steps, ticks


@settings(max_examples=150, deadline=None)
@given(round_scenarios())
def test_each_frozen_round_pays_its_winner_exactly_once(scenario):
    steps, ticks = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Rounds, Rewards))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        mp.setattr(pipeline, "_ban_cache", pipeline._BanCache())
        leading = Leading()
        mp.setattr(pipeline, "_leading", leading)
        store = MemoryEventStore(lag=1)
        store.creators["s1"] = {"creator_id": "s1", "features": {"rounds": dict(ROUNDS)}}
        deps = make_deps(store)
        deps.clock.t = T0 + 1  # rollups run on the stream's clock: rounds freeze mid-play
        play(deps, leading, steps, ticks)
        deps.clock.t = T0 + 1000  # every round is past its freeze
        for _ in range(10):
            deps.clock.t += 2
            store.clock += store.lag + 1
            pipeline.run_rollup("s1", deps)
    frozen = {p: d for p, d in store.docs.items() if p.startswith("rounds/s1_")}
    won: dict[str, list[int]] = {}
    for d in frozen.values():
        won.setdefault(f"tiktok:{d['winner']['user_id']}", []).append(d["round"])
    paid = {
        p.split("/")[1]: d
        for p, d in store.docs.items()
        if p.startswith("xp/") and p.endswith("/creators/s1") and "points_rewarded" in d
    }
    assert set(paid) == set(won)
    for vid, rounds_won in won.items():
        assert paid[vid]["points_rewarded"] == 50 * len(rounds_won)
        assert paid[vid]["award_round_winner"] == len(rounds_won)
        ledger = {
            int(p.rsplit("_", 1)[1])
            for p in store.docs
            if p.startswith(f"xp/{vid}/creators/s1/round_rewards/")
        }
        assert ledger == set(rounds_won)
    for vid, rounds_won in won.items():  # as the API and the CLI read it
        view = rewards.viewer_view(_docstore(store), vid, "s1", access.Actor(vid))
        assert view["points"]["rewarded"] == 50 * len(rounds_won)
        assert view["points"]["balance"] == paid[vid]["points_earned"] + 50 * len(rounds_won)
        assert {
            "id": "round_winner",
            "name": "Round winner",
            "custom": False,
            "count": len(rounds_won),
        } in view["badges"]


def _docstore(store: MemoryEventStore) -> MemoryStore:
    docs = MemoryStore()
    for path, d in store.docs.items():
        if path.startswith("xp/"):
            docs.set(path, d)
    return docs
