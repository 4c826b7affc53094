"""Predictions on the in-memory store: stakes, balance and lock refusals (nothing applied),
payouts that sum to the pool, refunds on cancel, settled exactly once."""

from __future__ import annotations

import contextlib

import pytest
from giftengine.live import predictions as pr
from giftengine.live.domain import PollError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.live.test_service import CREATOR, make


def opened(deps, window=60):
    return pr.open_prediction(deps, CREATOR, "s1", "Win?", ["Yes", "No"], window)["prediction_id"]


def balance(deps, voter):
    return (deps.store.get(pr.points_path("s1", voter)) or {"balance": pr.STARTING_POINTS})[
        "balance"
    ]


def test_bad_stakes_are_refused_and_nothing_is_applied():
    deps = make()
    pid = opened(deps)
    pr.stake(deps, "s1", pid, "tiktok:1", 1, 300, "k1")
    before = dict(deps.store.docs)
    cases = [
        ("nope", 1, 10, "k2", "not_found"),
        (pid, 3, 10, "k3", "invalid_choice"),
        (pid, 2, 10, "k4", "other_outcome"),
        (pid, 1, 701, "k5", "insufficient_points"),
    ]
    for p, outcome, points, key, code in cases:
        with pytest.raises(PollError) as err:
            pr.stake(deps, "s1", p, "tiktok:1", outcome, points, key)
        assert err.value.code == code
    assert deps.store.docs == before
    assert pr.stake(deps, "s1", pid, "tiktok:1", 1, 300, "k1")["replay"]  # same key
    assert balance(deps, "tiktok:1") == 700
    pr.lock(deps, CREATOR, "s1", pid)
    with pytest.raises(PollError) as err:
        pr.stake(deps, "s1", pid, "tiktok:2", 1, 5, "k6")
    assert err.value.code == "prediction_locked"
    deps.clock.t += 61
    pid2 = opened(deps)
    deps.clock.t += 61  # the window passed without a lock: no more stakes either
    with pytest.raises(PollError):
        pr.stake(deps, "s1", pid2, "tiktok:2", 1, 5, "k7")


def test_resolve_pays_the_pool_once_and_cancel_refunds():
    deps = make()
    pid = opened(deps)
    for voter, outcome, points in (("a", 1, 100), ("b", 1, 200), ("c", 2, 301)):
        pr.stake(deps, "s1", pid, voter, outcome, points, f"k-{voter}")
    with pytest.raises(PollError) as err:
        pr.settle(deps, CREATOR, "s1", pid, 1)
    assert err.value.code == "not_locked"
    pr.lock(deps, CREATOR, "s1", pid)
    done = pr.settle(deps, CREATOR, "s1", pid, 1)
    assert done["status"] == "resolved" and done["paid"] == 601
    # pool 601 to a:b = 1:2 -> 200.33 and 400.67 -> 200 and 400, the remainder point to b
    assert [balance(deps, v) for v in "abc"] == [900 + 200, 800 + 401, 699]
    with pytest.raises(PollError) as err:
        pr.settle(deps, CREATOR, "s1", pid, 2)
    assert err.value.code == "already_settled"
    pid2 = opened(deps)
    pr.stake(deps, "s1", pid2, "a", 2, 50, "k-a2")
    pr.settle(deps, CREATOR, "s1", pid2, None)
    assert balance(deps, "a") == 1100


@settings(max_examples=40, deadline=None)
@given(
    stakes=st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 2), st.integers(1, 400)), max_size=15
    ),
    winner=st.integers(1, 2),
    cancel=st.booleans(),
)
def test_points_are_conserved(stakes, winner, cancel):
    deps = make()
    pid = opened(deps)
    viewers = {f"v{i}" for i, _, _ in stakes}
    for n, (i, outcome, points) in enumerate(stakes):
        with contextlib.suppress(PollError):
            pr.stake(deps, "s1", pid, f"v{i}", outcome, points, f"k{n}")
    pr.lock(deps, CREATOR, "s1", pid)
    pr.settle(deps, CREATOR, "s1", pid, None if cancel else winner)
    total = sum(balance(deps, v) for v in viewers)
    assert total == pr.STARTING_POINTS * len(viewers)


def test_state_shows_the_active_and_the_most_recent_prediction_with_exact_pools():
    from giftengine.live import service

    deps = make()
    first = opened(deps)
    pr.stake(deps, "s1", first, "a", 1, 100, "k-a")
    pr.lock(deps, CREATOR, "s1", first)
    pr.settle(deps, CREATOR, "s1", first, 1)
    s = service.state(deps.store, "s1")
    assert s["active_prediction"] is None and s["last_prediction"]["prediction_id"] == first
    second = opened(deps)
    pr.stake(deps, "s1", second, "b", 2, 40, "k-b")
    pr.stake(deps, "s1", second, "c", 2, 2, "k-c")
    s = service.state(deps.store, "s1")
    assert s["active_prediction"]["prediction_id"] == second
    active = s["active_prediction"]
    assert active["pools"] == [0, 42] and active["stakers"] == [0, 2]
    assert s["last_prediction"]["prediction_id"] == first
    assert s["last_prediction"]["status"] == "resolved" and s["last_prediction"]["paid"] == 100
    pr.settle(deps, CREATOR, "s1", second, None)
    s = service.state(deps.store, "s1")
    assert s["active_prediction"] is None and s["last_prediction"]["status"] == "canceled"
