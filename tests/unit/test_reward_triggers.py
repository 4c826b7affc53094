"""Points rewards as command triggers (issue 21; decision 095), the pure rules: the
`{reward_id}` trigger checked like the others and against the creator's rewards; the
creator's current stream from the live pointer (domain/live_pointer.py); a redemption's
`control` event runs its mappings once, under the rate limits, and a republished or
redelivered one runs nothing again (domain/commands.py, through the pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from giftengine.domain import access, feature_registry
from giftengine.domain.commands import (
    REDEEM,
    Commands,
    redemption_event,
    redemption_event_id,
    reward_mapped,
)
from giftengine.domain.live_pointer import current_stream, newest_first
from giftengine.domain.rewards import Rewards
from giftengine.domain.stream import StreamState
from giftengine.service import controls, pipeline
from giftengine.service.memory import MemoryEventStore
from pydantic import ValidationError

from tests.unit import factories
from tests.unit.factories import T0
from tests.unit.test_pipeline_service import deliver, drain, make_deps

pytestmark = pytest.mark.unit

NOW = 1_796_000_000.0
SONG = {"id": "song", "title": "Choose the next song", "cost": 30}
HI = {"id": "hi", "title": "Shout-out", "cost": 5}


def mapping(**kw):
    base = {
        "id": "thanks",
        "trigger": {"reward_id": "song"},
        "action": "show_text",
        "params": {"text": "Song request!"},
    }
    return {**base, **kw}


# ---- the trigger --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, reason",
    [
        (mapping(trigger={"reward_id": "song", "gift_id": "rose"}), "exactly one"),
        (mapping(trigger={"reward_id": "song", "command": "!x"}), "exactly one"),
        (mapping(trigger={}), "exactly one"),
        (mapping(trigger={"reward_id": "Song Request"}), "reward_id"),
        (mapping(trigger={"reward_id": "a/b"}), "reward_id"),
        (mapping(trigger={"reward_id": 7}), "reward_id"),
        (mapping(mode="per_unit"), "once per redemption"),
        (mapping(mode="per_threshold", threshold=2), "once per redemption"),
    ],
)
def test_a_bad_reward_trigger_is_refused_with_its_reason(bad, reason):
    with pytest.raises(ValidationError, match=reason):
        Commands.check_config({"mappings": [bad]})


def test_a_reward_trigger_must_name_one_of_the_creators_rewards_and_that_reward_stays():
    config = Commands.check_config({"mappings": [mapping()]})
    assert config["mappings"][0]["trigger"] == {"reward_id": "song"}
    rewards_cfg = Rewards.check_config({"rewards": [SONG, HI]})
    Commands.check_config_with(config, {"rewards": rewards_cfg})
    for features in ({}, {"rewards": Rewards.check_config({"rewards": [HI]})}):
        with pytest.raises(ValueError, match="no points reward 'song'"):
            Commands.check_config_with(config, features)
    # Removing the reward while a mapping names it is refused; keeping it is not.
    with pytest.raises(ValueError, match="triggers the command mapping 'thanks'"):
        Rewards.check_config_with(Rewards.check_config({"rewards": [HI]}), {"commands": config})
    Rewards.check_config_with(rewards_cfg, {"commands": config})
    assert reward_mapped({"commands": config}, "song")
    assert not reward_mapped({"commands": config}, "hi") and not reward_mapped(None, "song")


def test_the_settings_route_checks_the_reward_against_the_creators_rewards():
    settings = controls.MemoryFeatureSettings({})
    creator = access.Actor("c1")
    with pytest.raises(controls.Invalid, match="no points reward 'song'"):
        controls.set_feature_settings(
            "c1", "commands", {"mappings": [mapping()]}, creator, settings
        )
    controls.set_feature_settings("c1", "rewards", {"rewards": [SONG]}, creator, settings)
    got = controls.set_feature_settings(
        "c1", "commands", {"mappings": [mapping()]}, creator, settings
    )
    assert got["settings"]["mappings"][0]["trigger"] == {"reward_id": "song"}
    with pytest.raises(controls.Invalid, match="triggers the command mapping"):
        controls.set_feature_settings("c1", "rewards", {"rewards": [HI]}, creator, settings)


def test_the_creators_controls_route_cannot_forge_a_redemption():
    with pytest.raises(ValueError, match="no action 'redeem'"):
        Commands.check_control(REDEEM, {"reward_id": "song", "redemption_id": "0" * 32})


# ---- the creator's current stream (the overlay's rule, decision 063) -----------------------
def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def pointer(*entries):
    return {"streams": {sid: {"stream_id": sid, "since": at(since)} for sid, since in entries}}


def test_the_current_stream_is_the_newest_entry_that_is_neither_ended_silent_nor_missing():
    p = pointer(("old", NOW - 7200), ("new", NOW - 60), ("mid", NOW - 3600))
    assert newest_first(p) == ["new", "mid", "old"]
    live = {"status": "live", "updated_at": at(NOW - 5)}
    assert current_stream(p, {"new": live, "mid": live, "old": live}, NOW) == "new"
    ended = {**live, "status": "ended"}
    assert current_stream(p, {"new": ended, "mid": live, "old": live}, NOW) == "mid"
    silent = {"status": "live", "updated_at": at(NOW - 3 * 3600)}
    assert current_stream(p, {"new": silent, "mid": ended, "old": live}, NOW) == "old"
    assert current_stream(p, {"new": None, "mid": None, "old": None}, NOW) is None
    # A document not written yet counts within 20 s of its entry (the first event comes next).
    fresh = pointer(("s1", NOW - 5))
    assert current_stream(fresh, {"s1": None}, NOW) == "s1"
    assert current_stream(fresh, {"s1": None}, NOW + 60) is None
    assert current_stream(None, {}, NOW) is None and newest_first({"streams": {}}) == []
    assert len(newest_first(pointer(*[(f"s{i}", NOW - i) for i in range(6)]))) == 3


# ---- the feature: a redemption's control runs its mappings once ----------------------------
def redeemed(rid: str, user: str = "u1", reward: str = "song", secs: float = 0, stream="s1"):
    return redemption_event(
        stream, "c1", user, user.upper(), reward, rid, T0 + timedelta(seconds=secs)
    )


def streamer(config: dict) -> StreamState:
    s = StreamState("s1", creator_id="c1")
    s.load_features((Commands,), {"commands": Commands.check_config(config)})
    return s


def actions(s: StreamState) -> list[dict]:
    return [a for a in s.alerts if a["type"] == "action"]


def test_a_redemption_runs_the_mappings_naming_its_reward_once_each():
    s = streamer(
        {
            "mappings": [
                mapping(),
                mapping(id="chime", action="play_sound", params={"sound": "shipped:chime"}),
                mapping(id="hello", trigger={"reward_id": "hi"}),
                mapping(id="rose", trigger={"gift_id": "song"}),  # a gift id, not the reward
            ],
        }
    )
    s.apply(redeemed("r" * 32), 0)
    got = actions(s)
    assert [(a["mapping_id"], a["action"], a["n"]) for a in got] == [
        ("thanks", "show_text", 1),
        ("chime", "play_sound", 1),
    ]
    a = got[0]
    assert a["params"] == {"text": "Song request!", "duration_ms": 4000}
    assert (a["user_id"], a["name"], a["reward_id"], a["redemption_id"]) == (
        "u1",
        "U1",
        "song",
        "r" * 32,
    )
    assert a["event_id"] == redemption_event_id("c1", "r" * 32)
    view = s.feature("commands").view()
    assert view["executed"] == 2 and view["recent"][-1]["mapping_id"] == "chime"
    # Another feature's control, or a comment naming the reward, runs nothing.
    s.alerts.clear()
    s.apply(factories.ev("comment", text="song", at=T0), 0)
    assert actions(s) == []


def test_redemptions_share_the_rate_limits_with_gifts_and_commands():
    s = streamer(
        {
            "mappings": [mapping(), mapping(id="wave", trigger={"command": "!wave"})],
            "viewer_per_minute": 2,
            "stream_per_minute": 3,
        }
    )
    s.apply(factories.ev("comment", text="!wave", user="u1", at=T0), 0)
    s.apply(redeemed("a" * 32, "u1", secs=1), 0)
    s.apply(redeemed("b" * 32, "u1", secs=2), 0)  # u1's third run this minute: dropped
    s.apply(redeemed("c" * 32, "u2", secs=3), 0)
    s.apply(redeemed("d" * 32, "u3", secs=4), 0)  # the stream's fourth: dropped
    assert [(a["mapping_id"], a["user_id"]) for a in actions(s)] == [
        ("wave", "u1"),
        ("thanks", "u1"),
        ("thanks", "u2"),
    ]
    view = s.feature("commands").view()
    assert view["executed"] == 3 and view["dropped"] == 2
    s.apply(redeemed("e" * 32, "u1", secs=61), 0)  # a new minute
    assert actions(s)[-1]["redemption_id"] == "e" * 32


def test_a_redemption_applied_after_the_streams_end_runs_nothing():
    s = streamer({"mappings": [mapping()]})
    s.apply(factories.ev("stream_end", user=None, at=T0), 0)
    s.apply(redeemed("f" * 32, secs=1), 0)
    assert actions(s) == [] and s.feature("commands").view() is None


def test_through_the_pipeline_a_redemption_published_again_runs_once(monkeypatch):
    """The outbox may publish a redemption's event more than once (a retried request, the
    job): the pipeline records it once by its id, and the mapping runs once."""
    monkeypatch.setattr(feature_registry, "REGISTRY", (Commands,))
    monkeypatch.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
    store = MemoryEventStore()
    store.creators["c1"] = {
        "features": {"commands": Commands.check_config({"mappings": [mapping()]})}
    }
    deps = make_deps(store)
    first, second = redeemed("1" * 32), redeemed("2" * 32, "u2", secs=1)
    for i, ev in enumerate((first, first, second, first)):  # each publish a new message
        deliver(deps, [ev], message_id=f"m{i}")
        drain(deps)
    deliver(deps, [first], message_id="m0")  # a redelivered message
    drain(deps)
    ran = [
        a["redemption_id"]
        for batch in store._s("s1").alerts
        for a in batch["items"]
        if a["type"] == "action"
    ]
    assert ran == ["1" * 32, "2" * 32]


def test_the_viewers_name_is_plain_text_or_a_stand_in():
    ev = redemption_event("s1", "c1", "uid-12345678", "  <b>\x07Bea</b> ", "song", "r" * 32, T0)
    assert ev.user.name == "bBea/b"
    assert redemption_event("s1", "c1", "uid-12345678", "", "song", "r" * 32, T0).user.name == (
        "user-uid-12"
    )
