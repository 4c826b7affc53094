"""The throne, timed rounds and the hype train through the pipeline's service on the in-memory
store (the same batches, re-sent messages, redeliveries and crashes as the pipeline's own
property test): their views and documents count each settled gift exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry, ranking
from giftengine.domain.hype import HypeTrain
from giftengine.domain.rounds import Rounds
from giftengine.domain.throne import Throne
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings

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

T0 = factories.T0.timestamp()


def start_rounds():
    return factories.ev(
        "control",
        user=None,
        event_id="ctl-start",
        at=factories.T0 - timedelta(seconds=1),
        control={"feature": "rounds", "action": "start", "params": {"length_s": 600}},
    )


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_throne_rounds_and_hype_count_each_settled_gift_once(scenario):
    events, steps, lags, ticks = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Throne, Rounds, HypeTrain))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        store = MemoryEventStore(lag=2)
        deps = make_deps(store)
        real, leading = pipeline._leading, Leading()
        pipeline._leading = leading
        try:
            deliver(deps, [start_rounds()], "m-start")
            drain(deps)
            store.lag_next = list(lags)
            play(deps, leading, steps, ticks)
            drain(deps)
            live = store.live("s1")
            deps.clock.t = T0 + 700  # past round 1's end + grace: it freezes
            drain(deps)
        finally:
            pipeline._leading = real
    totals: dict[str, int] = {}
    for e in events:
        if e.kind == "gift":
            totals[e.user.id] = totals.get(e.user.id, 0) + e.gift.coins
    want = sorted(totals.items(), key=lambda kv: ranking.sort_key(kv[1], kv[0]))
    features = live.get("features", {})
    if not want:
        assert "throne" not in features and "rounds/s1_1" not in store.docs
        assert "creators/s1/records/hype" not in store.docs
        return
    holder = features["throne"]["holder"]
    assert (holder["user_id"], holder["coins"]) == want[0]
    board = [(e["user_id"], e["coins"]) for e in features["rounds"]["leaderboard"]]
    assert sorted(board) == sorted(want)  # every gift at T0: ties by user id, as ranked
    doc = store.docs["rounds/s1_1"]
    assert sorted((e["user_id"], e["coins"]) for e in doc["top"]) == sorted(want)
    assert doc["winner"]["coins"] == want[0][1]
    alerts = [a for batch in store._s("s1").alerts for a in batch["items"]]
    assert [a["round"] for a in alerts if a["type"] == "round_ended"] == [1]
    # The hype train (defaults: 3 distinct gifters in 5 minutes): every gift is at T0, so
    # it starts with the third gifter and holds every coin; it ends 300 s after T0.
    trains = [a for a in alerts if a["type"] == "hype_ended"]
    if len(totals) < 3:
        assert trains == [] and "creators/s1/records/hype" not in store.docs
        return
    assert [a["coins"] for a in trains] == [sum(totals.values())]
    record = store.docs["creators/s1/records/hype"]
    assert (record["trains"], record["coins"]) == (1, sum(totals.values()))
