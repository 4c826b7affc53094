"""Property: whatever the delivery does (any interleaving, duplicates, re-sent finals under
new ids, lost intermediates, batch boundaries, idle timeouts in between), the settled totals
are those the semantics define: per streak, the final's count when a final exists, else the
highest count delivered."""

from __future__ import annotations

from collections import defaultdict

import pytest
from giftengine.domain.stream import StreamState
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.factories import gift

pytestmark = pytest.mark.unit


@st.composite
def deliveries(draw, finals=True):
    n_streaks = draw(st.integers(1, 6))
    sent, expected = [], defaultdict(int)
    for i in range(n_streaks):
        user = draw(st.sampled_from(["ana", "bo", "cy"]))
        coins = draw(st.sampled_from([1, 5, 99]))
        streakable = draw(st.booleans())
        final_count = draw(st.integers(1, 8)) if streakable else 1
        group = f"grp{i}"
        msgs = []
        if streakable:
            kept = draw(st.lists(st.integers(1, final_count), max_size=final_count))
            msgs += [gift(user, coins=coins, count=c, end=False, group=group) for c in kept]
        has_final = finals or draw(st.booleans())
        if has_final:
            final = gift(
                user, coins=coins, count=final_count, end=True, group=group, streakable=streakable
            )
            msgs.append(final)
            if streakable and draw(st.booleans()):  # re-sent final under a new event id
                msgs.append(gift(user, coins=coins, count=final_count, end=True, group=group))
            expected[user] += final_count * coins
        else:
            expected[user] += max((m.repeat_count for m in msgs), default=0) * coins
        # Pub/Sub redelivery: same event id again.
        msgs += [m for m in msgs if draw(st.booleans())]
        sent += msgs
    order = draw(st.permutations(sent))
    cuts = draw(st.lists(st.integers(0, len(order)), max_size=4))
    expiries = draw(st.lists(st.booleans(), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    return order, sorted(set(cuts)), expiries, dict(expected)


def settle(order, cuts, expiries, timeout=10.0):
    """Feed batches as the rollup does: dedupe by event id (the event record), then apply."""
    state, seen, now = StreamState(stream_id="s1"), set(), 0.0
    bounds = [0, *cuts, len(order)]
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        for e in order[a:b]:
            if e.event_id not in seen:
                seen.add(e.event_id)
                state.apply(e, now)
            now += 0.01
        if expiries[min(i, len(expiries) - 1)]:
            now += timeout
            state.expire(now, timeout)
        state.finish_batch()
        state.alerts.clear()
        # Each rollup stores the state and the next loads it (settled streaks compacted).
        state = StreamState.from_dicts(
            "s1", state.core_dict(), [v.to_dict() for v in state.users.values()]
        )
    state.expire(now + timeout, timeout)  # stream end / final idle timeout
    return state


@settings(max_examples=300, deadline=None)
@given(deliveries(finals=True))
def test_final_count_wins_whatever_the_delivery(d):
    order, cuts, expiries, expected = d
    state = settle(order, cuts, expiries)
    assert {u: v.coins for u, v in state.users.items() if v.coins} == {
        u: c for u, c in expected.items() if c
    }
    assert state.totals.coins == sum(expected.values())


@settings(max_examples=200, deadline=None)
@given(deliveries(finals=False))
def test_lost_finals_settle_at_highest_count_delivered(d):
    order, cuts, expiries, expected = d
    # A lost final is only equivalent to "highest count" if no idle settlement happened
    # before a later, higher intermediate: the top-up rule makes that hold too.
    state = settle(order, cuts, expiries)
    assert state.totals.coins == sum(expected.values())


@settings(max_examples=100, deadline=None)
@given(deliveries(finals=True), st.randoms(use_true_random=False))
def test_same_totals_for_any_two_orders(d, rnd):
    order, cuts, expiries, _ = d
    other = list(order)
    rnd.shuffle(other)
    assert settle(order, cuts, expiries).totals == settle(other, [], [False]).totals
