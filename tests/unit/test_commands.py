"""Command gifts (domain/commands.py): each mapping's params checked against its action's
schema with a reason, runs per settlement by mode, rate limits, chat commands, and exactly the
runs the rules define through the pipeline under redeliveries, batches and crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry
from giftengine.domain.commands import POLL_START, Commands, CommandsConfig, execution_id, runs
from giftengine.domain.features import Job
from giftengine.domain.stream import StreamState
from giftengine.domain.tap_battles import TapBattle
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st
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


# ---- start actions: a poll, a tap battle (decision 077) ---------------------------------------
POLL = {"question": "Next song?", "choices": ["Rock", "Pop"], "duration_s": 60}


@pytest.mark.parametrize(
    "bad, reason",
    [
        (mapping(action="start_poll", params={**POLL, "choices": ["Rock"]}), "at least 2"),
        (
            mapping(action="start_poll", params={**POLL, "choices": [f"c{i}" for i in range(11)]}),
            "at most 10",
        ),
        (mapping(action="start_poll", params={**POLL, "choices": ["Rock", " rock "]}), "distinct"),
        (mapping(action="start_poll", params={**POLL, "duration_s": 5}), "greater than or equal"),
        (mapping(action="start_poll", params={**POLL, "duration_s": 3600}), "less than or equal"),
        (mapping(action="start_poll", params={**POLL, "question": "<b>x</b>"}), "plain text"),
        (mapping(action="start_poll", params={**POLL, "choices": ["a" * 81, "b"]}), "at most 80"),
        (mapping(action="start_poll", params={"choices": ["a", "b"]}), "question"),
        (mapping(action="start_poll", params={**POLL, "gift_weighted": True}), "gift_weighted"),
        (mapping(action="start_tap_battle", params={"duration_s": 0}), "greater than or equal"),
        (mapping(action="start_tap_battle", params={"duration_s": 3601}), "less than or equal"),
        (mapping(action="start_tap_battle", params={"starts_in_s": 61}), "less than or equal"),
        (mapping(action="start_tap_battle", params={"tap_battle_id": "mine"}), "tap_battle_id"),
    ],
)
def test_a_start_action_with_a_forbidden_parameter_is_refused_with_its_reason(bad, reason):
    with pytest.raises(ValidationError, match=reason):
        Commands.check_config({"mappings": [bad]})


def test_start_actions_are_stored_with_their_defaults_and_run_once_per_settlement():
    got = Commands.check_config(
        {
            "mappings": [
                mapping(id="p", action="start_poll", params=POLL, mode="per_unit"),
                mapping(id="t", action="start_tap_battle", params={}, mode="per_threshold",
                        threshold=5),
            ]
        }
    )  # fmt: skip
    assert got["mappings"][0]["params"] == {**POLL, "changeable": False}
    assert got["mappings"][1]["params"] == {"duration_s": 60, "starts_in_s": 3}
    c = CommandsConfig.model_validate(got)
    p, t = c.mappings
    assert [runs(p, 12), runs(t, 12), runs(t, 4)] == [1, 1, 0]


def show(config: dict) -> StreamState:
    s = StreamState("s1", creator_id="c1")
    s.load_features((TapBattle, Commands), {"commands": config})
    return s


def test_a_mapped_gift_starts_a_tap_battle_as_the_creator_would_and_one_at_a_time():
    s = show(
        {
            "mappings": [
                mapping(action="start_tap_battle", params={"duration_s": 30, "starts_in_s": 0})
            ]
        }
    )
    s.apply(factories.gift("u1", streakable=False, event_id="g1"), 0)
    s.apply(factories.gift("u2", streakable=False, event_id="g2", secs=5), 0)
    battle = s.feature("tap_battle").view()
    first = execution_id("s1", "g1", "thanks", 1)
    assert battle["tap_battle_id"] == first
    assert (battle["start"], battle["end"]) == ("2026-11-22T20:00:00Z", "2026-11-22T20:00:30Z")
    started = [a for a in s.alerts if a["type"] == "tap_battle_started"]
    assert [a["tap_battle_id"] for a in started] == [first]
    recent = s.feature("commands").view()["recent"]
    assert [(r["execution_id"], r["result"]) for r in recent] == [
        (first, "started"),
        (execution_id("s1", "g2", "thanks", 1), "refused"),  # one runs: nothing happens
    ]
    assert not [a for a in s.alerts if a["type"] == "action"]  # nothing for the overlay to play
    # After it froze (end + grace), the next mapped gift starts the next one.
    s.feature("tap_battle").tick(s, (factories.T0 + timedelta(seconds=60)).timestamp())
    s.apply(factories.gift("u3", streakable=False, event_id="g3", secs=61), 0)
    assert s.feature("tap_battle").view()["tap_battle_id"] == execution_id("s1", "g3", "thanks", 1)


def test_without_the_tap_battle_feature_the_run_is_unavailable():
    s = streamer({"mappings": [mapping(action="start_tap_battle", params={})]})
    s.apply(factories.gift("u1", streakable=False, event_id="g1"), 0)
    assert s.feature("commands").view()["recent"][0]["result"] == "unavailable"


def test_a_mapped_gift_asks_the_live_polls_for_a_poll_with_a_keyed_request_and_job():
    s = streamer({"mappings": [mapping(action="start_poll", params=POLL, mode="per_unit")]})
    s.apply(factories.gift("u1", count=3, end=False, group="g"), 0)
    assert not s.side_writes and not s.jobs  # not settled yet
    s.apply(factories.gift("u1", count=5, end=True, group="g", event_id="fin", secs=1), 0)
    key = execution_id("s1", "fin", "thanks", 1)
    assert s.jobs == [Job(POLL_START, key)]  # once per settlement, whatever the mode
    [w] = s.side_writes
    assert w.path == f"streams/s1/poll_starts/{key}"
    assert w.set == {
        "execution_id": key, "stream_id": "s1", "creator_id": "c1", "mapping_id": "thanks",
        **POLL, "changeable": False, "user_id": "u1", "handle": "@u1",
        "occurred_at": "2026-11-22T20:00:01Z", "status": "pending",
    }  # fmt: skip
    assert s.feature("commands").view()["recent"][0]["result"] == "requested"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.integers(1, 6), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_execution_ids_are_the_same_for_the_same_runs_whatever_the_replay(gifts, rnd):
    """Each settlement's run has one id; replaying the same events into a fresh state (a
    rollup retried after a crash) gives the same ids, so a consumer keyed by them acts once;
    idle streaks settled by time get ids from the viewer, gift and time."""
    events = []
    for i, (who, n, final) in enumerate(gifts):
        events.append(factories.gift(who, count=n, end=final, group=f"g{i}", event_id=f"e{i}",
                                     secs=i))  # fmt: skip
    config = {"mappings": [mapping(action="start_poll", params=POLL)],
              "viewer_per_minute": 60, "stream_per_minute": 120}  # fmt: skip

    def keys():
        s = streamer(config)
        for e in events:
            s.apply(e, 0)
        s.expire((factories.T0 + timedelta(minutes=10)).timestamp(), 1)  # idle ones settle
        return [j.key for j in s.jobs]

    first = keys()
    assert first == keys()
    assert len(first) == len(set(first)) == len(events)  # each streak settles once, one run
