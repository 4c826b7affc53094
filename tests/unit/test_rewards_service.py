"""Badges (domain/badges.py), the creator's rewards settings, moment badges from the
stream's features, and the rewards use cases (service/rewards.py) on the in-memory store:
the viewer view, and redemptions that are idempotent, integer, append-only and never drive
the balance below zero, under concurrent and repeated requests."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from giftengine.domain import access
from giftengine.domain import badges as bd
from giftengine.domain.rewards import Rewards
from giftengine.domain.stream import StreamState
from giftengine.service import rewards
from giftengine.service.docstore import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.unit import factories

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 4)


def test_streak_counts_consecutive_days_ending_today_or_yesterday():
    days = {f"2026-{m:02d}-{d:02d}": True for m, d in [(12, 1), (12, 2), (12, 3)]}
    assert bd.streak(days, TODAY) == 3  # yesterday still counts
    assert bd.streak({**days, "2026-12-04": True}, TODAY) == 4
    assert bd.streak(days, date(2026, 12, 5)) == 0
    assert bd.streak({"2026-11-29": True, **days}, TODAY) == 3


def test_milestone_and_creator_badges_are_held_from_the_counters():
    doc = {"xp": 8_100, "coins": 1_000, "gifts": 3, "award_battle_mvp": 2}
    rule = bd.Rule(id="big_fan", name="Big fan", metric="gifts", at_least=3)
    got = {b["id"]: b for b in bd.held(doc, TODAY, (rule,))}
    assert set(got) == {"first_gift", "supporter", "level_10", "battle_mvp", "big_fan"}
    assert got["battle_mvp"]["count"] == 2 and got["big_fan"]["custom"]
    after_refund = {**doc, "coins": 999, "xp": 8_099}
    assert {b["id"] for b in bd.held(after_refund, TODAY)} == {"first_gift", "battle_mvp"}


@pytest.mark.parametrize(
    "bad",
    [
        {"badges": [{"id": "x", "name": "<b>x</b>", "metric": "gifts", "at_least": 1}]},
        {"badges": [{"id": "x", "name": "X", "metric": "hearts", "at_least": 1}]},
        {"badges": [{"id": "x", "name": "X", "metric": "gifts", "at_least": 0}]},
        {"badges": [{"id": "first_gift", "name": "X", "metric": "gifts", "at_least": 1}]},
        {"rewards": [{"id": "song", "title": "Song", "cost": 1.5}]},
        {"rewards": [{"id": "song", "title": "Song", "cost": -3}]},
        {"rewards": [{"id": "s", "title": "S", "cost": 1}, {"id": "s", "title": "T", "cost": 2}]},
        {"banned": ["u1"]},
    ],
)
def test_creator_settings_are_validated_with_a_reason(bad):
    with pytest.raises((ValidationError, ValueError)):
        Rewards.check_config(bad)


def test_moment_badges_follow_the_streams_alerts_once():
    s = StreamState("s1", creator_id="c1", source="tiktok")
    s.load_features((Rewards,), {})
    s.apply(factories.gift("u1", coins=50, streakable=False, event_id="g1"), 1_000.0)
    s.alerts.append({"type": "battle_ended", "mvp": {"user_id": "u1", "handle": "@u1"}})
    s.alerts.append({"type": "hype_ended", "top": [{"user_id": "u2", "coins": 9}], "level": 1})
    s.apply(factories.ev("stream_end", user=None, event_id="end"), 1_000.0)
    s.tick_features(1_000.0)
    per = next(w for w in s.side_writes if w.path == "xp/tiktok:u1/creators/c1")
    assert per.increments["award_battle_mvp"] == 1 and per.increments["award_top3_stream"] == 1
    assert per.increments["xp_gifts"] == 50
    conductor = next(w for w in s.side_writes if w.path == "xp/tiktok:u2/creators/c1")
    assert conductor.increments == {"award_hype_conductor": 1}
    assert sorted(a["badge"] for a in s.alerts if a["type"] == "badge") == [
        "battle_mvp",
        "hype_conductor",
        "top3_stream",
    ]
    s.side_writes.clear()
    s.alerts.clear()
    s.apply(factories.ev("stream_end", user=None, event_id="end-resent"), 1_001.0)
    s.tick_features(1_001.0)
    assert not s.side_writes and not s.alerts  # top 3 of a stream: once


# ---- service ---------------------------------------------------------------------------------
def _store(points_earned=100, cost=30):
    store = MemoryStore()
    store.set(
        "creators/c1",
        {
            "timezone": "UTC",
            "features": {
                "rewards": Rewards.check_config(
                    {
                        "rewards": [
                            {
                                "id": "song",
                                "title": "Choose the next song",
                                "cost": cost,
                                "needs_note": True,
                            },
                            {"id": "hi", "title": "Shout-out", "cost": 5},
                        ],
                        "badges": [
                            {
                                "id": "regular3",
                                "name": "Three days",
                                "metric": "days",
                                "at_least": 3,
                            }
                        ],
                    }
                )
            },
        },
    )
    store.set("xp/u1", {"xp": 450, "xp_gifts": 400, "xp_likes": 50, "creator_xp": 0})
    store.set(
        "xp/u1/creators/c1",
        {
            "xp": 450,
            "gifts": 2,
            "points_earned": points_earned,
            "days": {"2026-12-02": True, "2026-12-03": True, "2026-12-04": True},
        },
    )
    return store


NOW = 1_796_000_000.0  # 2026-12-01..; timezone UTC


def test_viewer_view_for_the_viewer_and_for_others():
    store = _store()
    now = 1_796_342_400.0  # 2026-12-04T00:00:00Z
    me = rewards.viewer_view(store, "u1", "c1", access.Actor("u1"), now)
    assert me["global"]["level"] == 3 and me["creator"]["xp"] == 450
    assert me["points"] == {
        "earned": 100,
        "rewarded": 0,
        "spent": 0,
        "staked": 0,
        "won": 0,
        "revoked": 0,
        "refunded": 0,
        "balance": 100,
    }
    assert (me["creator"]["days_attended"], me["creator"]["streak"]) == (3, 3)
    assert {b["id"] for b in me["badges"]} == {"first_gift", "regular3"}
    other = rewards.viewer_view(store, "u1", "c1", access.Actor("someone"), now)
    assert "points" not in other and other["badges"] == me["badges"]
    with pytest.raises(rewards.Invalid):
        rewards.viewer_view(store, "a/b", "c1", None, now)


def test_redeem_is_idempotent_refuses_a_short_balance_and_queues_for_the_creator():
    store = _store(points_earned=100, cost=30)
    fan = access.Actor("u1")
    req = rewards.RedeemRequest(request_id="req-00001", note="Song 2")
    entry, created = rewards.redeem(store, fan, "c1", "song", req, NOW)
    assert created and entry["balance_after"] == 70
    again, created = rewards.redeem(store, fan, "c1", "song", req, NOW)
    assert not created and again["redemption_id"] == entry["redemption_id"]
    assert store.get("xp/u1/creators/c1")["points_spent"] == 30
    queue = [d for _, d in store.list("creators/c1/reward_queue")]
    assert [(q["reward_id"], q["note"], q["status"]) for q in queue] == [
        ("song", "Song 2", "queued")
    ]
    with pytest.raises(rewards.Conflict):  # the same request id for another reward
        rewards.redeem(store, fan, "c1", "hi", req, NOW)
    with pytest.raises(rewards.Invalid):  # needs a note
        rewards.redeem(store, fan, "c1", "song", rewards.RedeemRequest(request_id="req-00002"))
    with pytest.raises(rewards.NotFound):
        rewards.redeem(store, fan, "c1", "nope", rewards.RedeemRequest(request_id="req-00003"))
    with pytest.raises(rewards.Conflict, match="costs 30 points; you have 10"):
        for i in range(3):
            rewards.redeem(
                store, fan, "c1", "song", rewards.RedeemRequest(request_id=f"r-more-{i}", note="x")
            )
    with pytest.raises(ValidationError):
        rewards.RedeemRequest(request_id="req-00004", note="<script>")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["song", "hi"])), max_size=14))
def test_concurrent_and_repeated_redemptions_never_overdraw(requests):
    store = _store(points_earned=47, cost=20)
    fan = access.Actor("u1")
    errors: list[Exception] = []

    def one(k: int, reward: str):
        req = rewards.RedeemRequest(request_id=f"req-{k:05d}-{reward}", note="n")
        try:
            rewards.redeem(store, fan, "c1", reward, req, NOW)
        except rewards.Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=r) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger = [d for _, d in store.list("xp/u1/creators/c1/redemptions")]
    spent = store.get("xp/u1/creators/c1").get("points_spent", 0)
    assert spent == sum(d["cost"] for d in ledger) <= 47
    assert len(ledger) <= len(set(requests))  # a repeated request id: one entry
    assert all("points; you have" in str(e) for e in errors)  # refused only when short
    if errors:  # a refusal means the balance left could not pay for that reward
        assert 47 - spent < 20
    assert len({d["redemption_id"] for d in ledger}) == len(ledger)
