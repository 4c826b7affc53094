"""Command gifts (domain/commands.py): each mapping's params checked against its action's
schema with a reason, runs per settlement by mode, rate limits, chat commands, and exactly the
runs the rules define through the pipeline under redeliveries, batches and crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.commands import Commands, CommandsConfig, runs
from giftengine.domain.stream import StreamState
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from pydantic import ValidationError

from tests.unit import factories
from tests.unit.factories import T0
from tests.unit.test_pipeline_service import (
    Leading,
    drain,
    make_deps,
    play,
    scenarios,
)

pytestmark = pytest.mark.unit


def mapping(**kw):
    base = {
        "id": "thanks",
        "trigger": {"gift_id": "rose"},
        "action": "show_text",
        "params": {"text": "Thank you!"},
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    "bad, reason",
    [
        (mapping(params={"text": "<script>alert(1)</script>"}), "plain text"),
        (mapping(params={"text": "x" * 201}), "at most 200"),
        (mapping(params={"text": "hi", "html": "<b>"}), "html"),
        (mapping(action="play_sound", params={"sound": "https://evil.example/a.mp3"}), "shipped:"),
        (mapping(action="play_sound", params={"sound": "shipped:airhorn"}), "shipped:"),
        (mapping(action="show_image", params={"image": "media:../../etc/passwd.png"}), "image"),
        (mapping(action="theme", params={"theme": "blood"}), "theme"),
        (mapping(action="run_script", params={}), "action"),
        (mapping(trigger={"gift_id": "rose", "command": "!x"}), "exactly one"),
        (mapping(trigger={"command": "!Drop Table"}), "command"),
        (mapping(mode="per_unit", max_per_gift=100), "max_per_gift"),
    ],
)
def test_a_forbidden_parameter_is_refused_with_its_reason(bad, reason):
    with pytest.raises(ValidationError, match=reason):
        Commands.check_config({"mappings": [bad]})


def test_a_valid_mapping_is_stored_with_its_defaults():
    got = Commands.check_config(
        {"mappings": [mapping(), mapping(id="boom", action="effect_3d", params={})]}
    )
    assert got["mappings"][0]["params"] == {"text": "Thank you!", "duration_ms": 4000}
    assert got["mappings"][0]["mode"] == "once"
    assert got["viewer_per_minute"] == 5 and got["stream_per_minute"] == 20
    with pytest.raises(ValidationError, match="unique"):
        Commands.check_config({"mappings": [mapping(), mapping()]})


def test_runs_per_mode():
    c = CommandsConfig.model_validate(
        {
            "mappings": [
                mapping(id="a"),
                mapping(id="b", mode="per_unit", max_per_gift=20),
                mapping(id="c", mode="per_threshold", threshold=5),
                mapping(id="d", mode="per_unit", max_per_gift=3),
            ]
        }
    )
    a, b, cc, d = c.mappings
    assert [runs(m, 12) for m in (a, b, cc, d)] == [1, 12, 2, 3]
    assert runs(cc, 4) == 0


def streamer(config: dict) -> StreamState:
    s = StreamState("s1", creator_id="c1")
    s.load_features((Commands,), {"commands": config})
    return s


def test_rate_limits_per_viewer_and_stream_count_what_they_drop():
    s = streamer({"mappings": [mapping()], "viewer_per_minute": 3, "stream_per_minute": 5})
    for i in range(10):
        who = "u1" if i < 6 else f"v{i}"
        s.apply(factories.gift(who, coins=1, streakable=False, event_id=f"g{i}", secs=i), 0)
    actions = [a for a in s.alerts if a["type"] == "action"]
    assert [a["user_id"] for a in actions] == ["u1", "u1", "u1", "v6", "v7"]
    view = s.feature("commands").view()
    assert view["executed"] == 5 and view["dropped"] == 5
    # A new minute of occurred_at: counts start again.
    s.apply(factories.gift("u1", coins=1, streakable=False, event_id="late", secs=61), 0)
    assert s.feature("commands").view()["executed"] == 6


def test_a_streak_runs_at_its_final_by_units_and_a_chat_command_once():
    s = streamer(
        {
            "mappings": [
                mapping(mode="per_unit", max_per_gift=20),
                mapping(id="wave", trigger={"command": "!wave"}, params={"text": "👋"}),
            ],
            "viewer_per_minute": 60,
        }
    )
    s.apply(factories.gift("u1", count=2, end=False, group="g"), 0)
    assert not [a for a in s.alerts if a["type"] == "action"]  # not settled yet
    s.apply(factories.gift("u1", count=4, end=True, group="g", secs=1), 0)
    s.apply(factories.ev("comment", text="  !WAVE ", at=T0 + timedelta(seconds=2)), 0)
    s.apply(factories.ev("comment", text="say !wave", at=T0 + timedelta(seconds=3)), 0)
    got = [(a["mapping_id"], a["n"]) for a in s.alerts if a["type"] == "action"]
    assert got == [("thanks", 1), ("thanks", 2), ("thanks", 3), ("thanks", 4), ("wave", 1)]


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_through_the_pipeline_each_settled_gift_runs_its_mapping_once(scenario):
    events, steps, lags, ticks = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Commands,))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        store = MemoryEventStore(lag=2)
        store.creators["s1"] = {
            "features": {
                "commands": Commands.check_config(
                    {
                        "mappings": [mapping(mode="per_unit", max_per_gift=20)],
                        "viewer_per_minute": 60,
                        "stream_per_minute": 120,
                    }
                )
            }
        }
        store.lag_next = list(lags)
        deps = make_deps(store)
        real, leading = pipeline._leading, Leading()
        pipeline._leading = leading
        try:
            play(deps, leading, steps, ticks)
            drain(deps)
        finally:
            pipeline._leading = real
    ran = [
        a["event_id"]
        for batch in store._s("s1").alerts
        for a in batch["items"]
        if a["type"] == "action"
    ]
    assert sorted(ran) == sorted(e.event_id for e in events if e.kind == "gift")
