"""The pure rules of polls and prediction payouts, with hypothesis over duplicates,
reordering and late arrivals."""

from __future__ import annotations

import pytest
from giftengine.live import domain
from giftengine.live.domain import Poll, PollError, Vote
from hypothesis import given, settings
from hypothesis import strategies as st

CHOICES = ("Red", "Blue team", "Green")


def poll(changeable=False, closes_at=100.0):
    return Poll(
        "p1", "s1", "Which?", CHOICES, opened_at=0.0, closes_at=closes_at, changeable=changeable
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("!vote 2", 1),
        ("!VOTE 3", 2),
        ("!1", 0),
        ("  !2  ", 1),
        ("blue   TEAM", 1),
        ("red", 0),
        ("!vote 4", None),
        ("!0", None),
        ("!vote", None),
        ("!vote 2 please", None),
        ("!", None),
        ("I like red", None),
        ("", None),
        ("!２", None),
        ("!vote 0002", None),
        ("!x", None),
    ],
)
def test_parse_chat_vote(text, expected):
    assert domain.parse_chat_vote(text, CHOICES) == expected


def test_poll_shape_is_checked():
    with pytest.raises(PollError):
        Poll("p", "s", "q", ("only",), 0.0, None)
    with pytest.raises(PollError):
        Poll("p", "s", "q", ("A", " a "), 0.0, None)
    with pytest.raises(PollError):
        Poll("p", "s", "q", tuple(str(i) for i in range(11)), 0.0, None)
    assert not domain.duration_ok(14) and domain.duration_ok(15) and not domain.duration_ok(1801)


def test_voter_key_links_app_users_to_their_tiktok_identity():
    assert domain.voter_key("tiktok", "42") == "tiktok:42"
    assert domain.voter_key("app", "uidA", linked_tiktok_id="42") == "tiktok:42"
    assert domain.voter_key("app", "uidA") == "app:uidA"


def test_window_and_freeze():
    p = poll()
    domain.check_vote(p, Vote(99.9, "e", "v", 0))
    for at in (100.0, 150.0, -1.0):
        with pytest.raises(PollError) as err:
            domain.check_vote(p, Vote(at, "e", "v", 0))
        assert err.value.code == "poll_closed"
    with pytest.raises(PollError) as err:
        domain.check_vote(p, Vote(1.0, "e", "v", 3))
    assert err.value.status == 400
    frozen = Poll("p1", "s1", "q", CHOICES, 0.0, 100.0, frozen=True)
    with pytest.raises(PollError):
        domain.check_vote(frozen, Vote(1.0, "e", "v", 0))


def test_first_vote_counts_unless_changeable():
    a, b = Vote(1.0, "e1", "v", 0), Vote(2.0, "e2", "v", 1)
    assert domain.tally(poll(), [b, a]) == [1, 0, 0]
    assert domain.tally(poll(changeable=True), [b, a]) == [0, 1, 0]
    assert not domain.supersedes(a, a, True) and not domain.supersedes(a, a, False)


votes_st = st.lists(
    st.builds(
        Vote,
        occurred_at=st.floats(-10, 120, allow_nan=False),
        vote_id=st.text("abcdef", min_size=1, max_size=3),
        voter=st.sampled_from(["tiktok:1", "tiktok:2", "app:x", "app:y", "tiktok:3"]),
        choice=st.integers(0, 3),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(votes=votes_st, changeable=st.booleans(), data=st.data())
def test_tally_ignores_order_duplicates_and_late_votes(votes, changeable, data):
    p = poll(changeable)
    shuffled = data.draw(st.permutations(votes + votes[: len(votes) // 2]))
    assert domain.tally(p, shuffled) == domain.tally(p, votes)
    # the same tally by the rules' definition: one vote per viewer, the earliest (or latest)
    # valid one, late and invalid votes never count
    valid = [v for v in votes if 0 <= v.occurred_at < 100 and v.choice < 3]
    expected = [0, 0, 0]
    for voter in {v.voter for v in valid}:
        mine = sorted(v for v in valid if v.voter == voter)
        expected[(mine[-1] if changeable else mine[0]).choice] += 1
    assert domain.tally(p, votes) == expected


@settings(max_examples=150, deadline=None)
@given(votes=votes_st, changeable=st.booleans(), data=st.data())
def test_incremental_recording_equals_the_tally(votes, changeable, data):
    """What the service does (keep each viewer's superseding vote, move its count) gives
    the rules' tally in any arrival order."""
    p = poll(changeable)
    recorded: dict[str, Vote] = {}
    counts = [0, 0, 0]
    for v in data.draw(st.permutations(votes)):
        try:
            domain.check_vote(p, v)
        except PollError:
            continue
        old = recorded.get(v.voter)
        if domain.supersedes(v, old, p.changeable):
            if old is not None:
                counts[old.choice] -= 1
            counts[v.choice] += 1
            recorded[v.voter] = v
    assert counts == domain.tally(p, votes)


stakes_st = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.dictionaries(st.integers(0, 3), st.integers(1, 10**9), min_size=1, max_size=2),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(stakes=stakes_st, winner=st.integers(0, 3))
def test_payouts_sum_to_the_pool_and_are_proportional(stakes, winner):
    pool = sum(sum(s.values()) for s in stakes.values())
    out = domain.payouts(stakes, winner)
    assert sum(out.values()) == pool
    assert all(isinstance(x, int) and x >= 0 for x in out.values())
    side = sum(s.get(winner, 0) for s in stakes.values())
    if side:
        for v, s in stakes.items():
            exact_floor = s.get(winner, 0) * pool // side
            assert exact_floor <= out[v] <= exact_floor + 1
    else:
        assert out == domain.refunds(stakes)


def test_payout_remainder_goes_to_largest_fraction_then_largest_stake_then_id():
    # pool 10 on winner 0: a staked 1, b 1, c 1 -> 10/3 each: 3 each and 1 left over;
    # equal fractions and stakes: the first id ("a") gets it
    stakes = {"c": {0: 1}, "a": {0: 1}, "b": {0: 1}, "loser": {1: 7}}
    assert domain.payouts(stakes, 0) == {"a": 4, "b": 3, "c": 3, "loser": 0}
