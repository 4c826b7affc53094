"""The throne's rule (domain/throne.py, docs/engagement.md "Throne"): whatever the order the
settlements are applied in, the holder is the stream's rank 1 (more coins; equal coins: the
smaller user_id), and every claim puts a gifter strictly before the previous holder."""

from __future__ import annotations

import json

import pytest
from giftengine.domain import ranking
from giftengine.domain.stream import StreamState
from giftengine.domain.throne import Throne
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import factories

pytestmark = pytest.mark.unit

USERS = ["a", "b", "c", "d"]


def persisted(s: StreamState) -> StreamState:
    """The state as the next rollup reads it back (JSON, as stored)."""
    core = json.loads(json.dumps(s.core_dict()))
    users = json.loads(json.dumps([v.to_dict() for v in s.users.values()]))
    back = StreamState.from_dicts(s.stream_id, core, users)
    back.load_features((Throne,), None)
    return back


def run(gifts, state: StreamState | None = None) -> tuple[StreamState, list[dict]]:
    s = state or StreamState("s1")
    s.load_features((Throne,), None)
    for g in gifts:
        s.apply(g, 0.0)
    s.finish_batch()
    alerts = [a for a in s.alerts if a["type"] == "throne_claimed"]
    return persisted(s), alerts


def one_off(i: int, user: str, coins: int):
    return factories.gift(user, coins=coins, streakable=False, event_id=f"g{i}", secs=i)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(USERS), st.integers(0, 5)), min_size=1, max_size=25),
    st.randoms(use_true_random=False),
    st.integers(0, 25),
)
def test_the_holder_is_rank_one_whatever_the_order_and_batching(gifts, rnd, cut):
    events = [one_off(i, u, c) for i, (u, c) in enumerate(gifts)]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    first, claims1 = run(shuffled[:cut])  # two rollups: state persisted in between
    state, claims2 = run(shuffled[cut:], first)
    totals: dict[str, int] = {}
    for u, c in gifts:
        totals[u] = totals.get(u, 0) + c
    expected = min(
        ((u, c) for u, c in totals.items() if c > 0),
        key=lambda x: ranking.sort_key(x[1], x[0]),
        default=None,
    )
    view = state.live_view(10).get("features", {}).get("throne")
    if expected is None:
        assert view is None and not claims1 + claims2
        return
    assert view["holder"]["user_id"] == expected[0] and view["holder"]["coins"] == expected[1]
    assert view["holder"]["user_id"] == state.live_view(10)["top_gifters"][0]["user_id"]
    claims = claims1 + claims2
    assert view["claims"] == len(claims) and claims[-1]["user_id"] == expected[0]
    assert claims[0]["previous"] is None
    for c in claims[1:]:  # each claim passes the holder it takes the throne from
        prev = c["previous"]
        assert prev["user_id"] != c["user_id"]
        assert ranking.sort_key(c["coins"], c["user_id"]) < ranking.sort_key(
            prev["coins"], prev["user_id"]
        )


def test_claims_in_order_and_the_tie_rule():
    _, claims = run(
        [
            one_off(1, "b", 5),  # b claims the empty throne
            one_off(2, "c", 5),  # c ties b: b keeps it (b < c)
            one_off(3, "a", 5),  # a ties b: a claims it (a < b)
            one_off(4, "c", 1),  # c passes a: 6 > 5
            one_off(5, "c", 3),  # the holder gifts again: no claim, coins follow
        ]
    )
    assert [(c["user_id"], c["coins"], (c["previous"] or {}).get("user_id")) for c in claims] == [
        ("b", 5, None),
        ("a", 5, "b"),
        ("c", 6, "a"),
    ]


def test_a_streak_claims_at_its_final_only():
    s, claims = run(
        [
            one_off(1, "a", 10),
            factories.gift("b", coins=3, count=2, end=False, event_id="s1", group="x"),
            factories.gift("b", coins=3, count=4, end=False, event_id="s2", group="x"),
        ]
    )
    assert [c["user_id"] for c in claims] == ["a"]  # b's streak is still open: 0 settled
    s, claims = run([factories.gift("b", coins=3, count=4, end=True, event_id="s3", group="x")], s)
    assert [(c["user_id"], c["coins"]) for c in claims] == [("b", 12)]
