"""Battle use cases (service/battles.py) and a battle through the pipeline's service on the
in-memory store: invite, accept (rules fixed, locks, `battle/start` in both streams' logs),
gifts to both streams delivered with duplicates, re-sent finals and batches in any order,
the freeze; both sides of `battles/{id}` and the derived result are exactly the rules'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.access import Actor, Forbidden, StreamOwner
from giftengine.domain.battles import Battle
from giftengine.service import battles, pipeline, streams
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.test_pipeline_service import Leading, deliver, make_deps

pytestmark = pytest.mark.unit

A, B = Actor("alice"), Actor("bob")
CFG = battles.BattleSettings(grace_s=15, start_delay_s=3)


def owners() -> streams.MemoryOwnership:
    o = streams.MemoryOwnership()
    o.owners["sa"] = StreamOwner("sa", "alice")
    o.owners["sb"] = StreamOwner("sb", "bob")
    o.owners["sc"] = StreamOwner("sc", "carol")
    return o


def body(**kw):
    return {
        "stream_id": "sa",
        "opponent_creator_id": "bob",
        "opponent_stream_id": "sb",
        "duration_s": 300,
        "windows": [{"from_s": 270, "to_s": 300, "x": 2}],
        "request_id": "r1",
        **kw,
    }


class World:
    def __init__(self):
        self.store = MemoryEventStore()
        self.deps = make_deps(self.store)
        self.repo = battles.MemoryBattles(self.store.docs)
        self.owners = owners()

    def record(self, events):
        return deliver(self.deps, events, events[0].event_id).outcome == "recorded"

    def accept(self, battle_id, actor=B):
        return battles.accept(
            battle_id, actor, self.repo, self.owners, self.record, self.deps.clock(), CFG
        )

    def drain(self):
        for _ in range(30):
            self.deps.clock.t += 2
            self.store.clock += self.store.lag + 1
            for s in ("sa", "sb"):
                pipeline.run_rollup(s, self.deps)


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(feature_registry, "REGISTRY", (Battle,))
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    monkeypatch.setattr(pipeline, "_leading", Leading())
    return World()


def test_invite_checks_before_it_writes(world):
    w = world
    now = w.deps.clock()
    with pytest.raises(battles.Invalid):
        battles.invite(body(opponent_stream_id="sa"), A, w.repo, w.owners, now)
    with pytest.raises(battles.Invalid, match="window"):
        battles.invite(body(duration_s=60), A, w.repo, w.owners, now)
    with pytest.raises(battles.Invalid):
        battles.invite(body(extra=1), A, w.repo, w.owners, now)
    with pytest.raises(Forbidden):
        battles.invite(body(), B, w.repo, w.owners, now)
    with pytest.raises(streams.NotFound):
        battles.invite(body(opponent_creator_id="carol"), A, w.repo, w.owners, now)
    assert w.store.docs == {}
    doc, created = battles.invite(body(), A, w.repo, w.owners, now)
    again, created2 = battles.invite(body(), A, w.repo, w.owners, now + 1)
    assert created and not created2 and again == doc and doc["status"] == "invited"


def test_only_the_invited_accepts_or_declines_and_only_the_inviter_cancels(world):
    w = world
    doc, _ = battles.invite(body(), A, w.repo, w.owners, w.deps.clock())
    bid = doc["battle_id"]
    with pytest.raises(Forbidden):
        w.accept(bid, A)
    with pytest.raises(Forbidden):
        battles.cancel(bid, B, w.repo, w.owners, w.deps.clock())
    assert battles.decline(bid, B, w.repo, w.owners, w.deps.clock())["status"] == "declined"
    assert battles.decline(bid, B, w.repo, w.owners, w.deps.clock())["status"] == "declined"
    with pytest.raises(battles.Conflict):
        w.accept(bid)
    with pytest.raises(battles.Invalid):
        battles.get("a/b", w.repo)
    with pytest.raises(streams.NotFound):
        battles.get("nope", w.repo)


def test_an_invitation_expires_and_a_stream_is_in_one_battle_at_a_time(world):
    w = world
    doc, _ = battles.invite(body(), A, w.repo, w.owners, w.deps.clock())
    w.accept(doc["battle_id"])
    w.owners.owners["sd"] = StreamOwner("sd", "dave")
    other, _ = battles.invite(
        body(request_id="r2", opponent_creator_id="dave", opponent_stream_id="sd", windows=[]),
        A,
        w.repo,
        w.owners,
        w.deps.clock(),
    )
    with pytest.raises(battles.Conflict, match="is in battle"):
        w.accept(other["battle_id"], Actor("dave"))
    w.deps.clock.t += battles.INVITE_TTL_S + 1
    with pytest.raises(battles.Conflict, match="expired"):
        w.accept(other["battle_id"], Actor("dave"))


def _gift(stream, user, coins, secs, event_id, **kw):
    base = datetime.fromtimestamp(START_TS, UTC)
    return factories.ev(
        "gift",
        stream,
        event_id=event_id,
        user=user,
        at=base + timedelta(seconds=secs),
        gift={
            "id": kw.pop("gift_id", "rose"),
            "name": "Rose",
            "coins": coins,
            "streakable": kw.pop("streakable", False),
        },
        **kw,
    )


START_TS = 1_000_000.0 + 3  # make_deps' clock at the accept, plus the start delay


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(9)), st.lists(st.integers(0, 8), max_size=5), st.integers(0, 9))
def test_a_battle_through_the_pipeline_scores_both_sides_exactly(order, resend, split):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Battle,))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        mp.setattr(pipeline, "_leading", Leading())
        w = World()
        doc, _ = battles.invite(body(), A, w.repo, w.owners, w.deps.clock())
        bid = doc["battle_id"]
        accepted = w.accept(bid)
        assert accepted["start"] == "1970-01-12T13:46:43Z" and accepted["status"] == "accepted"
        w.accept(bid)  # a retry: the same start events, recorded once
        streak = dict(streakable=True, gift_id="lion", group_id="g1")
        msgs = [
            [_gift("sa", "u1", 5, 10, "a1")],
            [_gift("sa", "u2", 3, 280, "a2")],  # x2
            [_gift("sa", "u3", 100, 300, "a3")],  # at the end: outside
            [_gift("sa", "u2", 2, 150, "a4", repeat_count=2, repeat_end=False, **streak)],
            [_gift("sa", "u2", 2, 290, "a5", repeat_count=4, repeat_end=True, **streak)],
            [_gift("sa", "u2", 2, 291, "a6", repeat_count=4, repeat_end=True, **streak)],  # resent
            [_gift("sb", "v1", 7, -0.5, "b1")],  # before the start: outside
            [_gift("sb", "v1", 9, 0, "b2"), _gift("sb", "v2", 9, 1, "b3")],
            [_gift("sb", "v3", 4, 299, "b4")],  # x2
        ]
        for k in [*order[:split], *resend, *order[split:]]:
            deliver(w.deps, msgs[k], f"m{k}")
        w.drain()
        w.deps.clock.t += 400  # past the end + grace: the next rollups freeze both sides
        w.drain()
        deliver(w.deps, [_gift("sb", "v9", 500, 100, "late")], "late")  # after the freeze
        w.drain()
    sides = w.store.docs[f"battles/{bid}"]["sides"]
    # sa: u1 5 + u2 3x2 + the lion streak at its final (290 s, 4 units x 2 coins, x2) = 27
    assert sides["sa"]["score"] == 5 + 6 + 16 and sides["sa"]["coins"] == 5 + 3 + 8
    assert sides["sa"]["mvp"]["user_id"] == "u2" and sides["sa"]["mvp"]["points"] == 22
    # sb: v1 9 + v2 9 + v3 4x2 = 26; v1 and v2 tie at 9: v1's came first
    assert sides["sb"]["score"] == 26 and sides["sb"]["mvp"]["user_id"] == "v1"
    assert sides["sa"]["frozen"] and sides["sb"]["frozen"]
    assert battles.get(bid, w.repo)["result"] == "sa"
    assert w.store.live("sa")["features"]["battle"]["score"] == 27
    assert w.store.live("sb")["features"]["battle"]["opponent_stream_id"] == "sa"
