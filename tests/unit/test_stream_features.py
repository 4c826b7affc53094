"""The stream-feature hook (domain/features.py): a feature's state, view, alerts and side
writes follow the rollup's exactly-once application of events, through the pipeline's
service on the in-memory store, under the same batches, redeliveries and crashes as the
pipeline's own property test. The feature here is a small test reducer; the real ones
(battles, rounds, XP, ...) have their own rule tests."""

from __future__ import annotations

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.events import EngagementEvent
from giftengine.domain.features import Feature, Settled, SideWrite
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from pydantic import ValidationError

from tests.unit import factories
from tests.unit.test_pipeline_service import (
    Leading,
    deliver,
    drain,
    make_deps,
    play,
    scenarios,
)

pytestmark = pytest.mark.unit


class Tally(Feature):
    """Settled coins (times the creator's `multiplier`), likes, and `bump` commands; ends
    once at the creator's `ends_at`, with an alert."""

    name = "tally"

    def __init__(self):
        self.coins = self.likes = self.bumps = 0
        self.ended = False
        self.multiplier, self.ends_at = 1, None

    def load(self, d):
        self.coins, self.likes = d.get("coins", 0), d.get("likes", 0)
        self.bumps, self.ended = d.get("bumps", 0), d.get("ended", False)

    def to_dict(self):
        return {"coins": self.coins, "likes": self.likes, "bumps": self.bumps, "ended": self.ended}

    def configure(self, config):
        config = config or {}
        self.multiplier, self.ends_at = config.get("multiplier", 1), config.get("ends_at")

    def on_event(self, st, ev: EngagementEvent):
        if ev.kind == "like":
            self.likes += ev.count
        elif ev.kind == "control" and ev.control.feature == self.name:
            self.bumps += int(ev.control.params.get("by", 1))

    def on_settled(self, st, s: Settled):
        if self.ended:
            return
        self.coins += s.coins * self.multiplier
        st.side_writes.append(
            SideWrite(f"tallies/{st.stream_id}", increments={"coins": s.coins * self.multiplier})
        )

    def tick(self, st, now):
        if self.ends_at is not None and not self.ended and now >= self.ends_at:
            self.ended = True
            st.alerts.append({"type": "tally_ended", "coins": self.coins})

    def next_deadline(self):
        return None if self.ended or self.ends_at is None else self.ends_at

    def view(self):
        return self.to_dict() if self.coins or self.likes or self.bumps else None


@pytest.fixture
def with_tally(monkeypatch):
    monkeypatch.setattr(feature_registry, "REGISTRY", (Tally,))
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    real, pipeline._leading = pipeline._leading, Leading()
    yield pipeline._leading
    pipeline._leading = real


def control(event_id: str, by: int, stream: str = "s1") -> EngagementEvent:
    return factories.ev(
        "control",
        stream,
        event_id=event_id,
        user=None,
        control={"feature": "tally", "action": "bump", "params": {"by": by}},
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_feature_state_and_side_writes_count_each_event_once(scenario):
    events, steps, lags, ticks = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Tally,))
        store = MemoryEventStore(lag=2)
        store.lag_next = list(lags)
        deps = make_deps(store)
        real, leading = pipeline._leading, Leading()
        pipeline._leading = leading
        try:
            play(deps, leading, steps, ticks)
            drain(deps)
        finally:
            pipeline._leading = real
    coins = sum(e.gift.coins for e in events if e.kind == "gift")
    likes = sum(e.count for e in events if e.kind == "like")
    view = (store.live("s1") or {}).get("features", {}).get("tally", {})
    assert view.get("coins", 0) == coins and view.get("likes", 0) == likes
    assert store.docs.get("tallies/s1", {}).get("coins", 0) == coins


def test_control_events_config_and_timers_reach_the_feature(with_tally):
    store = MemoryEventStore()
    deps = make_deps(store)
    t0 = deps.clock.t
    store.creators["s1"] = {"features": {"tally": {"multiplier": 3, "ends_at": t0 + 1000}}}
    with_tally.next = True
    deliver(deps, [factories.gift("u1", coins=5, streakable=False, event_id="g1")], "m1")
    deliver(deps, [control("c1", 4)], "m2")
    deliver(deps, [control("c1", 4)], "m3")  # the same command again: applied once
    drain(deps)
    live = store.live("s1")
    assert live["features"]["tally"] == {"coins": 15, "likes": 0, "bumps": 4, "ended": False}
    # The timer: a follow-up is asked for at the deadline (once the period boards' flush,
    # due earlier, is done), and the rollup then ends it once.
    deps.clock.t += deps.settings.period_flush_interval_s
    pipeline.run_rollup("s1", deps)
    assert any(at == t0 + 1000 for _, at in deps.scheduler.calls)
    deps.clock.t = t0 + 1001
    pipeline.run_rollup("s1", deps)
    pipeline.run_rollup("s1", deps)
    ended = [a for batch in store._s("s1").alerts for a in batch["items"]]
    assert [a for a in ended if a["type"] == "tally_ended"] == [
        {"type": "tally_ended", "coins": 15}
    ]
    assert store.live("s1")["features"]["tally"]["ended"] is True
    deliver(deps, [factories.gift("u1", coins=7, streakable=False, event_id="g2")], "m4")
    drain(deps)
    assert store.docs["tallies/s1"]["coins"] == 15  # the feature's rule: nothing after its end


def test_a_stream_without_features_keeps_its_documents_as_before(monkeypatch):
    monkeypatch.setattr(feature_registry, "REGISTRY", ())
    store = MemoryEventStore()
    deps = make_deps(store)
    deliver(deps, [factories.gift("u1", coins=5, streakable=False, event_id="g1")])
    drain(deps)
    assert "features" not in store.live("s1")
    assert "features" not in store._s("s1").core
    assert store.docs == {}


def test_a_control_event_needs_its_command_and_only_it_carries_one():
    with pytest.raises(ValidationError, match="control"):
        factories.ev("control", event_id="c", user=None)
    with pytest.raises(ValidationError, match="control"):
        factories.ev("like", event_id="l", control={"feature": "x", "action": "y"})
    with pytest.raises(ValidationError):
        factories.ev("control", user=None, control={"feature": "Bad Name", "action": "y"})
    with pytest.raises(ValidationError):
        factories.ev("control", user=None, control={"feature": "x", "action": "y", "extra": 1})
    with pytest.raises(ValidationError):  # nested values are not accepted: flat params only
        factories.ev(
            "control", user=None, control={"feature": "x", "action": "y", "params": {"a": [1]}}
        )


def test_a_side_write_path_must_name_a_document():
    for bad in ("tallies", "a/b/c", "a//b", "../x", "a/.."):
        with pytest.raises(ValueError):
            SideWrite(bad)
    with pytest.raises(ValueError):
        SideWrite("a/b", increments={"n": 1.5})
    assert SideWrite("a/b/c/d", increments={"n": 2}).path == "a/b/c/d"


def test_a_deadline_with_slack_is_asked_for_on_its_grid_and_one_without_exactly(
    with_tally, monkeypatch
):
    store = MemoryEventStore()
    deps = make_deps(store)
    t0 = deps.clock.t  # a multiple of 5
    store.creators["s1"] = {"features": {"tally": {"ends_at": t0 + 1001.2}}}
    deliver(deps, [factories.gift("u1", coins=5, streakable=False, event_id="g1")], "m1")
    deps.clock.t += deps.settings.period_flush_interval_s
    pipeline.run_rollup("s1", deps)
    assert deps.scheduler.calls[-1][1] == t0 + 1001.2
    # With 5 s of slack, the commits of gifts moving the deadline ask for one time, the
    # next multiple of 5 s: one follow-up task, passed by the first rollup after it.
    monkeypatch.setattr(Tally, "deadline_slack", 5.0)
    deps.clock.t += 1
    pipeline.run_rollup("s1", deps)
    assert deps.scheduler.calls[-1][1] == t0 + 1005
    deps.clock.t = t0 + 1003
    pipeline.run_rollup("s1", deps)  # an event's rollup after the deadline ends it
    assert store.live("s1")["features"]["tally"]["ended"] is True
