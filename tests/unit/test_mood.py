"""The mood layer's rules (domain/mood.py): weights, decay by event time whatever the
order, hysteresis, the return to calm by a timer, the timeline's side writes, settings
validation, and the same vector through the pipeline under redeliveries and crashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry, mood
from giftengine.domain.mood import ENTER, LEAVE, Mood, comment_moods
from giftengine.domain.stream import StreamState
from giftengine.service import pipeline
from giftengine.service.memory import MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

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
NOW = T0.timestamp()


def state() -> StreamState:
    s = StreamState("s1", creator_id="c1")
    s.load_features((Mood,), None)
    return s


def like(n: int, secs: float, i: int = 0):
    return factories.ev("like", event_id=f"l{i}", count=n, at=T0 + timedelta(seconds=secs))


def comment(text: str, secs: float, i: int = 0):
    return factories.ev("comment", event_id=f"c{i}", text=text, at=T0 + timedelta(seconds=secs))


def apply(s: StreamState, events, now: float) -> Mood:
    for e in events:
        s.apply(e, now)
    s.expire(now, 10.0)
    s.tick_features(now)
    return s.feature("mood")


def test_a_comment_counts_once_per_mood_by_emoji_and_whole_words():
    assert comment_moods("😂😂😂😂 lol") == ["laugh"]
    assert comment_moods("I love this 🔥") == ["hype", "love"]  # in MOODS order
    assert comment_moods("glove lollipop") == []  # whole words only
    assert comment_moods("") == []


@st.composite
def reactions(draw):
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        secs = draw(st.integers(0, 120))
        kind = draw(st.sampled_from(["like", "comment", "gift", "follow"]))
        if kind == "like":
            out.append(like(draw(st.integers(1, 300)), secs, i))
        elif kind == "comment":
            out.append(
                comment(draw(st.sampled_from(["lol", "❤️", "gg 🔥", "chill", "hi"])), secs, i)
            )
        elif kind == "gift":
            out.append(
                factories.gift(
                    f"u{i}",
                    coins=draw(st.integers(1, 3000)),
                    streakable=False,
                    secs=secs,
                    event_id=f"g{i}",
                )
            )
        else:
            out.append(
                factories.ev(
                    "follow", event_id=f"f{i}", user=f"u{i}", at=T0 + timedelta(seconds=secs)
                )
            )
    return out, draw(st.permutations(range(n)))


@settings(max_examples=200, deadline=None)
@given(reactions())
def test_the_vector_and_the_named_mood_do_not_depend_on_the_order_applied(case):
    events, order = case
    a = apply(state(), events, NOW + 121)
    b = apply(state(), [events[k] for k in order], NOW + 121)
    for m in mood.MOODS:
        assert a.scores[m] == pytest.approx(b.scores[m], rel=1e-9, abs=1e-9)
    assert a.current == b.current


def test_weights_and_decay_by_event_time():
    s = state()
    m = apply(s, [like(40, 0)], NOW)
    assert m.scores["love"] == 40 and m.current == "love"
    m = apply(s, [comment("lol", 20, 1)], NOW + 20)  # one half-life later
    assert m.scores["love"] == pytest.approx(20.0)
    assert m.scores["laugh"] == pytest.approx(5.0)
    # A late like (occurred 20 s before the clock) counts with the decay it would have had.
    m = apply(s, [like(10, 0, 2)], NOW + 20)
    assert m.scores["love"] == pytest.approx(25.0)


def app_like(n: int, secs: float, reaction: str | None, i: int = 0):
    return factories.ev(
        "like",
        event_id=f"r{i}",
        count=n,
        source="app",
        reaction=reaction,
        at=T0 + timedelta(seconds=secs),
    )


@pytest.mark.parametrize(
    ("reaction", "moved"),
    [("laugh", "laugh"), ("hype", "hype"), ("love", "love"), ("like", "love"), (None, "love")],
)
def test_an_app_reaction_adds_to_the_mood_it_names_and_a_plain_like_to_love(reaction, moved):
    """An app's laugh, hype or love button adds its count (at most 100) to that mood; the
    like button and TikTok likes (no reaction) add to love."""
    m = apply(state(), [app_like(40, 0, reaction), app_like(500, 0, reaction, 1)], NOW)
    assert m.scores == {**dict.fromkeys(mood.MOODS, 0.0), moved: 140.0}
    assert m.current == moved


def test_a_tiktok_like_still_adds_to_love():
    m = apply(state(), [like(40, 0)], NOW)
    assert m.scores["love"] == 40 and m.scores["laugh"] == m.scores["hype"] == 0


def test_hysteresis_keeps_the_mood_until_leave_or_a_clear_winner():
    s = state()
    m = apply(s, [like(35, 0)], NOW)
    assert m.current == "love"
    # Love decays to 17.5 (above LEAVE): it stays, though laugh (10) is close below ENTER.
    m = apply(s, [comment("lol", 20, 1), comment("haha", 20, 2)], NOW + 20)
    assert m.current == "love" and m.scores["love"] > LEAVE
    # Laugh well past ENTER and 1.5x love: it takes over.
    m = apply(s, [comment("lol", 20, i) for i in range(3, 10)], NOW + 20)
    assert m.scores["laugh"] >= max(ENTER, 1.5 * m.scores["love"])
    assert m.current == "laugh"


def test_a_decaying_mood_returns_to_calm_at_its_deadline_with_no_event():
    s = state()
    m = apply(s, [like(100, 0)], NOW)
    deadline = s.next_deadline(10.0)
    assert deadline == pytest.approx(NOW + 20 * 2.7369655941662, abs=0.01)  # log2(100/15)
    m = apply(s, [], deadline - 0.5)
    assert m.current == "love"
    m = apply(s, [], deadline)
    assert m.current == "calm" and s.next_deadline(10.0) is None


def test_the_view_holds_the_scores_of_the_last_event_until_the_named_mood_changes():
    """A rollup that only moves the clock (a flush, another feature's timer) leaves the
    view as it was, so it does not rewrite the live document; the view says when its scores
    stood (`at`) and the half-life, for a client to decay them. The deadline's rollup that
    names calm changes it, with the scores as of then."""
    s = state()
    apply(s, [like(100, 0)], NOW)
    first = s.feature("mood").view()
    assert first["scores"]["love"] == 100 and first["mood"] == "love"
    assert first["at"] == "2026-11-22T20:00:00Z"  # T0, the like's time
    assert first["half_life_s"] == mood.DEFAULT_HALF_LIFE_S
    deadline = s.next_deadline(10.0)
    for t in (NOW + 5, NOW + 20, deadline - 0.5):
        apply(s, [], t)
        assert s.feature("mood").view() == first  # decayed inside, not in the view
    assert s.feature("mood").scores["love"] < 20
    apply(s, [], deadline)  # named calm: the view shows the scores it was named by
    calm = s.feature("mood").view()
    assert calm["mood"] == "calm" and calm["scores"]["love"] == 15  # LEAVE, rounded
    assert calm["at"] > first["at"] and calm["since"] == calm["at"]
    # The next event shows the decayed scores with its own time.
    apply(s, [comment("lol", 60, 1)], NOW + 60)
    after = s.feature("mood").view()
    assert after["scores"] == {"hype": 0, "love": int(round(100 * 2**-3)), "laugh": 5, "calm": 0}
    assert after["at"] != first["at"]


def test_the_view_survives_the_state_round_trip():
    s = state()
    apply(s, [like(60, 0)], NOW)
    apply(s, [], NOW + 7)
    again = Mood()
    again.load(s.feature("mood").to_dict())
    assert again.view() == s.feature("mood").view()


def test_each_closed_minute_is_one_timeline_side_write():
    s = state()
    apply(s, [like(50, 0)], NOW)
    assert s.side_writes == []
    apply(s, [like(5, 61, 1)], NOW + 61)
    (w,) = s.side_writes
    assert w.path == "mood_timelines/s1"
    assert w.set["points"] == {
        "2026-11-22T20:00Z": {"mood": "love", "hype": 0, "love": 50, "laugh": 0, "calm": 0}
    }


def test_gift_moods_map_a_gift_to_its_mood():
    s = StreamState("s1", creator_id="c1")
    s.load_features((Mood,), {"mood": {"gift_moods": {"rose": "love"}}})
    m = apply(s, [factories.gift(coins=100, streakable=False)], NOW)
    assert m.scores == {"hype": 0.0, "love": 25.0, "laugh": 0.0, "calm": 0.0}


@pytest.mark.parametrize(
    "config, reason",
    [
        ({"half_life_s": 1}, "5..300"),
        ({"half_life_s": "20"}, "integer"),
        ({"gift_moods": {"rose": "angry"}}, "one of"),
        ({"colour": "red"}, "unknown"),
        ({"gift_moods": {str(i): "love" for i in range(101)}}, "at most"),
    ],
)
def test_settings_are_validated_with_a_reason(config, reason):
    with pytest.raises(ValueError, match=reason):
        Mood.check_config(config)
    assert Mood.check_config({"half_life_s": 30, "gift_moods": {"rose": "love"}}) == {
        "half_life_s": 30,
        "gift_moods": {"rose": "love"},
    }


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_through_the_pipeline_each_event_weighs_once(scenario):
    events, steps, lags, ticks = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Mood,))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
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
    # All the scenario's events share one occurred_at: no decay between them.
    expected = state()
    m = apply(expected, events, T0.timestamp())
    got = store.live("s1")["features"]["mood"]["scores"]
    assert got == m.rounded()
