"""XP and loyalty points (domain/xp.py, domain/rewards.py): the formula's rules, and the
XP documents the real pipeline service writes on the in-memory store under duplicates,
re-batching, redeliveries, reordering and crashes (the scenarios of test_pipeline_service)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from giftengine.domain import feature_registry, xp
from giftengine.domain.rewards import FLUSH_MAX, Rewards
from giftengine.domain.stream import StreamState
from giftengine.service import pipeline
from giftengine.service.memory import Crash, MemoryEventStore
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories
from tests.unit.test_pipeline_service import Leading, deliver, drain, make_deps, once

pytestmark = pytest.mark.unit

USERS = ("u0", "u1", "u2")


# ---- the formula ------------------------------------------------------------------------------
def test_level_curve_is_the_documented_one():
    assert [xp.level(x) for x in (0, 99, 100, 399, 400, 8_099, 8_100)] == [1, 1, 2, 2, 3, 9, 10]
    for lvl in range(1, 200):
        assert xp.level(xp.xp_for_level(lvl)) == lvl
        assert xp.level(xp.xp_for_level(lvl) - 1) == lvl - 1 or lvl == 1
    assert xp.progress(450) == {"xp": 450, "level": 3, "level_xp": 400, "next_level_xp": 900}


@given(
    st.lists(
        st.tuples(st.sampled_from(["like", "comment", "share", "join"]), st.integers(1, 50)),
        max_size=40,
    ),
    st.randoms(),
)
def test_within_a_minute_caps_do_not_depend_on_order(acts, rnd):
    def run(order):
        m, total = xp.Minute(), {}
        for kind, count in order:
            for k, v in xp.activity_xp(m, kind, 600.0 + 1, count).items():
                total[k] = total.get(k, 0) + v
        return total

    shuffled = list(acts)
    rnd.shuffle(shuffled)
    got = run(acts)
    assert got == run(shuffled)
    likes = sum(c for k, c in acts if k == "like")
    comments = sum(1 for k, _ in acts if k == "comment")
    shares = sum(1 for k, _ in acts if k == "share")
    assert got.get("likes", 0) == min(xp.LIKE_XP_PER_MINUTE, likes)
    assert got.get("comments", 0) == min(xp.COMMENT_XP_PER_MINUTE, 2 * comments)
    assert got.get("shares", 0) == min(xp.SHARE_XP_PER_MINUTE, 5 * shares)
    assert got.get("presence", 0) == (1 if acts else 0)


def test_a_late_event_is_charged_to_the_current_minute():
    m = xp.Minute()
    assert xp.activity_xp(m, "like", 120.0, 10) == {"presence": 1, "likes": 10}
    # an event of the previous minute arriving now: the current minute's cap is spent
    assert xp.activity_xp(m, "like", 60.0, 10) == {}
    assert xp.activity_xp(m, "like", 180.0, 3) == {"presence": 1, "likes": 3}


# ---- the feature, pure ------------------------------------------------------------------------
def _state() -> StreamState:
    st_ = StreamState("s1")
    st_.load_features((Rewards,), {})
    return st_


def test_banned_viewers_and_the_creator_earn_nothing():
    s = StreamState("s1")
    s.load_features((Rewards,), {"rewards": {"banned": ["bad"]}})
    for ev in (
        factories.ev("like", user="bad", count=5, source="app", creator_id="c1"),
        factories.ev("like", user="c1", count=5, source="app", creator_id="c1"),
        factories.ev("like", user="ok", count=5, source="app", creator_id="c1"),
    ):
        s.apply(ev.model_copy(update={"source": "app"}), 1_000.0)
    s.tick_features(1_000.0)
    paths = sorted(w.path for w in s.side_writes)
    assert paths == ["xp/c1", "xp/ok", "xp/ok/creators/c1"]


def test_write_out_is_bounded_per_rollup_and_finishes_in_later_rollups():
    s = _state()
    n = FLUSH_MAX + 30
    for i in range(n):
        s.apply(factories.ev("like", user=f"v{i:04d}", count=1), 1_000.0)
    s.tick_features(1_000.0)
    first = {w.path for w in s.side_writes}
    assert len([p for p in first if p.count("/") == 1 and p != "xp/s1"]) == FLUSH_MAX
    assert s.feature("rewards").next_deadline() == 0.0  # the round goes on
    s.side_writes.clear()
    s.tick_features(1_001.0)
    second = {w.path for w in s.side_writes if w.path.count("/") == 1 and w.path != "xp/s1"}
    assert len(second) == 30 and not (second & first)
    assert s.feature("rewards").next_deadline() is None
    # nothing pending: entries are forgotten two minutes after their minute
    s.side_writes.clear()
    s.tick_features(factories.T0.timestamp() + 200)
    assert s.feature("rewards").entries == {}


# ---- through the pipeline -----------------------------------------------------------------
def _event(i: int, kind: str, amount: int, secs: int):
    user = USERS[i % 3]
    at = factories.T0 + timedelta(seconds=secs)
    if kind == "gift":
        return factories.gift(user, coins=amount, streakable=False, event_id=f"ev{i}", secs=secs)
    if kind == "like":
        return factories.ev("like", user=user, count=amount, event_id=f"ev{i}", at=at)
    if kind == "comment":
        return factories.ev("comment", user=user, text="nice one", event_id=f"ev{i}", at=at)
    return factories.ev(kind, user=user, event_id=f"ev{i}", at=at)


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 16))
    kinds = ["gift", "like", "comment", "follow", "share", "join"]
    events = [
        _event(i, draw(st.sampled_from(kinds)), draw(st.integers(1, 9)), draw(st.integers(0, 59)))
        for i in range(n)
    ]
    messages: list[list] = []
    pos = 0
    while pos < n:
        size = draw(st.integers(1, 4))
        messages.append(events[pos : pos + size])
        pos += size
    for _ in range(draw(st.integers(0, 3))):  # re-sent with other boundaries
        start = draw(st.integers(0, n - 1))
        messages.append(events[start : draw(st.integers(start + 1, min(n, start + 5)))])
    for _ in range(draw(st.integers(0, 3))):  # redeliveries
        messages.append(draw(st.sampled_from(messages)))
    order = draw(st.permutations(range(len(messages))))
    crashes = [draw(st.sampled_from([None, None, "before", "after"])) for _ in order]
    quiet = [draw(st.booleans()) for _ in order]
    return events, [messages[k] for k in order], crashes, quiet


def expected(events) -> dict[str, dict[str, int]]:
    """The written rule, per viewer, for events within one minute (order-free there)."""
    out = {}
    for u in USERS:
        mine = [e for e in events if e.user.id == u]
        if not mine:
            continue
        by = {
            "gifts": sum(e.gift.coins for e in mine if e.kind == "gift"),
            "likes": min(10, sum(e.count for e in mine if e.kind == "like")),
            "comments": min(10, 2 * sum(1 for e in mine if e.kind == "comment")),
            "follows": 20 if any(e.kind == "follow" for e in mine) else 0,
            "shares": min(5, 5 * sum(1 for e in mine if e.kind == "share")),
            "presence": 1,
        }
        out[f"tiktok:{u}"] = {f"xp_{k}": v for k, v in by.items() if v} | {"xp": sum(by.values())}
    return out


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_xp_documents_count_each_event_once_whatever_the_delivery(scenario):
    events, messages, crashes, quiet = scenario
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feature_registry, "REGISTRY", (Rewards,))
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        mp.setattr(pipeline, "_ban_cache", pipeline._BanCache())
        leading = Leading()
        mp.setattr(pipeline, "_leading", leading)
        store = MemoryEventStore(lag=1)
        deps = make_deps(store)
        pending = list(zip(messages, crashes, quiet, strict=True))
        i = 0
        while pending:
            msg, crash, q = pending.pop(0)
            deps.clock.t += 0.7
            store.crash, leading.next = once(crash), q
            try:
                deliver(deps, msg, f"m{i}")
            except Crash:
                pending.append((msg, None, q))
            i += 1
        store.crash = once(None)
        drain(deps)
    want = expected(events)
    for vid, fields in want.items():
        glob = store.docs[f"xp/{vid}"]
        assert {k: glob.get(k, 0) for k in fields} == fields
        per = store.docs[f"xp/{vid}/creators/s1"]
        assert per["points_earned"] == fields["xp"] and per["xp"] == fields["xp"]
        assert per["days"] == {"2026-11-22": True}
    assert store.docs["xp/s1"]["creator_xp"] == sum(f["xp"] for f in want.values())
    coins = {
        f"tiktok:{u}": sum(e.gift.coins for e in events if e.kind == "gift" and e.user.id == u)
        for u in USERS
    }
    for vid, c in coins.items():
        assert store.docs.get(f"xp/{vid}", {}).get("coins", 0) == c


def test_a_banned_app_user_earns_nothing_in_that_stream():
    store = MemoryEventStore()
    deps = make_deps(store)
    store.bans["s1"] = {"troll": deps.clock.t + 3600}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "_ban_cache", pipeline._BanCache())
        mp.setattr(pipeline, "_config_cache", pipeline._CreatorConfigCache())
        mp.setattr(pipeline, "_leading", Leading())
        app = [
            factories.ev("like", user=u, count=4, event_id=f"l-{u}").model_copy(
                update={"source": "app"}
            )
            for u in ("troll", "fan")
        ]
        deliver(deps, app, "m1")
        drain(deps)
    assert "xp/troll" not in store.docs
    assert store.docs["xp/fan"]["xp"] == 5  # 4 likes + 1 presence


def test_a_comment_the_chat_would_block_earns_nothing():
    assert pipeline._comment_passes("what a great stream")
    assert not pipeline._comment_passes("   ")
    assert not pipeline._comment_passes("buy followers at scam-site.example kill yourself")


def test_an_app_comment_keeps_the_chats_verdict_a_tiktok_comment_is_classified(monkeypatch):
    """An app comment is in the log only because the chat showed it (decision 092): it earns
    comment XP even where the built-in classifier would hold it (a moderator's restore, the
    stream's relaxed level); a TikTok comment the classifier holds earns none."""
    monkeypatch.setattr(Rewards, "comment_ok", staticmethod(lambda text: False))
    s = _state()
    s.apply(factories.ev("comment", user="app-fan", text="call me 9841234567", source="app"), 1e3)
    s.apply(factories.ev("comment", user="tt-fan", text="call me 9841234567"), 1e3)
    entries = s.feature("rewards").entries
    assert "tiktok:tt-fan" not in entries  # nothing earned, not even presence
    comments = entries["app-fan"][5 + xp.SOURCES.index("comments")]
    assert comments == xp.XP_PER_COMMENT
