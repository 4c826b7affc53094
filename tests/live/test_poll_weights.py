"""The rule of gift-weighted votes (domain/poll_weights.py), with hypothesis: whatever the
order the rollup applies the settled gifts in, and wherever a close by hand falls among them,
the weights are the coins of the gifts that occurred in the window and named a choice."""

from __future__ import annotations

import pytest
from giftengine.domain.poll_weights import WeightedPoll, parse_gift_choices
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit
CHOICES = ["Red", "Blue", "Green"]
MAPPED = {"rose": 0, "lion": 2}


def poll(closes_at: float | None = 60.0) -> WeightedPoll:
    return WeightedPoll("p1", 100.0, None if closes_at is None else 100.0 + closes_at, 5.0,
                        list(CHOICES), dict(MAPPED))  # fmt: skip


def test_a_gift_weighs_by_its_mapping_or_else_its_comment():
    p = poll()
    assert p.add("rose", 5, 101.0) == 0
    assert p.add("rose", 5, 101.0, text="!vote 2") == 0  # the mapping wins
    assert p.add("tea", 3, 102.0, text="!2") == 1
    assert p.add("tea", 3, 102.0, text="blue") == 1
    assert p.add("tea", 3, 102.0, text="hello") is None
    assert p.add("tea", 3, 102.0) is None
    assert p.add("lion", 7, 99.9) is None  # before the open
    assert p.add("lion", 7, 160.0) is None  # at the close
    assert p.add("lion", 0, 110.0) is None
    assert p.weights == [10, 6, 0] and p.gifts == 4


def test_a_close_by_hand_takes_back_what_occurred_at_or_after_it():
    p = poll(closes_at=None)
    p.add("rose", 10, 110.0)
    p.add("lion", 20, 130.0)  # applied before the close command, occurred after it
    p.add("lion", 1, 129.0)
    p.close(130.0)
    assert p.weights == [10, 0, 1] and p.gifts == 2
    p.close(200.0)  # a second close changes nothing
    assert p.add("rose", 5, 131.0) is None
    assert p.add("rose", 5, 129.5) == 0  # occurred before the close: late, still counts
    assert not p.freeze_if_due(134.9) and p.freeze_if_due(135.0) and not p.freeze_if_due(136)
    assert p.add("rose", 5, 129.5) is None  # frozen: nothing changes the result
    assert p.weights == [15, 0, 1]


def test_a_timed_poll_closed_early_ends_its_window_there():
    p = poll(closes_at=60.0)
    p.add("rose", 10, 110.0)
    p.add("rose", 4, 125.0)
    p.close(120.0)
    p.close(130.0)  # not sooner: nothing changes
    assert p.closes_at == 120.0 and p.weights == [10, 0, 0]
    p.close(105.0)  # sooner again: takes back the gift at 110 too
    assert p.weights == [0, 0, 0] and p.gifts == 0
    assert p.freeze_at() == 110.0


def _nested_array(value) -> bool:
    if isinstance(value, list):
        return any(isinstance(v, list) or _nested_array(v) for v in value)
    if isinstance(value, dict):
        return any(_nested_array(v) for v in value.values())
    return False


def test_the_state_round_trips_and_firestore_can_store_it():
    p = poll(closes_at=None)
    p.add("rose", 10, 110.0)
    assert WeightedPoll.from_dict(p.to_dict()) == p
    # Firestore refuses an array inside an array (it failed the stream's rollup once)
    assert not _nested_array(p.to_dict())


def test_gift_choices_are_checked():
    assert parse_gift_choices({"rose": 1, "lion": 3}, 3) == {"rose": 0, "lion": 2}
    for bad in ({"rose": 0}, {"rose": 4}, {"rose": "1"}):
        with pytest.raises(ValueError):
            parse_gift_choices(bad, 3)


gift = st.tuples(
    st.sampled_from(["rose", "lion", "tea"]),
    st.integers(1, 5000),
    st.floats(90.0, 170.0),  # window [100, 160)
    st.sampled_from(["", "!1", "!vote 2", "green", "hi"]),
)


def expected(gifts, closes_at):
    p = poll(closes_at=None)
    out = [0, 0, 0]
    for gid, coins, at, text in gifts:
        choice = p.choice_for(gid, text)
        if choice is not None and 100.0 <= at < closes_at:
            out[choice] += coins
    return out


@settings(max_examples=300, deadline=None)
@given(gifts=st.lists(gift, max_size=30), data=st.data(), manual=st.booleans())
def test_weights_do_not_depend_on_order_or_where_the_close_falls(gifts, data, manual):
    order = data.draw(st.permutations(gifts))
    p = poll(closes_at=None if manual else 60.0)
    close_after = data.draw(st.integers(0, len(order)))
    for i, (gid, coins, at, text) in enumerate(order):
        if manual and i == close_after:
            p.close(160.0)
        p.add(gid, coins, at, text)
    if manual and close_after == len(order):
        p.close(160.0)
    p = WeightedPoll.from_dict(p.to_dict())  # as the next rollup loads it
    assert p.freeze_if_due(165.0)
    assert p.weights == expected(gifts, 160.0)
    assert p.gifts == sum(
        1 for g in gifts if 100 <= g[2] < 160 and p.choice_for(g[0], g[3]) is not None
    )
